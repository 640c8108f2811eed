"""Posts that must open nothing: a false open is a real trade nobody asked for."""

from __future__ import annotations

import pytest
from signalos.signals.parser import parse_message

NOT_ORDERS = [
    # results and recaps
    "TP2 hit on GBPJPY +80 pips 🎉",
    "EURUSD buy signal from yesterday hit TP3 ✅ +120 pips",
    "GOLD BUY 2050 hit TP1 ✅",
    "XAUUSD sell from 2360 running +80 pips",
    "Last week's EURUSD buy made 120 pips",
    "Our GBPJPY sell is running nicely",
    "Gold buy triggered at 2050",
    "EURUSD buy limit activated ✅",
    "SELL EURUSD 1.0850 → TP1 HIT ✅ +30 pips",
    "We closed XAUUSD buy at +45 pips",
    "Weekly results: 12 wins, 3 losses, +650 pips",
    "Monday: USDJPY SELL +55, EURUSD BUY +30, GOLD BUY -20",
    "TP1 ✅ TP2 ✅ TP3 ✅ +150 pips",
    "Target reached on EURUSD ✅",
    "GBPUSD SL hit -30 pips ❌",
    "What a sell on GOLD 🔥🔥 +150 pips",
    "Great sell on gold today, 200 pips from our entry",
    "Another winning trade on EURUSD buy 🎉",
    "Gold sell setup active",
    "Gold buy entry at 4320 missed, wait for next",
    "Sold half of my gold long",
    "Told you to buy gold at 4300, now 4350",
    "Sell gold was the right call",
    "Buying pressure increasing on gold",
    "Long gold, short silver — my view for the week",
    "Nice buy zone on gold at 4300 if it dips",
    # hedged, conditional, negated, questions, heads-up
    "Gold is looking bullish above 2050, we may buy the dip later",
    "Don't sell EURUSD yet, wait for confirmation",
    "Do NOT buy gold here",
    "If EURUSD breaks 1.0900 we buy",
    "When price reaches 2060, sell gold",
    "EURUSD long setup forming on H4, waiting for entry",
    "Possible sell on GBPJPY around 191.00 later today",
    "Buy signal on gold coming in 5 minutes, get ready!",
    "GOLD SELL SIGNAL ⚠️\nWait for my entry",
    "Buy EURUSD?",
    "Should I buy gold now?",
    "Gold sell or buy? What do you think",
    "I'm still holding my gold buy from 2040",
    "As long as gold holds 2000, buy dips",
    "Buy the rumour, sell the news 😄",
    # commentary, education, adverts
    "Market update: USDJPY remains bearish while below 152.00",
    "Gold analysis: resistance 2080, support 2040. Bias bullish.",
    "XAUUSD long term outlook is bullish",
    "Price is at 2050, short term bullish",
    "Education: a buy limit on EURUSD sits below price. Not a signal.",
    "Join our VIP channel for daily gold buy/sell signals! Link in bio",
    "Get 50% off VIP! Gold signals daily. Buy now: t.me/xyz",
    "Free signal tomorrow at 9am for gold buyers",
    "Happy Friday traders! 🎉 Great week with 8 wins",
    "Who's ready for NFP? 🚀",
    "",
    "   \n  ",
    "🔥🔥🔥",
]


@pytest.mark.parametrize("text", NOT_ORDERS)
def test_nothing_actionable(text):
    result = parse_message(text)
    assert result.results == [], result.results
    assert result.confidence >= 0.9  # the parser is sure, nothing goes to the slow path


def test_results_words_kill_only_their_own_setup():
    result = parse_message("USDCHF buy at 0.9050 SL 0.9010 TP 0.9100, we have a sell running on EURUSD")
    assert [(r.symbol, r.side) for r in result.results] == [("USDCHF", "buy")]


def test_a_negated_direction_then_a_real_one():
    result = parse_message("Don't buy EURUSD. Sell EURUSD now")
    assert [(r.symbol, r.side) for r in result.results] == [("EURUSD", "sell")]


def test_levels_without_an_instrument_ask_for_a_second_opinion():
    result = parse_message("BUY NOW 2050\nSL 2045\nTP 2060")
    assert result.results == []
    assert result.confidence < 0.6 and result.warnings


def test_odd_input_never_raises():
    for text in (None, 12, "\x00\x01", "🎯" * 50, "1" * 5000, "SL SL SL", "TP", "((((", "$$$", "1.2.3.4"):
        result = parse_message(text)  # type: ignore[arg-type]
        assert result.parser == "rules"
    wall = parse_message("XAUUSD BUY 2050 SL 2045 TP 2060\n" * 2000)
    assert len(wall.results) == 20 and wall.confidence <= 0.5
    assert wall.warnings[:2] == [
        "post cut at 10000 characters",
        "more than 20 results: the rest were dropped",
    ]
