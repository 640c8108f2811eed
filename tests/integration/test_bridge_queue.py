"""The agent's run loop against a real FIFO queue (moto) and a real HTTP bridge API server on 127.0.0.1.

What is checked: messages are consumed in order and executed once; a message is deleted only
after the API accepted its report; while the API is down the message stays and, redelivered,
is answered from the journal (no second order); STS credentials are renewed before expiry;
heartbeats carry balance, positions and symbol specs; malformed bodies never execute.
"""

from __future__ import annotations

import contextlib
import itertools
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

DOUBLES = str(Path(__file__).resolve().parents[1] / "doubles")
if DOUBLES not in sys.path:
    sys.path.insert(0, DOUBLES)

import MetaTrader5  # noqa: E402  (the test double)
from bridge_api_server import FakeBridgeApi  # noqa: E402
from bridge_fixtures import ACCOUNT_ID, open_order  # noqa: E402
from MetaTrader5 import _core  # noqa: E402

from bridge_agent.api_client import BridgeApiClient  # noqa: E402
from bridge_agent.brokers.mt5 import Mt5Broker  # noqa: E402
from bridge_agent.config import BridgeConfig, Mt5Settings  # noqa: E402
from bridge_agent.journal import Journal  # noqa: E402
from bridge_agent.queue import OrderQueue  # noqa: E402
from bridge_agent.runner import Runner  # noqa: E402

REGION = "us-east-1"
_queues = itertools.count(1)


class RecordingQueue(OrderQueue):
    """The real queue client, remembering receipt handles so a test can end their visibility early."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.receipts: list[str] = []

    def receive(self, *args, **kwargs):
        messages = super().receive(*args, **kwargs)
        self.receipts += [m.receipt_handle for m in messages]
        return messages


class Stack:
    def __init__(self, tmp_path: Path, ttl: timedelta = timedelta(minutes=15)) -> None:
        self.sqs = boto3.client("sqs", region_name=REGION)
        self.queue_url = self.sqs.create_queue(
            QueueName=f"signalos-test-orders-{ACCOUNT_ID}-{next(_queues)}.fifo",
            Attributes={"FifoQueue": "true", "VisibilityTimeout": "30"},
        )["QueueUrl"]
        self.api = FakeBridgeApi(account_id=ACCOUNT_ID, queue_url=self.queue_url, credential_ttl=ttl)
        self.api.start()
        self.terminal = _core.reset()
        self.terminal.add_gold("XAUUSDm", bid=1950.00)
        self.tmp_path = tmp_path
        self.runner = self.new_runner()

    def new_runner(self) -> Runner:
        config = BridgeConfig(
            api_url=self.api.url,
            account_id=ACCOUNT_ID,
            broker="mt5",
            symbols=["XAUUSD"],
            symbol_suffix="m",
            poll_wait_seconds=0,
            visibility_seconds=30,
            monitor_seconds=0.05,
            journal_path=str(self.tmp_path / "journal.db"),
        )
        client = BridgeApiClient(self.api.url, self.api.token, retries=1, backoff_seconds=0.01)
        broker = Mt5Broker(
            MetaTrader5, settings=Mt5Settings(lookup_attempts=1), suffix="m", sleep=lambda s: None
        )
        self.queue = RecordingQueue(client.session)
        runner = Runner(config, client, broker, Journal(config.journal_path), self.queue)
        runner.backoff.cap = 0.01  # tests must not sleep through backoffs
        runner.backoff.base = 0.001
        return runner

    def send(self, command) -> None:
        self.sqs.send_message(
            QueueUrl=self.queue_url,
            MessageBody=command.model_dump_json(),
            MessageGroupId=ACCOUNT_ID,
            MessageDeduplicationId=command.command_id,
        )

    def send_raw(self, body: str, dedup: str) -> None:
        self.sqs.send_message(
            QueueUrl=self.queue_url, MessageBody=body, MessageGroupId=ACCOUNT_ID, MessageDeduplicationId=dedup
        )

    def in_queue(self) -> tuple[int, int]:
        attrs = self.sqs.get_queue_attributes(
            QueueUrl=self.queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attrs["ApproximateNumberOfMessages"]), int(attrs["ApproximateNumberOfMessagesNotVisible"])

    def make_visible_again(self) -> None:
        """What the visibility timeout does after 30 s, without waiting for it."""
        for receipt in self.queue.receipts:
            with contextlib.suppress(self.sqs.exceptions.ClientError):  # already deleted
                self.sqs.change_message_visibility(
                    QueueUrl=self.queue_url, ReceiptHandle=receipt, VisibilityTimeout=0
                )

    def close(self) -> None:
        self.api.stop()
        self.runner.journal.close()


@pytest.fixture(scope="module")
def embedded_aws():
    """One in-process moto for the module (each test gets its own queue)."""
    with mock_aws():
        yield


@pytest.fixture
def stack(embedded_aws, tmp_path):
    s = Stack(tmp_path)
    yield s
    s.close()


def test_orders_are_consumed_in_order_executed_reported_and_deleted(stack):
    first, second = open_order(), open_order(side="sell", price=1950.0, stop_loss=1960.0, take_profit=1940.0)
    stack.send(first)
    stack.send(second)

    stack.runner.step()

    assert stack.runner.processed == 2
    assert stack.api.statuses() == {
        f"{first.command_id}:filled": "filled",
        f"{second.command_id}:filled": "filled",
    }
    sides = [r["type"] for r in stack.terminal.requests]
    assert sides == [MetaTrader5.ORDER_TYPE_BUY, MetaTrader5.ORDER_TYPE_SELL]  # FIFO order kept
    assert stack.in_queue() == (0, 0)  # deleted after the API applied the reports


def test_message_is_kept_while_the_api_is_down_and_never_executed_twice(stack):
    order = open_order()
    stack.send(order)
    stack.api.fail_paths["/api/v1/bridge/reports"] = [503] * 2  # both tries of this step fail

    stack.runner.step()
    assert len(stack.terminal.requests) == 1  # executed...
    assert stack.api.applied == {}  # ...but the report did not get through
    assert stack.in_queue() == (0, 1)  # so the message was not deleted
    assert stack.runner.journal.pending_reports()[0].report_id == f"{order.command_id}:filled"

    stack.make_visible_again()  # visibility timeout: SQS hands it out again
    stack.runner.step()

    assert len(stack.terminal.requests) == 1  # answered from the journal, not sent again
    assert len(stack.terminal.positions) == 1
    assert stack.api.statuses() == {f"{order.command_id}:filled": "filled"}
    assert stack.in_queue() == (0, 0)


def test_a_report_the_api_rejects_keeps_the_message_for_the_dead_letter_queue(stack):
    order = open_order()
    stack.api.reject_reports.add(f"{order.command_id}:filled")
    stack.send(order)
    stack.runner.step()
    assert stack.in_queue() == (0, 1)
    assert stack.runner.journal.report_status(f"{order.command_id}:filled") == "rejected"


def test_heartbeat_on_start_carries_account_positions_and_specs(stack):
    order = open_order()
    stack.send(order)
    stack.runner.step()
    stack.runner.heartbeat()

    first, last = stack.api.heartbeats[0], stack.api.heartbeats[-1]
    assert first["account_id"] == ACCOUNT_ID and first["broker"] == "mt5"
    assert first["balance"] == 10_000.0 and first["login"] == stack.terminal.login
    (spec,) = first["symbols"]
    assert (spec["symbol"], spec["broker_symbol"], spec["digits"], spec["trade_contract_size"]) == (
        "XAUUSD",
        "XAUUSDm",
        2,
        100.0,
    )
    (position,) = last["positions"]
    assert position["order_id"] == order.order_id and position["symbol"] == "XAUUSDm"
    assert stack.runner.journal.get_meta("last_heartbeat")["clock_skew_seconds"] is not None


@pytest.mark.parametrize(("ttl_minutes", "renewals"), [(4, 3), (30, 1)])
def test_credentials_are_renewed_before_they_expire(embedded_aws, tmp_path, ttl_minutes, renewals):
    # 4 minutes is inside the 5-minute renewal margin: every use renews; 30 minutes: one session.
    s = Stack(tmp_path, ttl=timedelta(minutes=ttl_minutes))
    try:
        for _ in range(3):
            s.runner.step()
        assert s.queue.renewals == renewals
        assert s.api.sessions == renewals
    finally:
        s.close()


def test_malformed_command_naming_itself_is_rejected_and_deleted(stack):
    stack.send_raw(
        '{"type": "open", "command_id": "cmd_bad", "order_id": "ord_bad", "volume": -1}', "cmd_bad"
    )
    stack.runner.step()
    assert stack.api.statuses() == {"cmd_bad:ord_bad:rejected": "rejected"}
    assert stack.terminal.requests == []
    assert stack.in_queue() == (0, 0)


def test_unreadable_message_is_left_for_the_dead_letter_queue(stack):
    stack.send_raw("this is not json", "junk-1")
    stack.runner.step()
    assert stack.terminal.requests == []
    assert stack.in_queue() == (0, 1)


def test_terminal_restart_mid_run_reconnects_and_reconciles_before_acting(stack):
    stack.runner.step()  # connected
    order = open_order()
    stack.terminal.script_order_send("kill_after_send")  # the order reaches the server, then the link dies
    stack.send(order)
    with pytest.raises(_core.AgentKilled):
        stack.runner.step()
    # The agent process restarts: a new runner over the same journal file and the same terminal.
    stack.runner.journal.close()
    stack.make_visible_again()  # the dead agent's message times out
    stack.runner = stack.new_runner()
    stack.runner.step()
    assert len(stack.terminal.requests) == 1
    assert len(stack.terminal.positions) == 1
    assert stack.api.statuses() == {f"{order.command_id}:filled": "filled"}
    assert stack.in_queue() == (0, 0)


def test_threaded_run_long_polls_and_stops_cleanly(stack):
    stack.runner.config.poll_wait_seconds = 1
    thread = threading.Thread(target=stack.runner.run, daemon=True)
    thread.start()
    order = open_order()
    stack.send(order)
    deadline = time.monotonic() + 10
    while f"{order.command_id}:filled" not in stack.api.applied and time.monotonic() < deadline:
        time.sleep(0.05)
    stack.runner.stop()
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert f"{order.command_id}:filled" in stack.api.applied
    assert stack.in_queue() == (0, 0)
