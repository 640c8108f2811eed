"""apply_execution_report against DynamoDB (moto): idempotent, all-or-nothing, scoped to the owner."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from signalos.common.dynamo import Table
from signalos.contracts.execution import ExecutionReport
from signalos.trading import counters
from signalos.trading.orders import apply_execution_report, apply_report, get_order

EXECUTED = datetime(2026, 11, 22, 10, 30, tzinfo=UTC)


@pytest.fixture
def table(aws):
    return Table.from_env("TRADING_TABLE")


def put_order(table, user="usr_a", account="acc_a", order_id="ord_1", state="sent", **extra):
    item = {
        "pk": f"USER#{user}",
        "sk": f"ORDER#{order_id}",
        "entity": "order",
        "order_id": order_id,
        "command_id": order_id,
        "user_id": user,
        "account_id": account,
        "symbol": "XAUUSD",
        "side": "buy",
        "order_type": "market",
        "volume": 0.2,
        "state": state,
        "version": 1,
        "transitions": [],
        "created_at": "2026-11-22T10:29:59.000Z",
        "gsi2pk": f"ORDERS#{user}",
        "gsi2sk": f"2026-11-22T10:29:59.000Z#{order_id}",
    }
    item.update(extra)
    table.put(item)
    return item


def report(status, order_id="ord_1", account="acc_a", **kw):
    fields = {
        "report_id": f"{order_id}:{status}",
        "account_id": account,
        "command_id": order_id,
        "order_id": order_id,
        "status": status,
        "executed_at": EXECUTED,
    }
    fields.update(kw)
    return ExecutionReport(**fields)


def test_fill_then_close_updates_order_and_daily_loss(table):
    put_order(table)
    assert (
        apply_execution_report(report("filled", price=1950.0, volume=0.2, ticket=7), account_user_id="usr_a")
        == "applied"
    )
    closed = report("closed", price=1945.0, volume=0.2, profit=-100.0, commission=-1.0, close_reason="sl")
    assert apply_execution_report(closed, account_user_id="usr_a") == "applied"
    order = get_order("usr_a", "ord_1", table=table)
    assert order["state"] == "closed"
    assert order["entry_price"] == 1950.0
    assert order["pips"] == -50.0
    assert order["net_profit"] == -101.0
    assert order["version"] == 3
    assert [t["state"] for t in order["transitions"]] == ["filled", "closed"]
    day = counters.read_counters(table, "usr_a", "acc_a", EXECUTED)
    assert day["realised_net"] == -101.0
    assert day["realised_loss"] == 101.0


def test_duplicate_report_changes_nothing(table):
    put_order(table)
    closed_flow = [
        report("filled", price=1950.0, volume=0.2),
        report("closed", price=1960.0, volume=0.2, profit=200.0),
    ]
    for r in closed_flow:
        assert apply_execution_report(r, account_user_id="usr_a") == "applied"
    before = get_order("usr_a", "ord_1", table=table)
    counters_before = counters.read_counters(table, "usr_a", "acc_a", EXECUTED)
    for r in closed_flow:
        assert apply_execution_report(r, account_user_id="usr_a") == "duplicate"
    assert get_order("usr_a", "ord_1", table=table) == before
    assert counters.read_counters(table, "usr_a", "acc_a", EXECUTED) == counters_before
    assert counters_before["realised_net"] == 200.0


def test_report_for_another_account_or_user_is_rejected_and_changes_nothing(table):
    put_order(table)
    put_order(table, user="usr_b", account="acc_b", order_id="ord_b")
    # The token of account B names its own account, but targets A's order id.
    outcome = apply_report(
        report("filled", order_id="ord_1", account="acc_b", price=1.0), account_user_id="usr_b"
    )
    assert outcome.status == "rejected"
    # The right user, but an order of another account of theirs would also be refused.
    outcome = apply_report(
        report("filled", order_id="ord_1", account="acc_x", price=1.0), account_user_id="usr_a"
    )
    assert outcome.status == "rejected"
    assert get_order("usr_a", "ord_1", table=table)["state"] == "sent"
    assert table.get("USER#usr_b", "REPORT#acc_b#ord_1:filled") is None


def test_illegal_transition_is_rejected_without_a_marker(table):
    put_order(table, state="closed")
    outcome = apply_report(report("filled", price=1.0), account_user_id="usr_a")
    assert outcome.status == "rejected"
    assert "cannot become" in outcome.error
    assert table.get("USER#usr_a", "REPORT#acc_a#ord_1:filled") is None
    assert get_order("usr_a", "ord_1", table=table)["state"] == "closed"


def test_stale_version_is_retried_not_lost(table, monkeypatch):
    """Another invocation updates the order between our read and our write: we re-plan."""
    put_order(table)
    from signalos.trading import orders as orders_mod

    real_get = orders_mod.get_order
    calls = {"n": 0}

    def racing_get(user_id, order_id, *, table=None):
        item = real_get(user_id, order_id, table=table)
        calls["n"] += 1
        if calls["n"] == 1:  # someone else applies a modify right after our read
            tbl = table or orders_mod.trading_table()
            tbl.update(f"USER#{user_id}", f"ORDER#{order_id}", set_values={"version": 2, "stop_loss": 1940.0})
        return item

    monkeypatch.setattr(orders_mod, "get_order", racing_get)
    assert apply_execution_report(report("filled", price=1950.0), account_user_id="usr_a") == "applied"
    order = real_get("usr_a", "ord_1", table=table)
    assert order["state"] == "filled"
    assert order["stop_loss"] == 1940.0
    assert order["version"] == 3
    assert calls["n"] == 2
