"""SubscriptionRules validation messages and session windows."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError
from signalos.contracts.execution import Heartbeat, PositionSnapshot
from signalos.trading.risk import AccountState, SubscriptionRules, in_sessions, parse_session


def _at(day: int, hour: int, minute: int = 0) -> datetime:
    # November 2026: the 23rd is a Monday
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def test_defaults_match_the_product():
    rules = SubscriptionRules()
    assert (rules.sizing_mode, rules.fixed_lot, rules.risk_percent, rules.max_daily_trades) == (
        "fixed_lot",
        0.01,
        2.0,
        50,
    )
    assert rules.min_confidence == 0.8
    assert rules.stop_loss_required is False
    assert SubscriptionRules(sizing_mode="risk_percent").stop_loss_required is True


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"sizing_mode": "risk_percent", "require_stop_loss": False},
            "risk_percent sizing needs a stop-loss",
        ),
        ({"allowed_sessions": ["8:00-17:00"]}, "use HH:MM"),
        ({"allowed_sessions": ["mon-fry"]}, "unknown weekday"),
        ({"allowed_sessions": ["09:00-09:00"]}, "same time"),
        ({"use_tps": [0, 1]}, "1-based"),
        ({"use_tps": []}, "at least one TP"),
        ({"tp_split": [0, 0]}, "positive sum"),
        ({"tp_split": "half"}, "tp_split"),
        ({"max_lot_per_order": 5, "max_total_lots": 1}, "max_lot_per_order cannot be larger"),
        ({"risk_percent": 0}, "risk_percent"),
        ({"symbol_map": {"XAUUSD": " "}}, "non-empty"),
        ({"unknown_setting": 1}, "unknown_setting"),
    ],
)
def test_invalid_rules_name_the_problem(kwargs, message):
    with pytest.raises(ValidationError) as err:
        SubscriptionRules(**kwargs)
    assert message in str(err.value)


def test_rules_normalise_symbols_and_round_trip_as_json():
    rules = SubscriptionRules(
        allowed_symbols=[" xauusd ", "EURUSD"],
        symbol_map={"xauusd": "GOLD.pro"},
        use_tps=[3, 1, 3],
        sizing_mode="risk_percent",
        default_sl_pips=30,
        require_stop_loss=False,
        tp_split=[2, 1],
    )
    assert rules.allowed_symbols == ["XAUUSD", "EURUSD"]
    assert rules.symbol_map == {"XAUUSD": "GOLD.pro"}
    assert rules.use_tps == [1, 3]
    assert SubscriptionRules.model_validate_json(rules.model_dump_json()) == rules


def test_account_state_from_heartbeat_adds_queued_orders():
    hb = Heartbeat(
        account_id="acc_1",
        sent_at=_at(23, 10),
        balance=10_000,
        equity=9_900,
        margin_free=9_000,
        positions=[
            PositionSnapshot(ticket=1, symbol="XAUUSD", side="buy", volume=0.1, price_open=1950),
            PositionSnapshot(ticket=2, symbol="EURUSD", side="sell", volume=0.2, price_open=1.08),
        ],
    )
    state = AccountState.from_heartbeat(hb, queued_trades=1, queued_lots=0.05)
    assert (state.balance, state.equity, state.open_trades, state.open_lots) == (10_000, 9_900, 3, 0.35)


@pytest.mark.parametrize(
    ("entry", "moment", "inside"),
    [
        ("08:00-17:00", _at(23, 8, 0), True),
        ("08:00-17:00", _at(23, 16, 59), True),
        ("08:00-17:00", _at(23, 17, 0), False),  # end is exclusive
        ("08:00-17:00", _at(28, 9), True),  # no days: every day
        ("mon-fri", _at(27, 23, 59), True),  # Friday
        ("mon-fri", _at(28, 0, 0), False),  # Saturday
        ("sat,sun", _at(29, 12), True),
        ("fri-mon", _at(29, 12), True),  # wraps over the weekend
        ("fri-mon", _at(25, 12), False),  # Wednesday
        ("22:00-02:00", _at(23, 23, 30), True),
        ("22:00-02:00", _at(24, 1, 59), True),
        ("22:00-02:00", _at(24, 2, 0), False),
        ("22:00-02:00", _at(24, 12, 0), False),
        ("sun 22:00-02:00", _at(23, 1, 0), True),  # Monday 01:00 belongs to Sunday's window
        ("sun 22:00-02:00", _at(24, 1, 0), False),  # Tuesday 01:00 belongs to Monday's (not allowed)
        ("mon-fri 07:00-16:30", _at(23, 16, 29), True),
        ("mon-fri 07:00-16:30", _at(28, 10, 0), False),
        ("00:00-24:00", _at(23, 23, 59), True),
    ],
)
def test_session_windows(entry, moment, inside):
    assert parse_session(entry).contains(moment) is inside


def test_any_session_matches_and_empty_means_always():
    assert in_sessions([], _at(28, 3))
    assert in_sessions(["01:00-02:00", "sat"], _at(28, 3))
    assert not in_sessions(["01:00-02:00", "sun"], _at(28, 3))
