"""ManageCommands on positions the agent opened: modify, breakeven, partial/full close, cancel."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from bridge_fixtures import manage, open_order
from MetaTrader5 import _core
from signalos.contracts.orders import order_tag

from bridge_agent.brokers.base import BrokerUnavailable


@pytest.fixture
def filled(executor):
    order = open_order(volume=0.20)
    (report,) = executor.handle(order)
    assert report.status == "filled"
    return order, report


def test_modify_changes_sl_and_tp_with_the_sltp_action(executor, filled, terminal, mt5):
    order, fill = filled
    (report,) = executor.handle(manage("modify", [order.order_id], stop_loss=1945.0, take_profit=1970.0))
    assert (report.status, report.stop_loss, report.take_profit) == ("modified", 1945.0, 1970.0)
    assert terminal.requests[-1]["action"] == mt5.TRADE_ACTION_SLTP == 6
    assert terminal.requests[-1]["position"] == fill.ticket
    (pos,) = mt5.positions_get()
    assert (pos.sl, pos.tp) == (1945.0, 1970.0)


def test_modify_with_invalid_stops_is_rejected(executor, filled, terminal):
    order, _ = filled
    (report,) = executor.handle(manage("modify", [order.order_id], stop_loss=1951.0))
    assert report.status == "rejected" and report.retcode == 10016


def test_close_partial_closes_the_fraction_once_even_when_redelivered(executor, filled, mt5):
    order, _fill = filled
    command = manage("close_partial", [order.order_id], fraction=0.5)
    (report,) = executor.handle(command)
    assert (report.status, report.volume) == ("partially_closed", 0.10)
    assert executor.handle(command) == [report]
    assert mt5.positions_get()[0].volume == 0.10


def test_close_partial_interrupted_after_the_close_is_not_repeated(executor, filled, terminal, mt5, journal):
    order, _ = filled
    command = manage("close_partial", [order.order_id], fraction=0.5)
    terminal.script_order_send("kill_after_send")
    with pytest.raises(_core.AgentKilled):
        executor.handle(command)
    assert journal.action_state(command.command_id, order.order_id) == "sending"
    (report,) = executor.handle(command)  # redelivered after the restart
    assert report.status == "partially_closed"
    assert mt5.positions_get()[0].volume == 0.10  # closed once, not twice


def test_full_close_reports_closed_with_the_command_as_reason(executor, filled, terminal, monitor, mt5):
    order, _ = filled
    terminal.set_price("XAUUSDm", 1953.00)
    command = manage("close", [order.order_id])
    (report,) = executor.handle(command)
    assert (report.status, report.close_reason, report.report_id) == (
        "closed",
        "command",
        f"{order.order_id}:closed",
    )
    assert report.profit == round((1953.00 - 1950.20) * 100 * 0.2, 2)
    assert mt5.positions_get() == ()
    assert terminal.requests[-1]["comment"] == order_tag(command.command_id)
    assert monitor.poll() == []  # the monitor does not report the same close again


def test_breakeven_command_moves_sl_to_entry(executor, filled, terminal, mt5):
    order, fill = filled
    terminal.set_price("XAUUSDm", 1953.00)
    (report,) = executor.handle(manage("breakeven", [order.order_id]))
    assert (report.status, report.stop_loss) == ("modified", fill.price)
    assert mt5.positions_get()[0].sl == fill.price


def test_cancel_removes_a_pending_order(executor, mt5, terminal):
    order = open_order(order_type="limit", price=1945.0, stop_loss=1935.0)
    executor.handle(order)
    (report,) = executor.handle(manage("cancel", [order.order_id]))
    assert (report.status, report.report_id) == ("cancelled", f"{order.order_id}:cancelled")
    assert terminal.requests[-1]["action"] == mt5.TRADE_ACTION_REMOVE == 8
    assert mt5.orders_get() == ()


def test_close_of_a_pending_order_cancels_it(executor, mt5):
    order = open_order(order_type="stop", price=1955.0, stop_loss=1945.0)
    executor.handle(order)
    (report,) = executor.handle(manage("close", [order.order_id]))
    assert report.status == "cancelled"
    assert mt5.orders_get() == ()


def test_command_on_an_unknown_order_is_rejected(executor):
    (report,) = executor.handle(manage("close", ["ord_never_seen"]))
    assert report.status == "rejected"
    assert "no such order" in report.reason


def test_command_on_a_closed_position_is_rejected(executor, filled, terminal, monitor):
    order, _ = filled
    terminal.set_price("XAUUSDm", 1939.0)
    monitor.poll()
    (report,) = executor.handle(manage("close", [order.order_id]))
    assert report.status == "rejected" and "already closed" in report.reason


def test_expired_manage_command_is_reported_per_target(executor, filled, mt5):
    order, _ = filled
    past = datetime.now(UTC) - timedelta(hours=1)
    (report,) = executor.handle(manage("close", [order.order_id], now=past))
    assert report.status == "expired"
    assert len(mt5.positions_get()) == 1


def test_terminal_restart_is_survived_without_a_duplicate(executor, broker, terminal, journal, mt5):
    order = open_order()
    terminal.crash()
    with pytest.raises(BrokerUnavailable):
        executor.handle(order)
    terminal.start()
    broker.connect()
    assert executor.reconcile() == []  # nothing was sent
    (report,) = executor.handle(order)
    assert report.status == "filled"
    assert len(mt5.positions_get()) == 1
