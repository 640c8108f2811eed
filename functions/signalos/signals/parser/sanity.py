"""Sanity checks on parse results, the same for the rules parser and the LLM fallback.

Each problem is a sentence and a confidence cap. A cap below the slow-path threshold (0.6)
sends a rules result to the LLM, and the LLM's own answer is refused when it has any problem.

- the instrument must be in the dictionary;
- every price must be plausible for the instrument (5387 for EURUSD is a typo of 1.5387);
- a zone must not be wider than a few percent of its price;
- for a buy the SL is below the entry and the TPs above it (a sell mirrors this); without an
  entry, the SL must still be beyond every TP from the right side;
- TPs run away from the entry in the order given (equal neighbours are fine: some channels
  repeat a level);
- pip distances are positive and not absurd.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import pairwise

from signalos.contracts.parse_result import OpenSetup, ParseResult, SignalUpdate
from signalos.instruments import Instrument, lookup_instrument, name_index

CAP_UNKNOWN_INSTRUMENT = 0.4
CAP_IMPLAUSIBLE = 0.3
CAP_WRONG_SIDE = 0.4
CAP_ORDER = 0.5
CAP_WIDE_ZONE = 0.5
CAP_PIPS = 0.5
MAX_PIPS = 5000.0
_ZONE_WIDTH = {"crypto": 0.15}
_DEFAULT_ZONE_WIDTH = 0.05


def _instrument(symbol: str) -> Instrument | None:
    inst = name_index().get(symbol)  # canonical symbols (what parsers return) hit directly
    return inst if inst is not None and inst.symbol == symbol else lookup_instrument(symbol)


def _fmt(x: float) -> str:
    return f"{x:.10g}"


def open_problems(item: OpenSetup) -> list[tuple[str, float]]:
    problems: list[tuple[str, float]] = []
    inst = _instrument(item.symbol)
    if inst is None:
        problems.append((f"unknown instrument {item.symbol}", CAP_UNKNOWN_INSTRUMENT))
    buy = item.side == "buy"
    zone = item.entry_zone
    prices = [p for p in (item.entry, item.stop_loss, *(zone or ()), *item.take_profits) if p is not None]
    if inst is not None:
        lo, hi = inst.price_range
        reported: set[float] = set()
        for p in prices:
            if not lo <= p <= hi and p not in reported:
                reported.add(p)
                problems.append(
                    (f"price {_fmt(p)} is implausible for {inst.symbol} (expected {_fmt(lo)}..{_fmt(hi)})",
                     CAP_IMPLAUSIBLE))
    if zone is not None:
        width = _ZONE_WIDTH.get(inst.asset_class, _DEFAULT_ZONE_WIDTH) if inst else _DEFAULT_ZONE_WIDTH
        mid = (zone[0] + zone[1]) / 2
        if mid > 0 and (zone[1] - zone[0]) / mid > width:
            problems.append((f"entry zone {_fmt(zone[0])}-{_fmt(zone[1])} is unusually wide", CAP_WIDE_ZONE))
    # Where a fill is expected: the entry, or the zone edge a trade could still be opened at.
    if item.entry is not None:
        low = high = item.entry
    elif zone is not None:
        low, high = zone
    else:
        low = high = None
    sl, tps = item.stop_loss, item.take_profits
    if low is not None and high is not None:
        if sl is not None and (sl >= high if buy else sl <= low):
            problems.append((f"stop loss {_fmt(sl)} is on the wrong side of the entry for a {item.side}",
                             CAP_WRONG_SIDE))
        wrong = [tp for tp in tps if (tp <= low if buy else tp >= high)]
        if wrong:
            problems.append((f"take profit {_fmt(wrong[0])} is on the wrong side of the entry "
                             f"for a {item.side}", CAP_WRONG_SIDE))
    elif sl is not None and tps and (sl >= min(tps) if buy else sl <= max(tps)):
        problems.append((f"stop loss {_fmt(sl)} is not beyond the take profits for a {item.side}",
                         CAP_WRONG_SIDE))
    if any((b < a if buy else b > a) for a, b in pairwise(tps)):
        problems.append(("take profits are not ordered away from the entry", CAP_ORDER))
    pips = [p for p in (item.sl_pips, *item.tp_pips) if p is not None]
    if any(not (0 < p <= MAX_PIPS) for p in pips):
        problems.append(("a pip distance is not between 0 and 5000", CAP_PIPS))
    if any(b < a for a, b in pairwise(item.tp_pips)):
        problems.append(("take-profit distances are not increasing", CAP_ORDER))
    return problems


def update_problems(item: SignalUpdate) -> list[tuple[str, float]]:
    problems: list[tuple[str, float]] = []
    if item.symbol is not None:
        inst = _instrument(item.symbol)
        if inst is None:
            problems.append((f"unknown instrument {item.symbol}", CAP_UNKNOWN_INSTRUMENT))
        elif item.price is not None and not inst.is_plausible(item.price):
            lo, hi = inst.price_range
            problems.append((f"price {_fmt(item.price)} is implausible for {inst.symbol} "
                             f"(expected {_fmt(lo)}..{_fmt(hi)})", CAP_IMPLAUSIBLE))
    if item.action in ("move_sl", "modify_tp") and item.price is None:
        problems.append((f"{item.action} without a price", CAP_ORDER))
    if item.price is not None and item.price <= 0:
        problems.append(("price must be positive", CAP_IMPLAUSIBLE))
    if item.fraction is not None and not (0 < item.fraction <= 1):
        problems.append(("fraction must be in (0, 1]", CAP_ORDER))
    return problems


def validate_results(
    results: ParseResult | Sequence[OpenSetup | SignalUpdate] | Iterable[OpenSetup | SignalUpdate],
    *,
    annotate: bool = False,
) -> list[str]:
    """Problems of each result as "results[i]: ..." (empty = all sane).

    With annotate=True each problem is also added to the item's warnings and caps its
    confidence (and the ParseResult's, when one is given), so the caller keeps the result
    but nobody trades it blindly."""
    items = results.results if isinstance(results, ParseResult) else list(results)
    out: list[str] = []
    for i, item in enumerate(items):
        problems = open_problems(item) if isinstance(item, OpenSetup) else update_problems(item)
        for message, cap in problems:
            out.append(f"results[{i}]: {message}")
            if annotate:
                item.warnings.append(message)
                item.confidence = min(item.confidence, cap)
    if annotate and isinstance(results, ParseResult) and items:
        results.confidence = min(min(item.confidence for item in items), results.confidence)
    return out
