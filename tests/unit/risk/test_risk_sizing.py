"""Lot sizing against hand-computed cases (the arithmetic is in the comments)."""

from __future__ import annotations

import pytest
from risk_cases import RISK_1PCT, RISK_2PCT, eurusd, gold_buy, plan, us30, usdjpy, volumes, xauusd
from signalos.contracts.parse_result import OpenSetup
from signalos.trading.risk import AccountState, SubscriptionRules


def test_eurusd_one_percent_risk():
    # budget = 5,000 x 1% = 50 USD
    # SL distance = 1.08500 - 1.08200 = 0.00300 = 300 ticks of 0.00001; x $1 per tick = $300 per lot
    # volume = 50 / 300 = 0.1667 -> rounded DOWN to the 0.01 step = 0.16 lots, risking 0.16 x 300 = $48
    setup = OpenSetup(symbol="EURUSD", side="buy", entry=1.085, stop_loss=1.082, take_profits=[1.09])
    d = plan(setup, rules=RISK_1PCT, balance=5_000, spec=eurusd(), quote=(1.08490, 1.08500))
    assert d.accepted, d.reason
    assert volumes(d) == [0.16]
    assert d.entry_price == pytest.approx(1.085)
    assert d.risk_budget == 50.0
    assert d.risk_amount == pytest.approx(48.0)
    leg = d.legs[0]
    assert (leg.order_type, leg.stop_loss, leg.take_profit) == ("market", 1.082, 1.09)


def test_gold_two_percent_split_over_three_tps():
    # budget = 10,000 x 2% = 200 USD; ask 1950.00 is inside the zone 1948-1950, so the fill is 1950.00
    # SL distance = 1950 - 1940 = 10.00 = 1,000 ticks of 0.01; x $1 = $1,000 per lot
    # volume = 200 / 1000 = 0.20 lots = 20 steps; equal split over 3 TPs: 6.67 each -> 6,6,6 and the
    # 2 leftover steps go to the earliest legs -> 7,7,6 = 0.07 + 0.07 + 0.06 = 0.20
    d = plan(gold_buy(), rules=RISK_2PCT, spec=xauusd(), quote=(1949.70, 1950.00))
    assert d.accepted, d.reason
    assert volumes(d) == [0.07, 0.07, 0.06]
    assert [leg.take_profit for leg in d.legs] == [1955.0, 1960.0, 1965.0]
    assert [leg.leg for leg in d.legs] == [1, 2, 3]
    assert d.total_volume == 0.2
    assert d.risk_amount == pytest.approx(200.0)
    assert d.management.tp1_price == 1955.0
    assert d.management.pip_size == 0.1


def test_index_us30_sell():
    # US30: $0.01 per 0.01 tick per lot = $1 per index point per lot.
    # budget = 10,000 x 1% = 100; SL distance = 39,100 - 39,000 = 100 points = 10,000 ticks
    # loss per lot = 10,000 x 0.01 = $100 -> volume = 100 / 100 = 1.00 lot
    setup = OpenSetup(symbol="US30", side="sell", entry=39_000.0, stop_loss=39_100.0, take_profits=[38_800.0])
    d = plan(setup, rules=RISK_1PCT, spec=us30(), quote=(39_000.0, 39_002.0))  # sell fills at the bid
    assert d.accepted, d.reason
    assert volumes(d) == [1.0]
    assert d.risk_amount == pytest.approx(100.0)


def test_jpy_pair_with_converted_tick_value():
    # USDJPY in a USD account: one 0.001 tick on 1 lot = 100 JPY = 100 / 150 = $0.6666666667.
    # budget = 10,000 x 1% = 100; SL distance = 150.000 - 149.500 = 0.500 = 500 ticks
    # loss per lot = 500 x 0.6666666667 = $333.33 -> volume = 100 / 333.33 = 0.29999999998 -> 0.30
    # (a ratio a hair under a whole step from the broker's rounded tick value still counts as the step)
    setup = OpenSetup(symbol="USDJPY", side="buy", entry=150.0, stop_loss=149.5, take_profits=[151.0])
    d = plan(setup, rules=RISK_1PCT, spec=usdjpy(), quote=(149.99, 150.0))
    assert d.accepted, d.reason
    assert volumes(d) == [0.30]
    assert d.risk_amount == pytest.approx(100.0, abs=0.01)
    assert d.pip_size == 0.01


def test_market_sizing_uses_the_expected_fill_not_the_signal_entry():
    # BUY NOW 1950-1948, ask 1951.00 is above the zone: planned price is the nearest edge 1950,
    # but the fill will be ~1951, so risk is measured from 1951: 11.00 = 1,100 ticks = $1,100 per lot
    # budget 200 -> 200 / 1100 = 0.1818 -> 0.18 (0.06 x 3). Sizing from 1950 would give 0.20 and over-risk.
    d = plan(gold_buy(), rules=RISK_2PCT, spec=xauusd(), quote=(1950.70, 1951.00))
    assert d.accepted, d.reason
    assert d.total_volume == 0.18
    assert d.legs[0].price == 1950.0
    assert d.entry_price == 1951.0
    assert d.risk_amount <= 200.0


def test_fixed_lot_is_per_signal_and_split():
    # 0.05 lots over 2 TPs: 2.5 steps each -> 2,2 + 1 leftover to leg 1 -> 0.03 + 0.02
    setup = gold_buy(take_profits=[1955.0, 1960.0])
    d = plan(setup, rules=SubscriptionRules(fixed_lot=0.05), spec=xauusd(), quote=(1949.7, 1950.0))
    assert volumes(d) == [0.03, 0.02]
    # risk is reported even in fixed-lot mode when SL and tick value are known: 0.05 x $1,000
    assert d.risk_amount == pytest.approx(50.0)


def test_default_fixed_lot_with_three_tps_trades_tp1_only():
    # 0.01 is one step: it cannot make three legs of 0.01, nor two, so only TP1 gets it.
    d = plan(gold_buy(), spec=xauusd(), quote=(1949.7, 1950.0))
    assert d.accepted
    assert [(leg.leg, leg.volume) for leg in d.legs] == [(1, 0.01)]
    assert any("TP2, TP3 not traded" in w for w in d.warnings)


def test_fixed_lot_without_spec_uses_default_volume_rules():
    d = plan(gold_buy(take_profits=[1955.0]), rules=SubscriptionRules(fixed_lot=0.123), spec=None)
    assert d.accepted
    assert volumes(d) == [0.12]  # rounded down to the default 0.01 step
    assert any("no symbol spec" in w for w in d.warnings)
    assert d.legs[0].order_type == "market"
    assert d.legs[0].price == 1949.0  # no quote: the middle of the zone


def test_volume_min_reject_when_minimum_overrisks():
    # balance 100 x 1% = $1 budget; XAUUSD SL 10.00 away = $1,000 per lot; 0.01 lot risks $10 = 10x budget
    d = plan(gold_buy(), rules=RISK_1PCT, balance=100, spec=xauusd(), quote=(1949.7, 1950.0))
    assert not d.accepted
    assert d.reason_code == "VOLUME_BELOW_MIN"
    assert "10.00" in d.reason and "1.00" in d.reason


def test_volume_min_used_when_within_overrisk_factor():
    # balance 400 x 2% = $8 budget; 0.008 lots < 0.01 minimum; 0.01 risks $10 <= 1.5 x 8 = 12 -> use 0.01
    d = plan(gold_buy(), rules=RISK_2PCT, balance=400, spec=xauusd(), quote=(1949.7, 1950.0))
    assert d.accepted
    assert volumes(d) == [0.01]
    assert any("minimum" in w for w in d.warnings)


def test_fixed_lot_below_broker_minimum_rejected():
    d = plan(gold_buy(), rules=SubscriptionRules(fixed_lot=0.05), spec=xauusd(volume_min=0.1))
    assert d.reason_code == "VOLUME_BELOW_MIN"


def test_max_lot_per_order_caps_each_leg():
    # 10% of 10,000 = $1,000 -> 1.00 lot = 0.34/0.33/0.33; cap 0.2 per order -> 0.20 x 3 = 0.60
    rules = SubscriptionRules(sizing_mode="risk_percent", risk_percent=10, max_lot_per_order=0.2)
    d = plan(gold_buy(), rules=rules, spec=xauusd(), quote=(1949.7, 1950.0))
    assert volumes(d) == [0.2, 0.2, 0.2]
    assert any("capped" in w for w in d.warnings)


def test_broker_volume_max_caps_each_leg():
    rules = SubscriptionRules(sizing_mode="risk_percent", risk_percent=50)
    setup = gold_buy(take_profits=[1960.0])
    d = plan(setup, rules=rules, spec=xauusd(volume_max=2.0), quote=(1949.7, 1950.0))
    # 5,000 / 1,000 = 5 lots -> capped at the broker's 2.0
    assert volumes(d) == [2.0]


def test_max_total_lots_cuts_volume_to_the_room_left():
    # 0.20 wanted; cap 0.5 with 0.4 open leaves 0.10 = 10 steps;
    # over 3 TPs 3.33 each -> 3,3,3 + 1 leftover to leg 1 -> 4,3,3
    rules = SubscriptionRules(sizing_mode="risk_percent", risk_percent=2, max_total_lots=0.5)
    account = AccountState(balance=10_000, open_lots=0.4, open_trades=2)
    d = plan(gold_buy(), rules=rules, account=account, spec=xauusd(), quote=(1949.7, 1950.0))
    assert volumes(d) == [0.04, 0.03, 0.03]


def test_tp_split_weights():
    # 0.20 lots with weights 0.5/0.3/0.2 -> 10, 6, 4 steps
    rules = SubscriptionRules(sizing_mode="risk_percent", tp_split=[0.5, 0.3, 0.2])
    d = plan(gold_buy(), rules=rules, spec=xauusd(), quote=(1949.7, 1950.0))
    assert volumes(d) == [0.10, 0.06, 0.04]


def test_tp_split_first_only_and_use_tps():
    d = plan(
        gold_buy(),
        rules=SubscriptionRules(sizing_mode="risk_percent", tp_split="first_only"),
        spec=xauusd(),
        quote=(1949.7, 1950.0),
    )
    assert [(leg.leg, leg.volume, leg.take_profit) for leg in d.legs] == [(1, 0.2, 1955.0)]
    d = plan(
        gold_buy(),
        rules=SubscriptionRules(sizing_mode="risk_percent", use_tps=[2, 3]),
        spec=xauusd(),
        quote=(1949.7, 1950.0),
    )
    assert [(leg.leg, leg.volume, leg.take_profit) for leg in d.legs] == [(2, 0.1, 1960.0), (3, 0.1, 1965.0)]
    # breakeven still keys off the signal's TP1
    assert d.management.tp1_price == 1955.0


def test_split_rounding_with_a_coarse_minimum():
    # Broker min 0.10, step 0.01. 0.25 lots over 3 TPs: 8.33 steps each -> 9,8,8 < 10 -> drop TP3;
    # over 2: 12.5 -> 13,12 -> 0.13 + 0.12 = 0.25 (never more than the total)
    rules = SubscriptionRules(fixed_lot=0.25)
    d = plan(gold_buy(), rules=rules, spec=xauusd(volume_min=0.1), quote=(1949.7, 1950.0))
    assert volumes(d) == [0.13, 0.12]


def test_no_tp_gives_one_leg_without_tp():
    d = plan(gold_buy(take_profits=[]), rules=RISK_2PCT, spec=xauusd(), quote=(1949.7, 1950.0))
    assert [(leg.leg, leg.volume, leg.take_profit) for leg in d.legs] == [(1, 0.2, None)]


def test_sl_and_tp_from_pips():
    # EURUSD pip = 0.0001: SL 30 pips below 1.08500 = 1.08200, TPs 20/40 pips above = 1.08700 / 1.08900
    setup = OpenSetup(symbol="EURUSD", side="buy", entry=1.085, sl_pips=30, tp_pips=[20, 40])
    d = plan(setup, rules=RISK_1PCT, balance=5_000, spec=eurusd(), quote=(1.08490, 1.08500))
    assert d.stop_loss == pytest.approx(1.082)
    assert [leg.take_profit for leg in d.legs] == [pytest.approx(1.087), pytest.approx(1.089)]
    assert d.total_volume == 0.16  # same as the 300-tick case: $300 per lot, $50 budget


def test_default_sl_pips_when_signal_has_none():
    # gold pip = 0.1: default 100 pips = 10.00 below the zone middle 1949 -> SL 1939.00
    rules = SubscriptionRules(sizing_mode="risk_percent", default_sl_pips=100)
    d = plan(gold_buy(stop_loss=None), rules=rules, spec=xauusd())
    assert d.accepted, d.reason
    assert d.stop_loss == 1939.0
    assert any("default" in w for w in d.warnings)


def test_jpy_sell_sl_pips_rounded_to_digits():
    # USDJPY pip = 0.01: sell at 150.123, SL 25 pips above = 150.373
    setup = OpenSetup(symbol="USDJPY", side="sell", entry=150.123, sl_pips=25, take_profits=[149.5])
    d = plan(setup, rules=RISK_1PCT, spec=usdjpy(), quote=(150.123, 150.133))
    assert d.stop_loss == 150.373


def test_zero_balance_cannot_risk():
    d = plan(gold_buy(), rules=RISK_2PCT, balance=0.0, spec=xauusd(), quote=(1949.7, 1950.0))
    assert d.reason_code == "VOLUME_BELOW_MIN"
