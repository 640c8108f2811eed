"""Management of earlier signals, phrased the ways channels phrase it."""

from __future__ import annotations

import pytest
from signalos.contracts.parse_result import SignalUpdate
from signalos.signals.parser import parse_message


def updates(text: str) -> list[tuple]:
    result = parse_message(text)
    assert all(isinstance(r, SignalUpdate) for r in result.results), result.results
    return [(r.action, r.price, r.fraction) for r in result.results]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Move SL to 1.0850 on EURUSD", [("move_sl", 1.085, None)]),
        ("New SL: 2045", [("move_sl", 2045.0, None)]),
        ("Trail stop to 2060", [("move_sl", 2060.0, None)]),
        ("Raise your stop-loss to 1.2705", [("move_sl", 1.2705, None)]),
        ("Move the SL from 2040 to 2048", [("move_sl", 2048.0, None)]),
        ("SL now 151.20", [("move_sl", 151.2, None)]),
        ("Set stop loss to entry", [("breakeven", None, None)]),
        ("SL to BE", [("breakeven", None, None)]),
        ("Breakeven on all XAUUSD trades", [("breakeven", None, None)]),
        ("SL moved to entry on gold", [("breakeven", None, None)]),
        ("Risk-free now, SL at entry", [("breakeven", None, None)]),
        ("Trade is now risk free guys", [("breakeven", None, None)]),
        ("Change TP2 to 1.0950", [("modify_tp", 1.095, None)]),
        ("Modify TP to 1.1000", [("modify_tp", 1.1, None)]),
        ("Extend the target on US30 to 40,500", [("modify_tp", 40500.0, None)]),
        ("Close 50% and move stop to breakeven", [("close_partial", None, 0.5), ("breakeven", None, None)]),
        ("Take 30% profit now", [("close_partial", None, 0.3)]),
        ("Secure profits, close 1/3 of your position", [("close_partial", None, 1 / 3)]),
        ("Book partial profits at TP1", [("close_partial", None, None)]),
        ("Close half at 2060", [("close_partial", None, 0.5)]),
        ("Scale out 75% here", [("close_partial", None, 0.75)]),
        ("Take some profits off the table", [("close_partial", None, None)]),
        ("Close all positions", [("close_all", None, None)]),
        ("Close GBPJPY now", [("close_all", None, None)]),
        ("Exit all trades now", [("close_all", None, None)]),
        ("Closing my EURUSD long at 1.0900", [("close_all", None, None)]),
        ("We're out of this one, closed manually", [("close_all", None, None)]),
        ("Cancel the buy limit on GBPJPY", [("cancel_pending", None, None)]),
        ("Delete pending orders", [("cancel_pending", None, None)]),
        ("Signal cancelled", [("cancel_pending", None, None)]),
        ("Setup not valid anymore, remove the sell stop", [("cancel_pending", None, None)]),
        ("TP 2065", [("modify_tp", 2065.0, None)]),
        ("SL 1.0835", [("move_sl", 1.0835, None)]),
        ("Breakeven EURUSD", [("breakeven", None, None)]),
        ("Risk free ✅", [("breakeven", None, None)]),
        ("Close at market", [("close_all", None, None)]),
        ("BE now", [("breakeven", None, None)]),
        ("Modify SL 1.0820", [("move_sl", 1.082, None)]),
        ("Close partial 50% EURUSD", [("close_partial", None, 0.5)]),
        ("tp1 done ✅ move sl to entry", [("breakeven", None, None)]),
        ("setup invalid, we cancel the order", [("cancel_pending", None, None)]),
    ],
)
def test_instructions(text, expected):
    assert updates(text) == expected


def test_update_names_the_instrument_when_the_post_does():
    result = parse_message("Move SL to BE on XAUUSD")
    assert result.results[0].symbol == "XAUUSD"
    assert parse_message("Close half now").results[0].symbol is None


@pytest.mark.parametrize(
    "text",
    [
        "Don't forget to move SL to BE when TP1 hits",  # a plan for later, not an instruction now
        "Move SL to BE after TP1",
        "If 1H closes above 2070 we will close the trade",
        "Never close a trade in loss",
        "Closing price 2050",
        "We're out of the office tomorrow",
        "Remove your SL",  # an SL change without a price, not a cancel
        "Delete the message above",
        "SL was hit at 4720",
        "Keep SL safe and let it run",
        "Hold the trade, don't close yet",
        "Price is close to 2050",
        "We might close early today",
        "Breakeven is key to managing risk",
        "Risk-free trial for 7 days!",
        "Move SL to +20 pips",  # a distance, not a price: nothing the contract can carry
    ],
)
def test_not_instructions(text):
    assert parse_message(text).results == []


def test_the_same_instruction_twice_is_one():
    assert updates("CLOSE XAUUSD\nTake profit now") == [("close_all", None, None)]
    assert updates("Set breakeven for zero risk") == [("breakeven", None, None)]


def test_a_management_sentence_never_opens_a_trade():
    assert updates("Close EURUSD sell") == [("close_all", None, None)]
    assert updates("Close EURUSD buy at 1.0900") == [("close_all", None, None)]
    assert updates("Cancel the buy limit on GBPJPY at 191.20") == [("cancel_pending", None, None)]
    assert updates("XAUUSD BUY — move SL to 2055") == [("move_sl", 2055.0, None)]
    assert updates("EURUSD buy, new SL 1.0820") == [("move_sl", 1.082, None)]
    assert updates("GOLD SELL: close half now") == [("close_partial", None, 0.5)]
    assert updates("EURJPY buy limit is no longer valid - please delete it") == [
        ("cancel_pending", None, None)
    ]


def test_updates_and_opens_in_order():
    result = parse_message("Close EURUSD buy.\nSell GBPUSD now @ 1.2650 SL 1.2690 TP 1.2600")
    assert [r.kind for r in result.results] == ["update", "open"]
    assert result.results[0].action == "close_all" and result.results[1].symbol == "GBPUSD"
