"""The order state machine: legal moves, refused moves, and what each report writes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from signalos.contracts.execution import ExecutionReport
from signalos.trading.records import (
    IllegalTransition,
    can_transition,
    pips_between,
    plan_report,
    stage_latencies_ms,
)

NOW = datetime(2026, 11, 22, 10, 30, tzinfo=UTC)


def order(**overrides):
    base = {
        "entity": "order",
        "order_id": "ord_1",
        "command_id": "ord_1",
        "account_id": "acc_1",
        "user_id": "usr_1",
        "symbol": "XAUUSD",
        "side": "buy",
        "order_type": "market",
        "volume": 0.3,
        "state": "sent",
        "version": 1,
        "transitions": [],
    }
    base.update(overrides)
    return base


def report(status, **kw):
    fields = {
        "report_id": f"ord_1:{status}",
        "account_id": "acc_1",
        "command_id": "ord_1",
        "order_id": "ord_1",
        "status": status,
        "executed_at": NOW,
    }
    fields.update(kw)
    return ExecutionReport(**fields)


@pytest.mark.parametrize(
    ("current", "new", "ok"),
    [
        ("pending", "sent", True),
        ("sent", "filled", True),
        ("sent", "rejected", True),
        ("sent", "expired", True),
        ("placed", "filled", True),
        ("filled", "partially_closed", True),
        ("partially_closed", "closed", True),
        ("filled", "closed", True),
        ("sent", "pending", False),
        ("filled", "sent", False),
        ("filled", "rejected", False),
        ("closed", "filled", False),
        ("rejected", "filled", False),
        ("expired", "filled", False),
        ("cancelled", "placed", False),
        ("closed", "closed", False),
    ],
)
def test_transitions(current, new, ok):
    assert can_transition(current, new) is ok


def test_fill_records_entry_and_stage_timestamps():
    change = plan_report(order(), report("filled", price=1950.5, volume=0.3, ticket=42), now=NOW)
    v = change.set_values
    assert change.new_state == "filled"
    assert v["state"] == "filled"
    assert v["entry_price"] == 1950.5
    assert v["filled_volume"] == 0.3
    assert v["ticket"] == 42
    assert v["executed_at"] == v["opened_at"] == "2026-11-22T10:30:00.000Z"
    assert v["transitions"] == [
        {"state": "filled", "at": "2026-11-22T10:30:00.000Z", "report_id": "ord_1:filled"}
    ]
    assert change.realised_net == 0.0


def test_close_computes_money_and_signed_pips():
    filled = order(state="filled", entry_price=1950.0, filled_volume=0.3)
    change = plan_report(
        filled,
        report(
            "closed", price=1948.0, volume=0.3, profit=-60.0, commission=-2.1, swap=-0.4, close_reason="sl"
        ),
        now=NOW,
        pip_size=0.1,
    )
    v = change.set_values
    assert v["state"] == "closed"
    assert v["close_price"] == 1948.0
    assert v["pips"] == -20.0
    assert v["net_profit"] == -62.5
    assert v["closed_at"] == "2026-11-22T10:30:00.000Z"
    assert v["close_reason"] == "sl"
    assert change.realised_net == pytest.approx(-62.5)


def test_partial_closes_accumulate_with_weighted_close_price():
    filled = order(state="filled", side="sell", entry_price=1.1000, filled_volume=1.0)
    first = plan_report(
        filled, report("partially_closed", price=1.0950, volume=0.5, profit=250.0), now=NOW, pip_size=0.0001
    )
    after_first = {**filled, **first.set_values}
    assert after_first["state"] == "partially_closed"
    assert after_first["closed_volume"] == 0.5
    assert after_first["pips"] == 50.0
    second = plan_report(
        after_first,
        report("closed", report_id="ord_1:closed", price=1.0900, volume=0.5, profit=500.0),
        now=NOW,
        pip_size=0.0001,
    )
    v = second.set_values
    assert v["closed_volume"] == 1.0
    assert v["close_price"] == pytest.approx(1.0925)
    assert v["profit"] == 750.0
    assert v["pips"] == 75.0
    assert [t["state"] for t in v["transitions"]] == ["partially_closed", "closed"]


@pytest.mark.parametrize(
    ("state", "status"),
    [
        ("closed", "filled"),
        ("rejected", "filled"),
        ("filled", "placed"),
        ("closed", "closed"),
        ("expired", "closed"),
        ("filled", "failed"),
    ],
)
def test_illegal_reports_are_refused(state, status):
    with pytest.raises(IllegalTransition):
        plan_report(order(state=state), report(status), now=NOW)


def test_modified_keeps_state_and_updates_stops():
    change = plan_report(order(state="filled"), report("modified", stop_loss=1950.0), now=NOW)
    assert change.new_state == "filled"
    assert change.set_values["stop_loss"] == 1950.0
    assert "state" not in change.set_values
    with pytest.raises(IllegalTransition):
        plan_report(order(state="closed"), report("modified", stop_loss=1950.0), now=NOW)


def test_refused_management_command_is_recorded_without_changing_the_order():
    manage = report(
        "rejected",
        command_id="cmd_close_1",
        report_id="cmd_close_1:rejected",
        reason="market closed",
        retcode=10018,
    )
    change = plan_report(order(state="filled"), manage, now=NOW)
    assert change.new_state == "filled"
    assert "state" not in change.set_values
    assert change.set_values["last_command_error"]["reason"] == "market closed"


def test_management_command_cannot_report_a_fill():
    with pytest.raises(IllegalTransition):
        plan_report(order(state="filled"), report("filled", command_id="cmd_x"), now=NOW)


def test_rejection_keeps_reason():
    change = plan_report(order(), report("rejected", reason="10019 no money", retcode=10019), now=NOW)
    assert change.set_values["state_reason"] == "10019 no money"
    assert change.set_values["executed_at"] == "2026-11-22T10:30:00.000Z"


def test_pips_and_latencies():
    assert pips_between("buy", 1.1000, 1.1012, 0.0001) == 12.0
    assert pips_between("sell", 1950.0, 1940.0, 0.1) == 100.0
    assert pips_between("buy", None, 1.0, 0.0001) is None
    lat = stage_latencies_ms(
        {
            "signal_time": "2026-11-22T10:30:00.000Z",
            "received_at": "2026-11-22T10:30:00.400Z",
            "parsed_at": "2026-11-22T10:30:00.401Z",
            "enqueued_at": "2026-11-22T10:30:00.450Z",
        }
    )
    assert lat["signal_time->received_at"] == 400.0
    assert lat["received_at->enqueued_at"] == 50.0
    assert "enqueued_at->executed_at" not in lat
