"""Every guard's reason code, and where each guard's boundary lies."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from risk_cases import NOW, RISK_2PCT, eurusd, gold_buy, plan, xauusd
from signalos.contracts.parse_result import OpenSetup
from signalos.trading.risk import AccountState, DailyCounters, SubscriptionRules

GOLD_QUOTE = (1949.70, 1950.00)


def test_rejection_shape_is_code_plus_text():
    d = plan(gold_buy(confidence=0.5), spec=xauusd(), quote=GOLD_QUOTE)
    assert not d.accepted
    assert d.reason_code == "LOW_CONFIDENCE"
    assert d.reason.startswith("LOW_CONFIDENCE: ")
    assert "0.50" in d.reason and "0.80" in d.reason
    assert d.legs == [] and d.symbol == "XAUUSD" and d.side == "buy"


def test_confidence_at_threshold_passes():
    assert plan(gold_buy(confidence=0.8), spec=xauusd(), quote=GOLD_QUOTE).accepted


def test_symbol_not_allowed():
    rules = SubscriptionRules(allowed_symbols=["eurusd", "GBPUSD"])
    d = plan(gold_buy(), rules=rules, spec=xauusd(), quote=GOLD_QUOTE)
    assert d.reason_code == "SYMBOL_NOT_ALLOWED"
    setup = OpenSetup(symbol="EURUSD", side="buy", entry=1.085, stop_loss=1.082, take_profits=[1.09])
    assert plan(setup, rules=rules, spec=eurusd(), quote=(1.0849, 1.085)).accepted


@pytest.mark.parametrize(
    ("mode", "side", "ok"),
    [
        (0, "buy", False),
        (3, "buy", False),
        (1, "sell", False),
        (2, "buy", False),
        (1, "buy", True),
        (4, "buy", True),
    ],
)
def test_broker_trade_mode(mode, side, ok):
    setup = gold_buy() if side == "buy" else gold_buy(side="sell", stop_loss=1960.0, take_profits=[1940.0])
    d = plan(setup, spec=xauusd(trade_mode=mode), quote=GOLD_QUOTE)
    assert d.accepted is ok
    if not ok:
        assert d.reason_code == "SYMBOL_TRADE_DISABLED"


def test_outside_session():
    rules = SubscriptionRules(allowed_sessions=["mon-fri 07:00-10:00", "mon-fri 13:00-17:00"])
    d = plan(gold_buy(), rules=rules, spec=xauusd(), quote=GOLD_QUOTE)  # Monday 10:30 UTC
    assert d.reason_code == "OUTSIDE_SESSION"
    assert "Mon 10:30" in d.reason
    at_13 = datetime(2026, 11, 23, 13, 0, tzinfo=UTC)
    assert plan(gold_buy(), rules=rules, spec=xauusd(), quote=GOLD_QUOTE, now=at_13).accepted
    saturday = datetime(2026, 11, 28, 13, 0, tzinfo=UTC)
    d = plan(gold_buy(), rules=rules, spec=xauusd(), quote=GOLD_QUOTE, now=saturday)
    assert d.reason_code == "OUTSIDE_SESSION"


def test_stale_signal():
    rules = SubscriptionRules(signal_max_age_seconds=300)
    assert plan(gold_buy(), rules=rules, spec=xauusd(), quote=GOLD_QUOTE, age_seconds=300).accepted
    d = plan(gold_buy(), rules=rules, spec=xauusd(), quote=GOLD_QUOTE, age_seconds=301)
    assert d.reason_code == "SIGNAL_TOO_OLD"
    assert "301s" in d.reason
    # No limit configured: an hour-old signal is still planned.
    rules = SubscriptionRules(signal_max_age_seconds=None)
    assert plan(gold_buy(), rules=rules, spec=xauusd(), quote=GOLD_QUOTE, age_seconds=3600).accepted


def test_daily_trade_cap():
    rules = SubscriptionRules(max_daily_trades=10)
    d = plan(
        gold_buy(), rules=rules, spec=xauusd(), quote=GOLD_QUOTE, counters=DailyCounters(trades_opened=10)
    )
    assert d.reason_code == "DAILY_TRADE_CAP"
    # 9 used: one order left, so the whole volume goes on the TP1 leg rather than three legs.
    rules = SubscriptionRules(sizing_mode="risk_percent", max_daily_trades=10)
    d = plan(
        gold_buy(), rules=rules, spec=xauusd(), quote=GOLD_QUOTE, counters=DailyCounters(trades_opened=9)
    )
    assert [(leg.leg, leg.volume) for leg in d.legs] == [(1, 0.2)]
    assert any("only 1 more orders" in w for w in d.warnings)


def test_default_daily_cap_is_fifty():
    d = plan(gold_buy(), spec=xauusd(), quote=GOLD_QUOTE, counters=DailyCounters(trades_opened=50))
    assert d.reason_code == "DAILY_TRADE_CAP"


def test_daily_loss_cap_amount_counts_realized_and_floating_losses():
    rules = SubscriptionRules(max_daily_loss_amount=300)
    # realized -200 and floating -100 (equity 100 below balance) = 300 lost -> at the cap
    account = AccountState(balance=9_800, equity=9_700)
    d = plan(
        gold_buy(),
        rules=rules,
        account=account,
        spec=xauusd(),
        quote=GOLD_QUOTE,
        counters=DailyCounters(realized_pnl=-200),
    )
    assert d.reason_code == "DAILY_LOSS_CAP"
    # floating gains do not offset: realized -299, floating +500 -> 299 lost, under the cap
    account = AccountState(balance=9_701, equity=10_201)
    d = plan(
        gold_buy(),
        rules=rules,
        account=account,
        spec=xauusd(),
        quote=GOLD_QUOTE,
        counters=DailyCounters(realized_pnl=-299),
    )
    assert d.accepted


def test_daily_loss_cap_percent():
    rules = SubscriptionRules(max_daily_loss_percent=5)
    # day started at 10,000; realized -500 = 5.0% -> reject; -499 -> 4.99% -> accept
    d = plan(
        gold_buy(),
        rules=rules,
        account=AccountState(balance=9_500, equity=9_500),
        spec=xauusd(),
        quote=GOLD_QUOTE,
        counters=DailyCounters(realized_pnl=-500, day_start_balance=10_000),
    )
    assert d.reason_code == "DAILY_LOSS_CAP"
    assert "5.00%" in d.reason
    # without day_start_balance the base is balance - realized = 9,501 + 499 = 10,000
    d = plan(
        gold_buy(),
        rules=rules,
        account=AccountState(balance=9_501, equity=9_501),
        spec=xauusd(),
        quote=GOLD_QUOTE,
        counters=DailyCounters(realized_pnl=-499),
    )
    assert d.accepted


def test_max_open_trades():
    rules = SubscriptionRules(sizing_mode="risk_percent", max_open_trades=5)
    full = AccountState(balance=10_000, open_trades=5)
    assert plan(gold_buy(), rules=rules, account=full, spec=xauusd(), quote=GOLD_QUOTE).reason_code == (
        "MAX_OPEN_TRADES"
    )
    # 3 open: two more allowed -> two legs carry the volume (10 + 10 steps)
    some = AccountState(balance=10_000, open_trades=3)
    d = plan(gold_buy(), rules=rules, account=some, spec=xauusd(), quote=GOLD_QUOTE)
    assert [(leg.leg, leg.volume) for leg in d.legs] == [(1, 0.1), (2, 0.1)]


def test_max_total_lots_reached():
    rules = SubscriptionRules(max_total_lots=1.0)
    account = AccountState(balance=10_000, open_lots=0.995)
    d = plan(gold_buy(), rules=rules, account=account, spec=xauusd(), quote=GOLD_QUOTE)
    assert d.reason_code == "MAX_TOTAL_LOTS"


def test_no_symbol_spec_for_risk_sizing():
    d = plan(gold_buy(), rules=RISK_2PCT, spec=None, quote=GOLD_QUOTE)
    assert d.reason_code == "NO_SYMBOL_SPEC"


def test_no_stop_loss():
    d = plan(gold_buy(stop_loss=None), rules=RISK_2PCT, spec=xauusd(), quote=GOLD_QUOTE)
    assert d.reason_code == "NO_STOP_LOSS"
    # fixed lot without require_stop_loss trades without an SL
    d = plan(gold_buy(stop_loss=None), spec=xauusd(), quote=GOLD_QUOTE)
    assert d.accepted and d.legs[0].stop_loss is None
    d = plan(
        gold_buy(stop_loss=None),
        rules=SubscriptionRules(require_stop_loss=True),
        spec=xauusd(),
        quote=GOLD_QUOTE,
    )
    assert d.reason_code == "NO_STOP_LOSS"


def test_risk_sizing_needs_a_price():
    # BUY NOW with SL but no entry and no quote: nothing to measure the SL distance from
    setup = OpenSetup(symbol="XAUUSD", side="buy", stop_loss=1940.0, take_profits=[1960.0])
    d = plan(setup, rules=RISK_2PCT, spec=xauusd(), quote=None)
    assert d.reason_code == "NO_PRICE"
    # with a quote it sizes from the ask: 1950 - 1940 = $1000/lot -> 0.20
    d = plan(setup, rules=RISK_2PCT, spec=xauusd(), quote=GOLD_QUOTE)
    assert d.total_volume == 0.2


def test_quote_from_the_reported_spec_when_none_given():
    setup = OpenSetup(symbol="XAUUSD", side="buy", stop_loss=1940.0, take_profits=[1960.0])
    d = plan(setup, rules=RISK_2PCT, spec=xauusd(bid=1949.7, ask=1950.0), quote=None)
    assert d.accepted and d.entry_price == 1950.0


@pytest.mark.parametrize(
    ("setup", "code"),
    [
        (gold_buy(stop_loss=1949.0), "SL_WRONG_SIDE"),  # inside the zone
        (gold_buy(stop_loss=1955.0), "SL_WRONG_SIDE"),
        (gold_buy(take_profits=[1945.0, 1960.0]), "TP_WRONG_SIDE"),
        (gold_buy(side="sell", stop_loss=1940.0, take_profits=[1930.0]), "SL_WRONG_SIDE"),
        (gold_buy(side="sell", stop_loss=1960.0, take_profits=[1952.0]), "TP_WRONG_SIDE"),
    ],
)
def test_wrong_side_levels_in_the_signal(setup, code):
    assert plan(setup, spec=xauusd(), quote=GOLD_QUOTE).reason_code == code


def test_price_already_through_the_sl():
    setup = OpenSetup(symbol="XAUUSD", side="buy", stop_loss=1940.0, take_profits=[1960.0])
    d = plan(setup, spec=xauusd(), quote=(1939.5, 1939.8))
    assert d.reason_code == "SL_WRONG_SIDE"


def test_passed_tps_are_dropped_and_all_passed_is_rejected():
    rules = SubscriptionRules(sizing_mode="risk_percent")
    setup = OpenSetup(symbol="XAUUSD", side="buy", stop_loss=1940.0, take_profits=[1955.0, 1965.0])
    d = plan(setup, rules=rules, spec=xauusd(), quote=(1955.7, 1956.0))
    assert [(leg.leg, leg.take_profit) for leg in d.legs] == [(2, 1965.0)]
    assert any("TP1 1955 is already passed" in w for w in d.warnings)
    d = plan(setup, rules=rules, spec=xauusd(), quote=(1965.7, 1966.0))
    assert d.reason_code == "TP_WRONG_SIDE"


def test_spread_too_wide():
    rules = SubscriptionRules(max_spread_points=30)
    # gold point 0.01: 1950.00 - 1949.70 = 0.30 = 30 points -> allowed; 0.31 -> 31 points -> rejected
    assert plan(gold_buy(), rules=rules, spec=xauusd(), quote=(1949.70, 1950.00)).accepted
    d = plan(gold_buy(), rules=rules, spec=xauusd(), quote=(1949.69, 1950.00))
    assert d.reason_code == "SPREAD_TOO_WIDE"
    assert "31 points" in d.reason
    # no quote: the spread the bridge reported with the spec
    d = plan(gold_buy(), rules=rules, spec=xauusd(spread=45), quote=None)
    assert d.reason_code == "SPREAD_TOO_WIDE"
    # nothing known here: accepted, the bridge enforces max_spread_points
    d = plan(gold_buy(), rules=rules, spec=None, quote=None)
    assert d.accepted and d.max_spread_points == 30
    assert any("spread unknown" in w for w in d.warnings)


def test_price_too_far_from_entry():
    rules = SubscriptionRules(max_price_distance_pips=20)  # gold: 20 pips = 2.00
    # ask 1952.00 is 2.00 above the zone top 1950 -> 20 pips -> allowed; 1952.10 -> 21 pips -> rejected
    d = plan(gold_buy(), rules=rules, spec=xauusd(), quote=(1951.7, 1952.0))
    assert d.accepted, d.reason
    assert d.legs[0].price == 1950.0 and d.max_price_distance == pytest.approx(2.0)
    d = plan(gold_buy(), rules=rules, spec=xauusd(), quote=(1951.8, 1952.1))
    assert d.reason_code == "PRICE_TOO_FAR"
    assert "21.0 pips" in d.reason
    # below the zone counts too (the setup is off either way)
    d = plan(gold_buy(), rules=rules, spec=xauusd(), quote=(1945.5, 1945.8))
    assert d.reason_code == "PRICE_TOO_FAR"


def test_price_distance_eurusd_pips():
    rules = SubscriptionRules(max_price_distance_pips=5)
    setup = OpenSetup(symbol="EURUSD", side="sell", entry=1.085, stop_loss=1.088, take_profits=[1.08])
    # sell fills at the bid: 1.08440 is 6 pips under 1.08500
    d = plan(setup, rules=rules, spec=eurusd(), quote=(1.0844, 1.08446))
    assert d.reason_code == "PRICE_TOO_FAR"
    d = plan(setup, rules=rules, spec=eurusd(), quote=(1.0846, 1.08466))
    assert d.accepted


def test_first_failing_guard_decides():
    rules = SubscriptionRules(allowed_symbols=["EURUSD"], max_daily_trades=1)
    d = plan(
        gold_buy(confidence=0.1),
        rules=rules,
        spec=xauusd(),
        quote=GOLD_QUOTE,
        counters=DailyCounters(trades_opened=5),
        age_seconds=10_000,
    )
    assert d.reason_code == "LOW_CONFIDENCE"


def test_now_without_timezone_is_utc():
    naive = datetime(2026, 11, 23, 10, 30)
    rules = SubscriptionRules(allowed_sessions=["10:00-11:00"])
    assert plan(gold_buy(), rules=rules, spec=xauusd(), quote=GOLD_QUOTE, now=naive).accepted
    assert NOW.tzinfo is UTC
