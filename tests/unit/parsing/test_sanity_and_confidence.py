"""Sanity checks (shared with the LLM fallback) and what confidence means."""

from __future__ import annotations

import pytest
from signalos.contracts.parse_result import OpenSetup, ParseResult, SignalUpdate
from signalos.signals.parser import parse_message, validate_results


def setup(**fields) -> OpenSetup:
    base = {
        "symbol": "XAUUSD",
        "side": "buy",
        "entry": 2050.0,
        "stop_loss": 2045.0,
        "take_profits": [2055.0, 2060.0],
    }
    return OpenSetup(**{**base, **fields})


def test_a_sane_setup_has_no_problems():
    assert validate_results([setup()]) == []
    assert (
        validate_results(ParseResult(results=[setup(side="sell", stop_loss=2055.0, take_profits=[2045.0])]))
        == []
    )


@pytest.mark.parametrize(
    ("fields", "fragment"),
    [
        ({"stop_loss": 2055.0}, "stop loss 2055 is on the wrong side"),
        ({"take_profits": [2045.0]}, "take profit 2045 is on the wrong side"),
        ({"take_profits": [2060.0, 2055.0]}, "not ordered away from the entry"),
        (
            {"symbol": "EURUSD", "entry": 1.085, "stop_loss": 1.08, "take_profits": [5387.0]},
            "price 5387 is implausible",
        ),
        ({"symbol": "NOTREAL"}, "unknown instrument NOTREAL"),
        ({"entry": None, "entry_zone": (2000.0, 2300.0)}, "unusually wide"),
        ({"entry": None, "stop_loss": 2070.0, "take_profits": [2060.0]}, "not beyond the take profits"),
        ({"stop_loss": None, "sl_pips": -5.0}, "pip distance"),
    ],
)
def test_problems_are_named(fields, fragment):
    problems = validate_results([setup(**fields)])
    assert problems and problems[0].startswith("results[0]: ")
    assert any(fragment in p for p in problems), problems


def test_equal_neighbouring_targets_are_fine():
    assert (
        validate_results([setup(symbol="EURUSD", entry=1.1, stop_loss=1.0, take_profits=[1.12, 1.12, 1.13])])
        == []
    )


def test_updates_are_checked_too():
    assert validate_results([SignalUpdate(action="move_sl", price=2050.0, symbol="XAUUSD")]) == []
    assert validate_results([SignalUpdate(action="move_sl", price=20.5, symbol="XAUUSD")])
    assert validate_results([SignalUpdate(action="modify_tp", price=None)])


def test_annotate_lowers_confidence_and_explains():
    result = ParseResult(results=[setup(stop_loss=2055.0), setup()], confidence=1.0)
    problems = validate_results(result, annotate=True)
    assert len(problems) == 1
    assert result.results[0].confidence <= 0.4 and result.results[0].warnings
    assert result.results[1].confidence == 1.0 and result.results[1].warnings == []
    assert result.confidence == result.results[0].confidence


def test_a_typo_is_flagged_not_traded():
    result = parse_message("EURUSD BUY 1.0850 SL 1.0800 TP 5387")
    item = result.results[0]
    assert item.take_profits == [5387.0]  # reported as written, never "corrected" silently
    assert item.confidence < 0.6 and any("implausible" in w for w in item.warnings)
    assert result.confidence == item.confidence


def test_a_decimal_comma_is_read_when_the_instrument_says_so():
    item = parse_message("EURUSD sell 1,085 sl 1,088 tp 1,080").results[0]
    assert (item.entry, item.stop_loss, item.take_profits) == (1.085, 1.088, [1.08])
    assert item.warnings and item.confidence < 1.0
    gold = parse_message("GOLD sell 2,050 sl 2,060 tp 2,040").results[0]
    assert (gold.entry, gold.stop_loss) == (2050.0, 2060.0) and not gold.warnings


@pytest.mark.parametrize(
    ("text", "confidence"),
    [
        ("XAUUSD BUY NOW 1950-1948 SL 1940 TP1 1955 TP2 1960", 1.0),
        ("XAUUSD BUY 2050 SL 2045", 0.95),  # no TP
        ("XAUUSD BUY 2050 TP 2060", 0.9),  # no SL
        ("Buy Gold Now", 0.85),  # market, nothing else
        ("Sell EURUSD", 0.8),  # not even an order type
        ("Direction: SELL\nEntry: 1.0850\nSL: 1.0880\nTP: 1.0800", None),  # no instrument at all
    ],
)
def test_confidence_semantics(text, confidence):
    result = parse_message(text)
    if confidence is None:
        assert result.results == [] and result.confidence == 0.5
    else:
        assert result.results[0].confidence == pytest.approx(confidence)
        assert result.confidence == pytest.approx(confidence)


def test_symbol_from_the_line_above_costs_a_little():
    result = parse_message("Pair: GBPUSD\nAction: SELL\nEntry: 1.2650\nSL: 1.2690\nTP: 1.2600")
    assert result.results[0].symbol == "GBPUSD" and result.results[0].confidence == pytest.approx(0.95)


def test_plain_chatter_is_certain_and_near_misses_say_why():
    assert parse_message("Good morning traders").confidence == 1.0
    result = parse_message("Possible buy on EURUSD later")
    assert result.results == [] and result.confidence == 0.9 and result.warnings
