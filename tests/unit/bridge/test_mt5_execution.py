"""Opening orders on MT5 through the executor: the retcode policy and the never-twice rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from bridge_fixtures import ACCOUNT_ID, open_order
from MetaTrader5 import _core
from signalos.contracts.orders import SIGNALOS_MAGIC, order_tag

from bridge_agent.api_client import ReportResult
from bridge_agent.brokers.mt5 import ALGO_OFF_MESSAGE, Mt5Broker
from bridge_agent.config import Mt5Settings
from bridge_agent.executor import Executor
from bridge_agent.journal import Journal


def test_market_order_fills_with_magic_tag_and_allowed_filling(executor, terminal, mt5):
    order = open_order()
    (report,) = executor.handle(order)

    assert report.status == "filled"
    assert report.report_id == f"{order.command_id}:filled"
    assert report.broker_symbol == "XAUUSDm"
    assert report.price == 1950.20  # the ask
    assert (report.volume, report.stop_loss, report.take_profit) == (0.10, 1940.0, 1960.0)
    (request,) = terminal.requests
    assert request["action"] == mt5.TRADE_ACTION_DEAL
    assert request["type"] == mt5.ORDER_TYPE_BUY
    assert request["magic"] == SIGNALOS_MAGIC
    assert request["comment"] == order_tag(order.order_id)
    assert request["type_filling"] == mt5.ORDER_FILLING_FOK  # XAUUSDm allows FOK only (mask 1)
    (position,) = mt5.positions_get(symbol="XAUUSDm")
    assert position.ticket == report.ticket
    assert position.comment == order_tag(order.order_id)


def test_requote_is_retried_with_a_fresh_price_then_fills(executor, terminal):
    def requote_after_a_move(request):
        terminal.set_price("XAUUSDm", 1950.40)  # the market moved while the request was in flight
        return 10004

    terminal.script_order_send(requote_after_a_move)
    (report,) = executor.handle(open_order(max_price_distance=1.0))

    assert report.status == "filled"
    assert [r["price"] for r in terminal.requests] == [1950.20, 1950.60]
    assert report.price == 1950.60
    assert len(terminal.positions) == 1


def test_requotes_are_bounded(executor, terminal, broker):
    terminal.script_order_send(10004, 10004, 10004, 10004, 10004)
    (report,) = executor.handle(open_order())

    assert report.status == "failed"
    assert report.retcode == 10004
    assert len(terminal.requests) == broker.settings.max_requotes + 1
    assert not terminal.positions


def test_requote_beyond_the_price_distance_is_rejected_not_chased(executor, terminal):
    def big_move(request):
        terminal.set_price("XAUUSDm", 1956.00)
        return 10020

    terminal.script_order_send(big_move)
    (report,) = executor.handle(open_order(max_price_distance=2.0))

    assert report.status == "rejected"
    assert "price moved" in report.reason
    assert len(terminal.requests) == 1


def test_invalid_stops_from_the_server_is_reported_and_never_retried(executor, terminal):
    terminal.script_order_send(10016)
    (report,) = executor.handle(open_order())

    assert report.status == "rejected"
    assert report.retcode == 10016
    assert "INVALID_STOPS" in report.reason
    assert len(terminal.requests) == 1


@pytest.mark.parametrize("retcode", [10014, 10016, 10017, 10018, 10019, 10030])
def test_never_retry_retcodes_are_sent_once(executor, terminal, retcode):
    terminal.script_order_send(retcode)
    (report,) = executor.handle(open_order())
    assert (report.status, report.retcode, len(terminal.requests)) == ("rejected", retcode, 1)


def test_stops_inside_the_stops_level_are_rejected_before_sending(executor, terminal):
    terminal.symbols["XAUUSDm"].trade_stops_level = 500  # 5.00 minimum distance
    (report,) = executor.handle(open_order(stop_loss=1946.0))

    assert report.status == "rejected"
    assert report.retcode == 10016
    assert "stops level 500" in report.reason
    assert terminal.requests == []


def test_market_closed_is_reported_once(executor, terminal):
    terminal.symbols["XAUUSDm"].session_open = False
    (report,) = executor.handle(open_order())

    assert report.status == "rejected"
    assert report.retcode == 10018
    assert "MARKET_CLOSED" in report.reason
    assert len(terminal.requests) == 1


def test_none_result_with_the_order_placed_is_found_by_tag_and_not_resent(executor, terminal, mt5):
    terminal.script_order_send("none_placed")
    (report,) = executor.handle(open_order())

    assert report.status == "filled"
    assert len(terminal.requests) == 1  # looked up, not resent
    assert len(mt5.positions_get()) == 1
    assert report.ticket == mt5.positions_get()[0].ticket


def test_none_result_with_nothing_placed_is_resent_after_the_lookup(executor, terminal, mt5):
    terminal.script_order_send("none")
    (report,) = executor.handle(open_order())

    assert report.status == "filled"
    assert len(terminal.requests) == 2
    assert len(mt5.positions_get()) == 1
    # The lookup happened between the two sends.
    sends = [i for i, c in enumerate(terminal.calls) if c == "order_send"]
    assert "positions_get" in terminal.calls[sends[0] : sends[1]]


def test_timeout_with_the_order_placed_is_found_not_resent(executor, terminal, mt5):
    terminal.script_order_send("timeout_placed")
    (report,) = executor.handle(open_order())

    assert report.status == "filled"
    assert len(terminal.requests) == 1
    assert len(mt5.positions_get()) == 1


def test_unknown_twice_reports_failed_and_the_redelivery_does_not_send(executor, terminal, journal):
    terminal.script_order_send("none", "none")
    order = open_order()
    (report,) = executor.handle(order)

    assert report.status == "failed"
    assert "outcome unknown" in report.reason
    assert journal.command(order.command_id).state == "unknown"
    assert executor.handle(order) == [report]
    assert len(terminal.requests) == 2


def test_comment_cut_by_the_broker_still_matches(executor, terminal, mt5):
    terminal.comment_limit = 16  # this broker keeps 16 characters of a comment
    terminal.script_order_send("none_placed")
    (report,) = executor.handle(open_order())

    assert report.status == "filled"
    assert len(terminal.requests) == 1


def test_agent_killed_between_send_and_report_restarts_with_the_order_present_once(
    broker, terminal, tmp_path, mt5
):
    order = open_order()
    journal = Journal(tmp_path / "j.db")
    terminal.script_order_send("kill_after_send")
    with pytest.raises(_core.AgentKilled):
        Executor(broker, journal, ACCOUNT_ID).handle(order)
    assert journal.command(order.command_id).state == "sending"  # the intent survived, the result did not
    journal.close()

    # A new process: new journal connection, new broker connection, same terminal.
    restarted_broker = Mt5Broker(
        mt5, settings=Mt5Settings(lookup_attempts=1), suffix="m", sleep=lambda s: None
    )
    restarted_broker.connect()
    journal = Journal(tmp_path / "j.db")
    executor = Executor(restarted_broker, journal, ACCOUNT_ID)
    (reconciled,) = executor.reconcile()
    assert reconciled.status == "filled"
    # The queue redelivers the message (it was never deleted): answered from the journal.
    assert executor.handle(order) == [reconciled]
    assert len(terminal.requests) == 1
    assert len(mt5.positions_get()) == 1
    journal.close()


def test_redelivered_message_executes_once_and_gets_the_same_report(executor, terminal, mt5):
    order = open_order()
    first = executor.handle(order, order.model_dump_json())
    second = executor.handle(order, order.model_dump_json())

    assert first == second
    assert len(terminal.requests) == 1
    assert len(mt5.positions_get()) == 1


def test_intent_is_durable_before_order_send(executor, terminal, journal):
    order = open_order()
    seen = []

    def inspect(request):
        # Another connection, as a restarted process would see the file.
        other = Journal(journal.path)
        seen.append(other.command(order.command_id).state)
        other.close()
        return "done"

    terminal.script_order_send(inspect)
    executor.handle(order)
    assert seen == ["sending"]
    assert journal.command(order.command_id).state == "done"


def test_expired_order_is_dropped_and_reported(executor, terminal):
    past = datetime.now(UTC) - timedelta(minutes=10)
    order = open_order(now=past)
    (report,) = executor.handle(order)

    assert report.status == "expired"
    assert report.report_id == f"{order.command_id}:expired"
    assert terminal.requests == []


def test_command_for_another_account_is_rejected_not_executed(executor, terminal):
    (report,) = executor.handle(open_order(account_id="acc_someone_else"))
    assert report.status == "rejected"
    assert "acc_someone_else" in report.reason
    assert terminal.requests == []


def test_algo_trading_off_tells_the_user(executor, terminal):
    terminal.algo_trading = False
    (report,) = executor.handle(open_order())

    assert report.status == "rejected"
    assert report.retcode == 10027
    assert report.reason == ALGO_OFF_MESSAGE
    assert terminal.requests == []


def test_volume_is_rounded_down_to_the_step(executor, terminal):
    (report,) = executor.handle(open_order(volume=0.157))
    assert report.volume == 0.15
    assert terminal.requests[0]["volume"] == 0.15


def test_volume_below_the_minimum_is_rejected_not_rounded_up(executor, terminal):
    (report,) = executor.handle(open_order(volume=0.004))
    assert report.status == "rejected"
    assert report.retcode == 10014
    assert terminal.requests == []


def test_volume_above_the_maximum_is_capped(executor, terminal):
    terminal.balance = 10_000_000
    terminal.symbols["XAUUSDm"].volume_max = 5.0
    (report,) = executor.handle(open_order(volume=7.3))
    assert report.volume == 5.0


def test_prices_are_rounded_to_digits(executor, terminal):
    (report,) = executor.handle(open_order(stop_loss=1940.004, take_profit=1960.006))
    assert terminal.requests[0]["sl"] == 1940.0
    assert terminal.requests[0]["tp"] == 1960.01
    assert report.take_profit == 1960.01


def test_spread_above_the_maximum_is_rejected(executor, terminal):
    terminal.set_price("XAUUSDm", 1950.0, 1951.0)  # 100 points
    (report,) = executor.handle(open_order(max_spread_points=50))
    assert report.status == "rejected"
    assert "spread 100 points" in report.reason
    assert terminal.requests == []


def test_price_distance_is_checked_before_sending(executor, terminal):
    (report,) = executor.handle(open_order(price=1940.0, max_price_distance=1.0))
    assert report.status == "rejected"
    assert "price moved" in report.reason
    assert terminal.requests == []


@pytest.mark.parametrize(("mask", "expected"), [(1, "FOK"), (2, "IOC"), (3, "FOK"), (0, "RETURN")])
def test_filling_mode_is_chosen_from_the_symbols_mask(executor, terminal, mt5, mask, expected):
    terminal.symbols["XAUUSDm"].filling_mode = mask
    (report,) = executor.handle(open_order())
    assert report.status == "filled"
    assert terminal.requests[0]["type_filling"] == getattr(mt5, f"ORDER_FILLING_{expected}")


def test_the_double_refuses_a_filling_mode_the_symbol_does_not_allow(mt5, terminal):
    assert mt5.order_send({"action": mt5.TRADE_ACTION_DEAL}) is None  # not initialized yet
    assert mt5.last_error()[0] == mt5.RES_E_INTERNAL_FAIL_CONNECT
    assert mt5.initialize()
    mt5.symbol_select("XAUUSDm", True)
    request = {
        "action": mt5.TRADE_ACTION_DEAL,
        "symbol": "XAUUSDm",
        "volume": 0.1,
        "type": mt5.ORDER_TYPE_BUY,
        "price": 1950.2,
        "type_filling": mt5.ORDER_FILLING_IOC,
    }
    assert mt5.order_send(request).retcode == mt5.TRADE_RETCODE_INVALID_FILL


def test_pending_limit_order_is_placed_with_the_pending_action(executor, terminal, mt5):
    (report,) = executor.handle(open_order(order_type="limit", price=1948.0, stop_loss=1940.0))
    assert report.status == "placed"
    assert report.report_id.endswith(":placed")
    assert terminal.requests[0]["action"] == mt5.TRADE_ACTION_PENDING == 5
    assert terminal.requests[0]["type"] == mt5.ORDER_TYPE_BUY_LIMIT
    (pending,) = mt5.orders_get()
    assert pending.ticket == report.ticket


def test_limit_on_the_wrong_side_of_the_market_is_rejected(executor, terminal):
    (report,) = executor.handle(open_order(order_type="limit", price=1952.0))
    assert report.status == "rejected"
    assert "wrong side" in report.reason
    assert terminal.requests == []


def test_busy_server_is_waited_for_and_retried(executor, terminal, sleeps):
    terminal.script_order_send(10024, 10031)
    (report,) = executor.handle(open_order())
    assert report.status == "filled"
    assert len(terminal.requests) == 3
    assert len(sleeps) == 2 and sleeps[1] > sleeps[0]


def test_redelivered_message_unknown_to_this_journal_is_looked_up_before_sending(
    broker, terminal, tmp_path, mt5
):
    order = open_order()
    first = Journal(tmp_path / "a.db")
    Executor(broker, first, ACCOUNT_ID).handle(order)  # another agent (or a lost journal) sent it
    other = Journal(tmp_path / "b.db")
    (report,) = Executor(broker, other, ACCOUNT_ID).handle(order, redelivered=True)
    assert report.status == "filled"
    assert len(terminal.requests) == 1
    assert len(mt5.positions_get()) == 1
    first.close()
    other.close()


def test_a_second_agent_on_the_same_journal_refuses_to_start(tmp_path):
    from bridge_agent.single_instance import AlreadyRunning, InstanceLock

    first = InstanceLock(tmp_path / "journal.db.lock").acquire()
    with pytest.raises(AlreadyRunning, match="already running"):
        InstanceLock(tmp_path / "journal.db.lock").acquire()
    first.release()
    InstanceLock(tmp_path / "journal.db.lock").acquire().release()  # free again once the first ends


def test_prune_keeps_everything_that_still_matters(executor, journal, terminal):
    done, live = open_order(), open_order()
    executor.handle(done)
    executor.handle(live)
    pending_report = journal.pending_reports()
    journal.mark_reports([ReportResult(report_id=done.command_id + ":filled", status="applied")])
    journal.update_order(done.order_id, state="closed")
    with journal.transaction() as tx:  # make everything look old
        for table, column in (
            ("reports", "created_at"),
            ("orders", "updated_at"),
            ("commands", "updated_at"),
        ):
            tx.execute(f"UPDATE {table} SET {column} = '2000-01-01T00:00:00+00:00'")
    journal.prune(older_than_days=30)
    assert journal.order(done.order_id) is None
    assert journal.order(live.order_id) is not None  # still open
    assert journal.report_status(live.command_id + ":filled") == "pending"  # not delivered yet
    assert journal.command(live.command_id) is not None
    assert len(pending_report) == 2
