"""Per-provider rules on top of the generic parser, and the guard on user-supplied regexes."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from signalos.signals.parser import parse_message
from signalos.signals.parser.provider_rules import (
    MATCH_LINE_CHARS,
    MATCH_MAX_LINES,
    ProviderRules,
    UnsafePattern,
    check_pattern,
)


def test_aliases_resolve_to_canonical_symbols():
    rules = ProviderRules(symbol_aliases={"Yellow Metal": "gold", "NAS": "US100", "GBPTRY": "GBP/TRY"})
    assert rules.symbol_aliases == {"YELLOWMETAL": "XAUUSD", "NAS": "NAS100", "GBPTRY": "GBPTRY"}
    item = parse_message("YELLOW METAL BUY 2050 SL 2045 TP 2060", rules).results[0]
    assert (item.symbol, item.entry) == ("XAUUSD", 2050.0)
    # without the rules the same words name nothing
    assert parse_message("YELLOW METAL BUY 2050 SL 2045 TP 2060").results == []


def test_provider_words_for_buy_and_sell():
    rules = ProviderRules(buy_keywords=["Beli"], sell_keywords=["jual"])  # Indonesian channels
    item = parse_message("EURUSD beli 1.0850 SL 1.0820 TP 1.0900", rules).results[0]
    assert (item.symbol, item.side) == ("EURUSD", "buy")
    assert parse_message("Jual XAUUSD sekarang", rules).results[0].side == "sell"
    assert parse_message("EURUSD beli 1.0850").results == []


def test_default_distances_fill_pips_not_prices():
    rules = ProviderRules(default_sl_pips=30, default_tp_pips=[20, 40])
    item = parse_message("GBPUSD BUY NOW", rules).results[0]
    assert (item.stop_loss, item.sl_pips, item.take_profits, item.tp_pips) == (None, 30.0, [], [20.0, 40.0])
    assert "SL distance from the provider's default" in item.warnings
    given = parse_message("GBPUSD BUY NOW SL 1.2600 TP 1.2700", rules).results[0]
    assert (given.sl_pips, given.tp_pips) == (None, [])
    said_open = parse_message("GBPUSD BUY NOW SL open", rules).results[0]
    assert said_open.sl_pips is None  # "SL open" is a decision, not an omission


def test_ignore_patterns_drop_matching_posts():
    rules = ProviderRules(ignore_patterns=[r"^daily recap", r"vip\s+\w+"])
    assert parse_message("Daily recap: XAUUSD BUY 2050 SL 2045 TP 2060", rules).results == []
    assert parse_message("XAUUSD BUY 2050 SL 2045 TP 2060", rules).results != []
    assert parse_message("XAUUSD BUY 2050\nJoin VIP members now", rules).warnings == [
        "ignored by a provider rule"
    ]


def test_prefer_order_type_applies_to_a_single_unqualified_price():
    rules = ProviderRules(prefer_order_type="limit")
    assert parse_message("EURUSD BUY 1.0850 SL 1.0820", rules).results[0].order_type == "limit"
    assert parse_message("EURUSD BUY NOW 1.0850 SL 1.0820", rules).results[0].order_type == "market"
    assert parse_message("EURUSD BUY STOP 1.0850 SL 1.0820", rules).results[0].order_type == "stop"


def test_default_symbol_for_single_instrument_channels():
    rules = ProviderRules(default_symbol="gold")
    item = parse_message("BUY NOW 2050\nSL 2045\nTP 2060", rules).results[0]
    assert (item.symbol, item.entry) == ("XAUUSD", 2050.0)
    assert item.confidence == pytest.approx(0.9) and "instrument from the provider's default" in item.warnings
    assert parse_message("EURUSD SELL NOW", rules).results[0].symbol == "EURUSD"


@pytest.mark.parametrize(
    "pattern",
    [r"(a+)+$", r"(a|aa)*b", r"(\w+)\1", r"(?:a*)*", r".*.*=.*", r"\w+\s*\w+\s*\w+x", "x" * 201, "(", ""],
)
def test_unsafe_or_invalid_patterns_are_refused(pattern):
    with pytest.raises(UnsafePattern):
        check_pattern(pattern)
    with pytest.raises(ValidationError):
        ProviderRules(ignore_patterns=[pattern])


@pytest.mark.parametrize(
    "pattern", [r"^promo.*", r"vip\s+\w+", r"daily (recap|summary)", r"\d+\s*pips\s+banked", r"[a-z]+\d+"]
)
def test_ordinary_patterns_are_accepted(pattern):
    assert check_pattern(pattern).pattern == pattern
    assert ProviderRules(ignore_patterns=[pattern]).ignore_patterns == [pattern]


def test_patterns_see_a_bounded_part_of_the_post():
    rules = ProviderRules(ignore_patterns=["promo"])
    assert rules.ignores("line\n" * (MATCH_MAX_LINES - 1) + "PROMO")
    assert not rules.ignores("line\n" * MATCH_MAX_LINES + "PROMO")  # past the lines looked at
    assert rules.ignores("x" * (MATCH_LINE_CHARS - 5) + "promo")
    assert not rules.ignores("x" * MATCH_LINE_CHARS + "promo")  # past the characters of a line


def test_rules_are_bounded_user_input():
    with pytest.raises(ValidationError):
        ProviderRules(ignore_patterns=["a"] * 11)
    with pytest.raises(ValidationError):
        ProviderRules(symbol_aliases={"X": "not a symbol!"})
    with pytest.raises(ValidationError):
        ProviderRules(buy_keywords=["1234"])
    with pytest.raises(ValidationError):
        ProviderRules(sell_keywords=["sell now"])  # one word: the lexer reads words
    with pytest.raises(ValidationError):
        ProviderRules(default_sl_pips=0)
    with pytest.raises(ValidationError):
        ProviderRules(prefer_order_type="stop")
    with pytest.raises(ValidationError):
        ProviderRules(unknown_field=True)


def test_rules_round_trip_as_json():
    rules = ProviderRules(
        symbol_aliases={"yellow": "XAUUSD"},
        sell_keywords=["vende"],
        default_sl_pips=25,
        ignore_patterns=["^promo"],
        prefer_order_type="market",
    )
    again = ProviderRules.model_validate_json(rules.model_dump_json())
    assert again == rules and again.ignores("PROMO today") and again.alias("YELLOW") == "XAUUSD"
