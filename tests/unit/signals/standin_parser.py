"""TEMPORARY stand-in for `signalos.signals.parser.parse_message` (PARSER helper) until it is
committed: the contract's answers for the few messages the signals tests send, so the signals
service, worker and API can be tested end to end. Removed when the real parser lands.
"""

from __future__ import annotations

from signalos.contracts.parse_result import OpenSetup, ParseResult, SignalUpdate

GOLD = "XAUUSD BUY NOW 1950-1948 SL 1940 TP1 1955 TP2 1960"
EURUSD = "BUY EURUSD @ 1.1000 SL: 1.0950 TP: 1.1050"
SELL_GBPJPY = "GBPJPY SELL LIMIT 191.250 SL 192.100 TP 190.500"
BREAKEVEN = "Move SL to breakeven on XAUUSD"
CHATTER = "Good morning traders, big week ahead!"
UNSURE = "gold looks heavy here, thinking sell around 1950, stops above 1958, 1942 maybe"

_KNOWN = {
    GOLD: [
        OpenSetup(
            symbol="XAUUSD",
            side="buy",
            entry_zone=(1948.0, 1950.0),
            stop_loss=1940.0,
            take_profits=[1955.0, 1960.0],
            confidence=0.95,
        )
    ],
    EURUSD: [
        OpenSetup(
            symbol="EURUSD",
            side="buy",
            order_type="limit",
            entry=1.1,
            stop_loss=1.095,
            take_profits=[1.105],
            confidence=0.95,
        )
    ],
    SELL_GBPJPY: [
        OpenSetup(
            symbol="GBPJPY",
            side="sell",
            order_type="limit",
            entry=191.25,
            stop_loss=192.1,
            take_profits=[190.5],
            confidence=0.95,
        )
    ],
    BREAKEVEN: [SignalUpdate(action="breakeven", symbol="XAUUSD", confidence=0.9)],
    UNSURE: [
        OpenSetup(
            symbol="XAUUSD", side="sell", entry=1950.0, confidence=0.35, warnings=["no explicit SL/TP labels"]
        )
    ],
}


def parse_message(text: str, rules=None) -> ParseResult:
    key = " ".join(text.split())
    for known, results in _KNOWN.items():
        if " ".join(known.split()) == key:
            items = [r.model_copy(deep=True) for r in results]
            return ParseResult(results=items, confidence=min(r.confidence for r in items))
    return ParseResult(results=[], confidence=1.0)


def install(monkeypatch) -> None:
    """Make the signals service use this stand-in (when the real parser is not there yet)."""
    import time

    from signalos.signals import service

    try:
        from signalos.signals.parser import parse_message as _real  # noqa: F401
    except ImportError:

        def rules_parse(text, rules):
            started = time.perf_counter()
            return parse_message(text, rules), round((time.perf_counter() - started) * 1000.0, 3)

        monkeypatch.setattr(service, "rules_parse", rules_parse)
