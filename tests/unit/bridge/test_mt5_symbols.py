"""Canonical -> broker symbol names: subscription mapping first, then suffixes, then a search."""

from __future__ import annotations

import pytest
from bridge_fixtures import open_order

from bridge_agent.brokers.base import SymbolNotFound
from bridge_agent.brokers.mt5 import Mt5Broker


@pytest.fixture
def bare_broker(mt5):
    """No configured suffix or mapping: only what the command says and the search."""
    b = Mt5Broker(mt5, sleep=lambda s: None)
    b.connect()
    return b


def test_suffix_from_the_command_maps_xauusd_to_xauusdm(bare_broker):
    assert bare_broker.resolve_symbol("XAUUSD", None, "m") == "XAUUSDm"


def test_configured_suffix_is_used(broker):
    assert broker.resolve_symbol("XAUUSD") == "XAUUSDm"


def test_search_finds_a_suffixed_symbol_without_any_hint(bare_broker):
    assert bare_broker.resolve_symbol("XAUUSD") == "XAUUSDm"


def test_subscription_mapping_comes_first(bare_broker, terminal):
    terminal.add_gold("GOLD", bid=1951.00)
    assert bare_broker.resolve_symbol("XAUUSD", "GOLD", "m") == "GOLD"


def test_config_mapping_before_suffix(mt5, terminal):
    terminal.add_gold("XAUUSD.pro", bid=1950.10)
    b = Mt5Broker(mt5, symbol_map={"XAUUSD": "XAUUSD.pro"}, suffix="m")
    b.connect()
    assert b.resolve_symbol("XAUUSD") == "XAUUSD.pro"


def test_alias_found_by_search(mt5, terminal):
    terminal.symbols.pop("XAUUSDm")
    terminal.add_gold("GOLD#", bid=1950.0)
    b = Mt5Broker(mt5)
    b.connect()
    assert b.resolve_symbol("XAUUSD") == "GOLD#"


def test_search_prefers_a_tradable_symbol(mt5, terminal):
    terminal.symbols.pop("XAUUSDm")
    terminal.add_gold("XAUUSD.a", bid=1950.0, trade_mode=0)
    terminal.add_gold("XAUUSD.pro", bid=1950.0)
    b = Mt5Broker(mt5)
    b.connect()
    assert b.resolve_symbol("XAUUSD") == "XAUUSD.pro"


def test_unknown_symbol_names_what_was_tried(bare_broker):
    with pytest.raises(SymbolNotFound) as err:
        bare_broker.resolve_symbol("NZDCHF", None, "m")
    assert "NZDCHFm" in str(err.value) and "symbol_map" in str(err.value)


def test_unknown_symbol_order_is_rejected_with_the_reason(executor, terminal):
    (report,) = executor.handle(open_order(symbol="NZDCHF"))
    assert report.status == "rejected"
    assert "NZDCHF" in report.reason
    assert terminal.requests == []


def test_symbol_is_selected_into_market_watch_before_trading(executor, terminal):
    assert terminal.symbols["XAUUSDm"].select is False
    executor.handle(open_order())
    assert terminal.symbols["XAUUSDm"].select is True
    first_select = terminal.calls.index("symbol_select")
    assert first_select < terminal.calls.index("order_send")


def test_symbol_spec_carries_the_broker_facts(broker, terminal):
    terminal.symbols["XAUUSDm"].trade_stops_level = 30
    spec = broker.symbol_spec("XAUUSD", "XAUUSDm")
    assert (spec.symbol, spec.broker_symbol, spec.digits, spec.point) == ("XAUUSD", "XAUUSDm", 2, 0.01)
    assert (spec.trade_contract_size, spec.trade_tick_value, spec.trade_tick_size) == (100.0, 1.0, 0.01)
    assert (spec.volume_min, spec.volume_step, spec.trade_stops_level, spec.filling_mode) == (
        0.01,
        0.01,
        30,
        1,
    )
    assert (spec.bid, spec.ask, spec.spread) == (1950.0, 1950.2, 20)


def test_disabled_symbol_is_rejected_before_sending(executor, terminal):
    terminal.symbols["XAUUSDm"].trade_mode = 0
    (report,) = executor.handle(open_order())
    assert report.status == "rejected"
    assert report.retcode == 10017
    assert terminal.requests == []
