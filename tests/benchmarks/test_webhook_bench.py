"""Webhook benchmarks (run with `make bench`; figures are printed, nothing is asserted on time).

1. Webhook handler time with 1, 100 and 1,000 subscribers to one provider: the Telegram
   function invoked in-process on moto (call_api), a parsed text signal each time. Past
   FANOUT_INLINE_MAX (25) subscriptions the webhook hands the rest to the fan-out worker; the
   worker's time to reach every subscriber (the template's SQS trigger, drained here) is
   printed beside it, for the first post.
2. Webhook -> order enqueued latency, p50/p95 over 200 posts with one subscriber: measured by
   the client (post sent -> the order is receivable on the account's FIFO queue) and by the
   record (the order item's `enqueued_at` - `received_at`). Once in-process, once on the local
   stack (`python -m infra.local` as a subprocess: HTTP front, moto server, the order read back
   through the account's bridge session, as a bridge would).

Each handler figure is split into time spent inside AWS API calls (here: moto, in-process) and
the rest (SignalOS's own code, Powertools, pydantic), with the number of AWS calls. Read the "own
code" and "AWS calls" columns for what the deployed function does (each call a few ms in-region).

moto's TransactWriteItems deep-copies every table it touches, once per operation, as its undo
log, so a transaction costs O(table size): with 1,000 accounts and subscriptions in the table
that alone is seconds per order write, and the figures would measure moto. For these benchmarks
its transactions run as check-then-apply (every condition checked first, then the writes; a
failed condition writes nothing), which is DynamoDB's all-or-nothing behaviour without the copy.
WEBHOOK_BENCH_STOCK_MOTO=1 keeps moto's own implementation.
"""

from __future__ import annotations

import os
import statistics
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from signalos.common.clock import iso, parse_iso, utc_now

# Setting up 1,000 accounts (2,000 queues) and fanning out to them on moto takes minutes.
pytestmark = pytest.mark.timeout(3600)

CHAT_ID = -1001555000111
HOOK = "/api/v1/telegram/webhook"
POSTS_PER_SIZE = 5
LATENCY_POSTS = int(os.environ.get("WEBHOOK_BENCH_POSTS", "200"))


class AwsTimer:
    """Time and count every botocore API call made while `active`."""

    def __init__(self) -> None:
        self.active = False
        self.seconds = 0.0
        self.calls = 0

    @contextmanager
    def measure(self):
        self.active, self.seconds, self.calls = True, 0.0, 0
        try:
            yield self
        finally:
            self.active = False


@pytest.fixture
def aws_timer(monkeypatch):
    from botocore.client import BaseClient

    timer = AwsTimer()
    real = BaseClient._make_api_call

    def timed(self, operation_name, api_params):
        if not timer.active:
            return real(self, operation_name, api_params)
        started = time.perf_counter()
        try:
            return real(self, operation_name, api_params)
        finally:
            timer.seconds += time.perf_counter() - started
            timer.calls += 1

    monkeypatch.setattr(BaseClient, "_make_api_call", timed)
    return timer


def _transaction_key(table, op_type: str, op: dict) -> dict:
    if op_type != "Put":
        return op["Key"]
    key = {table.hash_key_attr: op["Item"][table.hash_key_attr]}
    if table.range_key_attr is not None:
        key[table.range_key_attr] = op["Item"][table.range_key_attr]
    return key


def check_then_apply(self, transact_items: list[dict]) -> None:
    """TransactWriteItems for moto without its per-operation table copy (see the module docstring)."""
    from moto.dynamodb.comparisons import get_filter_expression
    from moto.dynamodb.exceptions import TransactionCanceledException

    reasons, failed = [], False
    for entry in transact_items:
        op_type, op = next(iter(entry.items()))
        condition = op.get("ConditionExpression")
        key = _transaction_key(self.get_table(op["TableName"]), op_type, op)
        ok = condition is None or get_filter_expression(
            condition, op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
        ).expr(self.get_item(op["TableName"], key))
        failed |= not ok
        reasons.append(
            (None, None, None) if ok else ("ConditionalCheckFailed", "The conditional request failed", None)
        )
    if failed:
        raise TransactionCanceledException(reasons)
    for entry in transact_items:
        op_type, op = next(iter(entry.items()))
        names, values = op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
        if op_type == "Put":
            self.put_item(
                op["TableName"],
                op["Item"],
                expression_attribute_names=names,
                expression_attribute_values=values,
            )
        elif op_type == "Delete":
            self.delete_item(
                op["TableName"],
                op["Key"],
                expression_attribute_names=names,
                expression_attribute_values=values,
            )
        elif op_type == "Update":
            self.update_item(
                op["TableName"],
                op["Key"],
                update_expression=op["UpdateExpression"],
                expression_attribute_names=names,
                expression_attribute_values=values,
            )


@pytest.fixture(autouse=True)
def moto_transactions_without_table_copies(monkeypatch):
    if os.environ.get("WEBHOOK_BENCH_STOCK_MOTO") != "1":
        from moto.dynamodb.models import DynamoDBBackend

        monkeypatch.setattr(DynamoDBBackend, "transact_write_items", check_then_apply)


def signals_service(monkeypatch) -> str:
    """The webhook stores and parses through the real signals service (the rules parser)."""
    return "signalos.signals.service (rules parser)"


def make_provider(owner: str) -> str:
    from signalos.common.dynamo import Table
    from signalos.telegram import data

    pid, now = f"prv_bench_{owner}", iso(utc_now())
    Table.from_env("SIGNALS_TABLE").put(
        {
            "pk": f"USER#{owner}",
            "sk": f"PROVIDER#{pid}",
            "type": "provider",
            "provider_id": pid,
            "user_id": owner,
            "name": "bench",
            "visibility": "public",
            "rules": {},
            "created_at": now,
            "updated_at": now,
            "version": 1,
        }
    )
    code, _ = data.create_code(owner, pid, None, utc_now())
    assert data.consume_code(code, CHAT_ID, "bench", utc_now()).ok
    return pid


def make_subscribers(pid: str, n: int) -> list[str]:
    """n users, each with a paper account (its own FIFO queue + DLQ) subscribed to the provider.

    No signal-age limit: draining 1,000 subscriptions one page after another on moto takes longer
    than the default 300 s, and the later pages would (rightly) refuse the signal as too old.

    Items are put directly (what subscriptions.create writes, without its transaction): setting
    up 1,000 through moto's transactions would copy the table a thousand times.
    """
    from signalos.bridge_api import accounts
    from signalos.bridge_api import aws as bridge_aws
    from signalos.trading import subscriptions
    from signalos.trading.risk import SubscriptionRules
    from support.users import create_profile

    table = accounts.table()
    urls = []
    now = utc_now()
    for i in range(n):
        uid, aid = f"usr_b{i:05d}", f"acc_b{i:05d}"
        create_profile(uid)  # fan-out checks each subscriber is active and licensed
        q = bridge_aws.create_account_queues(aid, uid)
        table.put(
            accounts.account_item(
                accounts.Account(
                    account_id=aid,
                    user_id=uid,
                    name="paper",
                    kind="paper",
                    queue_url=q.queue_url,
                    queue_arn=q.queue_arn,
                    created_at=iso(now),
                )
            )
        )
        table.put(
            subscriptions.Subscription(
                subscription_id=f"sub_b{i:05d}",
                user_id=uid,
                provider_id=pid,
                provider_owner_id="usr_owner",
                account_id=aid,
                rules=SubscriptionRules(max_daily_trades=10_000, signal_max_age_seconds=None),
                created_at=now,
                updated_at=now,
            ).to_item()
        )
        urls.append(q.queue_url)
    return urls


_ids = iter(range(900_000_000, 999_999_999))


def update(text: str) -> dict:
    mid = next(_ids)
    return {
        "update_id": mid,
        "channel_post": {
            "message_id": mid % 1_000_000,
            "date": int(time.time()),
            "chat": {"id": CHAT_ID, "title": "bench", "type": "channel"},
            "text": text,
        },
    }


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def orders_of(user_id: str) -> list[dict]:
    from signalos.trading import orders

    return list(orders.trading_table().query_all(f"ORDERS#{user_id}", index="gsi2"))


@pytest.mark.parametrize("subscribers", [1, 100, 1000])
def test_webhook_handler_time_by_subscriber_count(aws, call_api, monkeypatch, aws_timer, subscribers):
    which = signals_service(monkeypatch)
    secret = aws.secret_json("TelegramSecret")["webhook_secret"]
    pid = make_provider("usr_owner")
    make_subscribers(pid, subscribers)
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret}

    total_ms, aws_ms, calls = [], [], []
    worker_ms = 0.0  # only continued fan-outs (more than FANOUT_INLINE_MAX subscribers) use the worker
    for n in range(POSTS_PER_SIZE):
        text = f"XAUUSD BUY SL {1900 + n} TP1 {2100 + n}"
        with aws_timer.measure():
            started = time.perf_counter()
            status, _, _ = call_api("POST", HOOK, json=update(text), headers=headers)
            total_ms.append((time.perf_counter() - started) * 1000)
        aws_ms.append(aws_timer.seconds * 1000)
        calls.append(aws_timer.calls)
        assert status == 200
        if n == 0:
            from infra.local.triggers import drain

            started = time.perf_counter()
            drain([t for t in aws.triggers if t.function_id == "FanoutWorkerFunction"], max_rounds=1000)
            worker_ms = (time.perf_counter() - started) * 1000
            last = f"usr_b{subscribers - 1:05d}"
            assert len(orders_of("usr_b00000")) == 1 and len(orders_of(last)) == 1, (
                "fan-out did not reach all"
            )
        # Later posts' continuations are left on the fan-out queue: their handler time is what counts.
    own = [t - a for t, a in zip(total_ms, aws_ms, strict=True)]
    print(f"\n[webhook bench] signals service: {which}")
    print(
        f"[webhook bench] subscribers={subscribers:>5}: "
        f"handler median {statistics.median(total_ms):7.1f} ms = "
        f"own code {statistics.median(own):6.1f} ms + {statistics.median(calls):.0f} AWS calls "
        f"{statistics.median(aws_ms):7.1f} ms (moto); fan-out worker to reach all {subscribers}: "
        f"{worker_ms:9.1f} ms (first post)"
    )


def test_webhook_to_order_enqueued_latency_one_subscriber(aws, call_api, monkeypatch, aws_timer):
    which = signals_service(monkeypatch)
    secret = aws.secret_json("TelegramSecret")["webhook_secret"]
    pid = make_provider("usr_owner")
    [url] = make_subscribers(pid, 1)
    sqs = aws.client("sqs")
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret}

    client_ms, aws_ms = [], []
    for n in range(LATENCY_POSTS):
        text = f"XAUUSD BUY SL {1900 + n % 50} TP1 {2100 + n % 50}"
        with aws_timer.measure():
            started = time.perf_counter()
            status, _, _ = call_api("POST", HOOK, json=update(text), headers=headers)
            msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, WaitTimeSeconds=0).get(
                "Messages", []
            )
            client_ms.append((time.perf_counter() - started) * 1000)
        aws_ms.append(aws_timer.seconds * 1000)
        assert status == 200 and len(msgs) == 1
        sqs.delete_message(QueueUrl=url, ReceiptHandle=msgs[0]["ReceiptHandle"])
    record_ms = [
        (parse_iso(i["enqueued_at"]) - parse_iso(i["received_at"])).total_seconds() * 1000
        for i in orders_of("usr_b00000")
    ]
    assert len(record_ms) == LATENCY_POSTS
    own = [t - a for t, a in zip(client_ms, aws_ms, strict=True)]
    print(f"\n[webhook bench] signals service: {which}")
    print(
        f"[webhook bench] webhook -> order enqueued, {LATENCY_POSTS} posts, 1 subscriber, in-process moto: "
        f"client p50 {pct(client_ms, 0.5):.1f} ms p95 {pct(client_ms, 0.95):.1f} ms "
        f"(own code p50 {pct(own, 0.5):.1f} p95 {pct(own, 0.95):.1f}); "
        f"record enqueued_at - received_at p50 {pct(record_ms, 0.5):.1f} ms p95 {pct(record_ms, 0.95):.1f} ms"
    )


# --- the same latency on the local stack (python -m infra.local: moto server, real HTTP) ----------


def _load(path: Path, name: str):
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_E2E = Path(__file__).resolve().parents[1] / "e2e"
local_stack = _load(_E2E / "conftest.py", "e2e_conftest_for_bench").local_stack  # the session fixture


def test_webhook_to_order_enqueued_latency_on_the_local_stack(local_stack):
    import requests

    e2e = _load(_E2E / "test_webhook_to_queue_e2e.py", "e2e_webhook_helpers_for_bench")
    headers = e2e.new_user(local_stack)
    r = requests.post(
        f"{local_stack}/api/v1/signals/providers", json={"name": "bench"}, headers=headers, timeout=30
    )
    provider_id = r.json()["provider_id"]
    chat = {"id": CHAT_ID - 7, "title": "bench", "type": "channel"}
    r = requests.post(
        f"{local_stack}/api/v1/telegram/link-codes",
        json={"provider_id": provider_id},
        headers=headers,
        timeout=30,
    )
    assert e2e.post_update(local_stack, chat, r.json()["command"])[0] == 200
    account = e2e.BridgeView(local_stack, headers)
    r = requests.post(
        f"{local_stack}/api/v1/subscriptions",
        headers=headers,
        timeout=30,
        json={
            "provider_id": provider_id,
            "account_id": account.account_id,
            "rules": {"max_daily_trades": 10_000},
        },
    )
    assert r.status_code == 201, r.text

    client_ms = []
    for n in range(LATENCY_POSTS):
        started = time.perf_counter()
        status, _ = e2e.post_update(local_stack, chat, f"XAUUSD BUY SL {1900 + n % 50} TP1 {2100 + n % 50}")
        got = account.take(1, timeout=10.0)
        client_ms.append((time.perf_counter() - started) * 1000)
        assert status == 200 and len(got) == 1
    record_ms = []
    cursor = None
    while True:
        params = {"account_id": account.account_id, "limit": 100, **({"cursor": cursor} if cursor else {})}
        page = requests.get(
            f"{local_stack}/api/v1/trades/history", params=params, headers=headers, timeout=30
        ).json()
        record_ms += [
            (parse_iso(o["enqueued_at"]) - parse_iso(o["received_at"])).total_seconds() * 1000
            for o in page["items"]
        ]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(record_ms) == LATENCY_POSTS
    print(
        f"\n[webhook bench] local stack (HTTP front + moto server), {LATENCY_POSTS} posts, 1 subscriber: "
        f"post -> order receivable by the bridge p50 {pct(client_ms, 0.5):.1f} ms "
        f"p95 {pct(client_ms, 0.95):.1f} ms; "
        f"record enqueued_at - received_at p50 {pct(record_ms, 0.5):.1f} ms p95 {pct(record_ms, 0.95):.1f} ms"
    )
