"""Market vs pending, the planned price, expiry, symbol mapping and trade management."""

from __future__ import annotations

from datetime import timedelta

from risk_cases import NOW, gold_buy, plan, xauusd
from signalos.contracts.parse_result import OpenSetup
from signalos.trading.risk import SubscriptionRules


def _one(d):
    assert d.accepted, d.reason
    return d.legs[0]


def test_market_inside_zone_plans_at_the_market():
    leg = _one(plan(gold_buy(), spec=xauusd(), quote=(1948.7, 1949.0)))
    assert (leg.order_type, leg.price) == ("market", 1949.0)


def test_market_outside_zone_plans_from_the_nearest_edge():
    assert _one(plan(gold_buy(), spec=xauusd(), quote=(1950.7, 1951.0))).price == 1950.0
    assert _one(plan(gold_buy(), spec=xauusd(), quote=(1946.7, 1947.0))).price == 1948.0


def test_buy_limit_waits_above_and_takes_market_once_reached():
    setup = gold_buy(order_type="limit")
    leg = _one(plan(setup, spec=xauusd(), quote=(1952.7, 1953.0)))
    assert (leg.order_type, leg.price) == ("limit", 1950.0)  # buy limit at the top of the zone
    leg = _one(plan(setup, spec=xauusd(), quote=(1948.7, 1949.0)))
    assert leg.order_type == "market"


def test_sell_stop_and_sell_limit():
    sell_stop = OpenSetup(
        symbol="XAUUSD", side="sell", order_type="stop", entry=1940.0, stop_loss=1950.0, take_profits=[1930.0]
    )
    leg = _one(plan(sell_stop, spec=xauusd(), quote=(1945.0, 1945.3)))
    assert (leg.order_type, leg.price) == ("stop", 1940.0)
    sell_limit = OpenSetup(
        symbol="XAUUSD",
        side="sell",
        order_type="limit",
        entry_zone=(1960.0, 1962.0),
        stop_loss=1970.0,
        take_profits=[1950.0],
    )
    leg = _one(plan(sell_limit, spec=xauusd(), quote=(1955.0, 1955.3)))
    assert (leg.order_type, leg.price) == ("limit", 1960.0)  # sell limit at the bottom of the zone
    leg = _one(plan(sell_limit, spec=xauusd(), quote=(1961.0, 1961.3)))
    assert (leg.order_type, leg.price) == ("market", 1961.0)


def test_pending_without_quote_uses_zone_middle():
    leg = _one(plan(gold_buy(order_type="limit"), spec=xauusd(), quote=None))
    assert (leg.order_type, leg.price) == ("limit", 1949.0)


def test_prefer_market_overrides_a_pending_signal():
    rules = SubscriptionRules(prefer_order_type="market")
    leg = _one(plan(gold_buy(order_type="limit"), rules=rules, spec=xauusd(), quote=(1950.7, 1951.0)))
    assert (leg.order_type, leg.price) == ("market", 1950.0)


def test_prefer_pending_turns_a_market_signal_into_limit_or_stop():
    rules = SubscriptionRules(prefer_order_type="pending")
    assert _one(plan(gold_buy(), rules=rules, spec=xauusd(), quote=(1952.7, 1953.0))).order_type == "limit"
    assert _one(plan(gold_buy(), rules=rules, spec=xauusd(), quote=(1945.7, 1946.0))).order_type == "stop"
    assert _one(plan(gold_buy(), rules=rules, spec=xauusd(), quote=(1948.7, 1949.0))).order_type == "market"


def test_pending_signal_without_entry_goes_to_market():
    setup = OpenSetup(
        symbol="XAUUSD", side="buy", order_type="limit", stop_loss=1940.0, take_profits=[1960.0]
    )
    d = plan(setup, spec=xauusd(), quote=(1949.7, 1950.0))
    assert d.legs[0].order_type == "market"
    assert any("without an entry price" in w for w in d.warnings)


def test_expiry_by_order_type():
    rules = SubscriptionRules(order_expiry_seconds=90, pending_expiry_seconds=3600)
    assert plan(gold_buy(), rules=rules, spec=xauusd(), quote=(1948.7, 1949.0)).expires_at == NOW + timedelta(
        seconds=90
    )
    d = plan(gold_buy(order_type="limit"), rules=rules, spec=xauusd(), quote=(1952.7, 1953.0))
    assert d.expires_at == NOW + timedelta(hours=1)
    assert SubscriptionRules().order_expiry_seconds == 120
    assert SubscriptionRules().pending_expiry_seconds == 86_400


def test_symbol_mapping_and_suffix():
    rules = SubscriptionRules(symbol_map={"xauusd": "GOLD"}, symbol_suffix=".pro")
    d = plan(gold_buy(), rules=rules, spec=xauusd(broker_symbol="XAUUSD.pro"), quote=(1948.7, 1949.0))
    assert (d.broker_symbol, d.symbol_suffix) == ("GOLD", ".pro")
    # no mapping: the broker symbol the bridge reported for it
    d = plan(gold_buy(), spec=xauusd(broker_symbol="XAUUSDm"), quote=(1948.7, 1949.0))
    assert d.broker_symbol == "XAUUSDm"
    # rejections carry the mapping too (the user sees which symbol was refused)
    d = plan(gold_buy(confidence=0.1), rules=rules, spec=None)
    assert d.broker_symbol == "GOLD"


def test_trade_management_carried_to_the_bridge():
    rules = SubscriptionRules(breakeven_after_tp1=True, trailing_stop_pips=15)
    d = plan(gold_buy(), rules=rules, spec=xauusd(), quote=(1948.7, 1949.0))
    m = d.management
    assert (m.breakeven_after_tp1, m.tp1_price, m.trailing_stop_pips, m.pip_size) == (True, 1955.0, 15, 0.1)
    d = plan(gold_buy(take_profits=[]), rules=rules, spec=xauusd(), quote=(1948.7, 1949.0))
    assert d.management.breakeven_after_tp1 is False
    assert any("no TP1" in w for w in d.warnings)


def test_unknown_symbol_takes_pip_size_from_the_spec():
    setup = OpenSetup(symbol="FOOBAR", side="buy", entry=10.0, sl_pips=10, take_profits=[11.0])
    spec = xauusd(symbol="FOOBAR", broker_symbol="FOOBAR", digits=3, point=0.001)
    d = plan(setup, spec=spec, quote=(9.999, 10.0))
    assert d.pip_size == 0.01  # 3 digits: a pip is 10 points
    assert d.stop_loss == 9.9
