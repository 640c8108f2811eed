"""Fan-out against moto: orders reach only their own account's queue, retries never double,
refusals are stored with reasons, edits modify instead of re-opening, replies manage."""

from __future__ import annotations

import json
import os
from datetime import timedelta

import pytest
from signalos.common.clock import iso, utc_now
from signalos.common.dynamo import Table
from signalos.contracts.execution import Heartbeat, SymbolSpec
from signalos.contracts.orders import OrderCommandEnvelope
from signalos.contracts.parse_result import OpenSetup, ParseResult, SignalUpdate
from signalos.contracts.signal_event import SignalEvent
from signalos.trading import counters, fanout, fanout_worker, subscriptions
from signalos.trading.risk import SubscriptionRules


class Accounts:
    """Trading accounts made the way the bridge API makes them (queues + the repository's item)."""

    def __init__(self, aws):
        self.aws = aws
        self.by_key = {}

    def add(self, user_id, account_id, *, queue_of=None, symbol_map=None):
        from signalos.bridge_api import accounts
        from signalos.bridge_api import aws as bridge_aws

        queues = bridge_aws.create_account_queues(account_id, user_id)
        url, arn = queues.queue_url, queues.queue_arn
        if queue_of:  # a tampered record pointing at another account's queue
            other = self.by_key[queue_of]
            url, arn = other.queue_url, other.queue_arn
        account = accounts.Account(
            account_id=account_id,
            user_id=user_id,
            name=account_id,
            kind="paper",
            queue_url=url,
            queue_arn=arn,
            symbol_map=symbol_map or {},
            created_at=iso(utc_now()),
        )
        accounts.table().put(accounts.account_item(account))
        self.by_key[(user_id, account_id)] = account
        return queues.queue_url

    def report_spec(self, user_id, account_id, spec, balance=10_000.0):
        from signalos.bridge_api import accounts

        hb = Heartbeat(
            account_id=account_id,
            sent_at=utc_now(),
            broker="paper",
            balance=balance,
            equity=balance,
            margin_free=balance,
            symbols=[spec],
        )
        assert accounts.save_heartbeat(self.by_key[(user_id, account_id)], hb, received_at=utc_now())


@pytest.fixture
def accounts(aws):
    return Accounts(aws)


@pytest.fixture
def table(aws):
    return Table.from_env("TRADING_TABLE")


def sqs():
    import boto3

    return boto3.client("sqs")


def add_account(accounts, user_id, account_id, *, queue_of=None):
    return accounts.add(user_id, account_id, queue_of=queue_of)


def ensure_user(user_id, **kw):
    """The subscriber's profile (fan-out checks the owner is active and licensed for auto_trading)."""
    from signalos.auth import data as auth_data
    from support.users import create_profile

    if auth_data.get_user(user_id) is None:
        create_profile(user_id, **kw)


def subscribe(user_id, account_id, provider_id="prv_1", **rules):
    ensure_user(user_id)
    now = utc_now()
    sub = subscriptions.Subscription(
        subscription_id=f"sub_{user_id}_{account_id}",
        user_id=user_id,
        provider_id=provider_id,
        provider_owner_id="usr_owner",
        account_id=account_id,
        rules=SubscriptionRules(**rules),
        created_at=now,
        updated_at=now,
    )
    return subscriptions.create(sub)


def drain(url):
    out = []
    while True:
        msgs = (
            sqs()
            .receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0, AttributeNames=["MessageGroupId"]
            )
            .get("Messages", [])
        )
        if not msgs:
            return out
        for m in msgs:
            out.append((m["Attributes"].get("MessageGroupId"), OrderCommandEnvelope.parse_body(m["Body"])))
            sqs().delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])


GOLD_SELL = OpenSetup(
    symbol="XAUUSD", side="sell", entry_zone=(1950.0, 1952.0), stop_loss=1960.0, take_profits=[1945.0, 1940.0]
)


def event(
    setups=(GOLD_SELL,),
    *,
    signal_id="sig_1",
    revision=0,
    age=timedelta(seconds=2),
    reply_to=None,
    provider_id="prv_1",
):
    now = utc_now()
    return SignalEvent(
        signal_id=signal_id,
        user_id="usr_owner",
        provider_id=provider_id,
        source="telegram",
        parse=ParseResult(results=list(setups)),
        signal_time=now - age,
        received_at=now - age / 2,
        parsed_at=now,
        revision=revision,
        reply_to_signal_id=reply_to,
    )


def test_orders_reach_only_their_own_accounts_queue(accounts, table):
    url_a = add_account(accounts, "usr_a", "acc_a")
    url_b = add_account(accounts, "usr_b", "acc_b")
    url_b2 = add_account(accounts, "usr_b", "acc_b2")  # B's other account: not subscribed
    subscribe("usr_a", "acc_a", fixed_lot=0.02)
    subscribe("usr_b", "acc_b", fixed_lot=0.04)

    summary = fanout.dispatch_signal(event())

    assert summary.subscriptions == 2
    assert summary.orders_enqueued == 4  # two TPs each
    got_a, got_b = drain(url_a), drain(url_b)
    assert drain(url_b2) == []
    assert {(g, c.account_id, c.user_id) for g, c in got_a} == {("acc_a", "acc_a", "usr_a")}
    assert {(g, c.account_id, c.user_id) for g, c in got_b} == {("acc_b", "acc_b", "usr_b")}
    assert sorted(c.volume for _, c in got_a) == [0.01, 0.01]
    assert sorted(c.volume for _, c in got_b) == [0.02, 0.02]
    assert {c.take_profit for _, c in got_a} == {1945.0, 1940.0}
    # The records: under each owner's partition, state sent, stage timestamps set.
    for _, cmd in got_a:
        item = table.get("USER#usr_a", f"ORDER#{cmd.order_id}")
        assert item["state"] == "sent"
        assert item["enqueued_at"] >= item["parsed_at"] >= item["received_at"] >= item["signal_time"]
        assert table.get("USER#usr_b", f"ORDER#{cmd.order_id}") is None
    assert counters.read_counters(table, "usr_a", "acc_a")["orders"] == 2


def test_an_account_record_pointing_at_another_queue_gets_nothing(accounts, table):
    url_a = add_account(accounts, "usr_a", "acc_a")
    add_account(accounts, "usr_b", "acc_b", queue_of=("usr_a", "acc_a"))  # tampered record
    subscribe("usr_b", "acc_b")

    summary = fanout.dispatch_signal(event())

    assert drain(url_a) == []
    assert summary.orders_enqueued == 0
    rejections = list(table.query_all("USER#usr_b", sk_prefix="REJECTION#"))
    assert [r["reason_code"] for r in rejections] == ["ACCOUNT_UNAVAILABLE"]


def test_retried_dispatch_does_not_trade_twice(accounts, table):
    url_a = add_account(accounts, "usr_a", "acc_a")
    subscribe("usr_a", "acc_a")
    ev = event()
    fanout.dispatch_signal(ev)
    first = drain(url_a)
    again = fanout.dispatch_signal(ev)
    assert drain(url_a) == []
    assert again.orders_enqueued == 0
    assert [o.status for o in again.outcomes] == ["exists"]
    assert len(list(table.query_all("USER#usr_a", sk_prefix="ORDER#"))) == len(first) == 1
    assert counters.read_counters(table, "usr_a", "acc_a")["orders"] == 1


class Crash(BaseException):
    """The process dies (a Lambda timeout): nothing below catches it."""


def test_a_crash_after_writing_resends_the_pending_orders(accounts, table, monkeypatch):
    url_a = add_account(accounts, "usr_a", "acc_a")
    subscribe("usr_a", "acc_a")
    from signalos.trading import queues

    real_send = queues.send_commands

    def crash(*a, **k):
        raise Crash

    monkeypatch.setattr(queues, "send_commands", crash)
    ev = event()
    with pytest.raises(Crash):
        fanout.dispatch_signal(ev)
    [item] = list(table.query_all("USER#usr_a", sk_prefix="ORDER#"))
    assert item["state"] == "pending"
    assert drain(url_a) == []

    monkeypatch.setattr(queues, "send_commands", real_send)
    fanout.dispatch_signal(ev)
    [(_, cmd)] = drain(url_a)
    assert cmd.order_id == item["order_id"]
    assert table.get(item["pk"], item["sk"])["state"] == "sent"
    assert counters.read_counters(table, "usr_a", "acc_a")["orders"] == 1


def test_stale_signal_and_price_distance_rejections_are_stored_with_reasons(accounts, table):
    add_account(accounts, "usr_a", "acc_a")
    add_account(accounts, "usr_b", "acc_b")
    subscribe("usr_a", "acc_a", signal_max_age_seconds=60)
    subscribe("usr_b", "acc_b", max_price_distance_pips=20)
    accounts.report_spec(
        "usr_b",
        "acc_b",
        SymbolSpec(
            symbol="XAUUSD",
            broker_symbol="XAUUSD",
            digits=2,
            point=0.01,
            volume_min=0.01,
            volume_max=100,
            volume_step=0.01,
            trade_tick_value=1.0,
            trade_tick_size=0.01,
            trade_contract_size=100,
            bid=1957.0,
            ask=1957.3,
        ),
    )

    fanout.dispatch_signal(event(age=timedelta(minutes=5), signal_id="sig_old"))
    far = OpenSetup(
        symbol="XAUUSD",
        side="sell",
        order_type="market",
        entry=1950.0,
        stop_loss=1960.0,
        take_profits=[1945.0],
    )
    fanout.dispatch_signal(event((far,), signal_id="sig_far"))

    [old] = list(table.query_all("USER#usr_a", sk_prefix="REJECTION#"))
    assert old["reason_code"] == "SIGNAL_TOO_OLD"
    assert old["signal_id"] == "sig_old"
    assert "older than" in old["reason"]
    b_rejections = {r["signal_id"]: r for r in table.query_all("USER#usr_b", sk_prefix="REJECTION#")}
    assert b_rejections["sig_far"]["reason_code"] == "PRICE_TOO_FAR"
    assert b_rejections["sig_far"]["subscription_id"] == "sub_usr_b_acc_b"


def test_daily_cap_limits_and_then_refuses(accounts, table):
    url_a = add_account(accounts, "usr_a", "acc_a")
    subscribe("usr_a", "acc_a", max_daily_trades=3, fixed_lot=0.02)
    fanout.dispatch_signal(event(signal_id="sig_1"))  # 2 legs
    fanout.dispatch_signal(event(signal_id="sig_2"))  # 1 slot left: one leg
    fanout.dispatch_signal(event(signal_id="sig_3"))  # none left
    sent = drain(url_a)
    assert [c.signal_id for _, c in sent] == ["sig_1", "sig_1", "sig_2"]
    assert counters.read_counters(table, "usr_a", "acc_a")["orders"] == 3
    [rej] = list(table.query_all("USER#usr_a", sk_prefix="REJECTION#"))
    assert (rej["signal_id"], rej["reason_code"]) == ("sig_3", "DAILY_TRADE_CAP")


def test_edit_completing_a_bare_signal_modifies_instead_of_opening(accounts, table):
    url_a = add_account(accounts, "usr_a", "acc_a")
    subscribe("usr_a", "acc_a")
    bare = OpenSetup(symbol="XAUUSD", side="sell")
    fanout.dispatch_signal(event((bare,), signal_id="sig_e"))
    [(_, opened)] = drain(url_a)
    assert opened.type == "open" and opened.stop_loss is None

    completed = OpenSetup(
        symbol="XAUUSD",
        side="sell",
        entry_zone=(1950.0, 1952.0),
        stop_loss=1960.0,
        take_profits=[1945.0, 1940.0],
    )
    summary = fanout.dispatch_signal(event((completed,), signal_id="sig_e", revision=1))

    got = drain(url_a)
    assert [c.type for _, c in got] == ["manage"]
    cmd = got[0][1]
    assert (cmd.action, cmd.target_order_ids, cmd.stop_loss, cmd.take_profit) == (
        "modify",
        [opened.order_id],
        1960.0,
        1945.0,
    )
    assert summary.orders_enqueued == 0
    assert len(list(table.query_all("USER#usr_a", sk_prefix="ORDER#"))) == 1
    # The same edit delivered again sends the same command id (the queue drops it).
    fanout.dispatch_signal(event((completed,), signal_id="sig_e", revision=1))
    again = drain(url_a)
    assert [c.command_id for _, c in again] in ([], [cmd.command_id])


def test_reply_close_closes_the_positions_of_that_signal_only(accounts, table):
    url_a = add_account(accounts, "usr_a", "acc_a")
    url_b = add_account(accounts, "usr_b", "acc_b")
    subscribe("usr_a", "acc_a", fixed_lot=0.02)
    subscribe("usr_b", "acc_b")
    fanout.dispatch_signal(event(signal_id="sig_target"))
    fanout.dispatch_signal(event(signal_id="sig_other"))
    opened_a = [c for _, c in drain(url_a)]
    drain(url_b)
    target_ids = sorted(c.order_id for c in opened_a if c.signal_id == "sig_target")

    close = SignalUpdate(action="close_all")
    summary = fanout.dispatch_signal(event((close,), signal_id="sig_reply", reply_to="sig_target"))

    [(group, cmd)] = drain(url_a)
    assert group == "acc_a"
    assert cmd.action == "close"
    assert sorted(cmd.target_order_ids) == target_ids
    [(_, cmd_b)] = drain(url_b)
    assert cmd_b.account_id == "acc_b" and cmd_b.action == "close"
    assert summary.commands_enqueued == 2


def test_past_the_inline_threshold_fanout_continues_on_the_worker_queue(accounts, table, monkeypatch):
    monkeypatch.setenv("FANOUT_INLINE_MAX", "2")
    monkeypatch.setenv("FANOUT_PAGE_SIZE", "2")
    urls = {}
    for n in range(5):
        urls[n] = add_account(accounts, f"usr_{n}", f"acc_{n}")
        subscribe(f"usr_{n}", f"acc_{n}")
    summary = fanout.dispatch_signal(event())
    assert summary.subscriptions == 2 and summary.continued
    # Play the worker until the fan-out queue is empty.
    fanout_url = os.environ["FANOUT_QUEUE_URL"]
    rounds = 0
    while True:
        msgs = (
            sqs()
            .receive_message(QueueUrl=fanout_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
            .get("Messages", [])
        )
        if not msgs:
            break
        rounds += 1
        records = [{"messageId": m["MessageId"], "body": m["Body"]} for m in msgs]
        assert fanout_worker.lambda_handler({"Records": records}, None) == {"batchItemFailures": []}
        for m in msgs:
            sqs().delete_message(QueueUrl=fanout_url, ReceiptHandle=m["ReceiptHandle"])
    assert rounds == 2
    for n in range(5):
        [(_, cmd)] = drain(urls[n])
        assert cmd.account_id == f"acc_{n}"


def test_worker_reports_a_malformed_message_as_a_batch_item_failure(aws):
    out = fanout_worker.lambda_handler(
        {
            "Records": [
                {"messageId": "m1", "body": json.dumps({"kind": "nope", "event": {}})},
            ]
        },
        None,
    )
    assert out == {"batchItemFailures": [{"itemIdentifier": "m1"}]}


def test_disabled_subscription_is_not_traded(accounts, table):
    url_a = add_account(accounts, "usr_a", "acc_a")
    sub = subscribe("usr_a", "acc_a")
    subscriptions.replace(sub.model_copy(update={"enabled": False, "version": 2}), expected_version=1)
    assert fanout.dispatch_signal(event()).subscriptions == 0
    assert drain(url_a) == []


def test_an_unreachable_queue_leaves_orders_pending_and_the_worker_resends_them(accounts, table, monkeypatch):
    url_a = add_account(accounts, "usr_a", "acc_a")
    subscribe("usr_a", "acc_a")
    from signalos.trading import queues

    real_send = queues.send_commands

    def down(*a, **k):
        raise ConnectionError("sqs unreachable")

    monkeypatch.setattr(queues, "send_commands", down)
    ev = event()
    summary = fanout.dispatch_signal(ev)
    assert summary.failed == 1 and summary.orders_enqueued == 0
    [item] = list(table.query_all("USER#usr_a", sk_prefix="ORDER#"))
    assert item["state"] == "pending" and "retrying" in item["state_reason"]
    fanout.retry_later(ev)  # what the webhook does with an incomplete fan-out

    monkeypatch.setattr(queues, "send_commands", real_send)
    fanout_url = os.environ["FANOUT_QUEUE_URL"]
    msgs = sqs().receive_message(QueueUrl=fanout_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)["Messages"]
    records = [{"messageId": m["MessageId"], "body": m["Body"]} for m in msgs]
    assert fanout_worker.lambda_handler({"Records": records}, None) == {"batchItemFailures": []}
    [(_, cmd)] = drain(url_a)
    assert cmd.order_id == item["order_id"]
    assert table.get(item["pk"], item["sk"])["state"] == "sent"
    assert counters.read_counters(table, "usr_a", "acc_a")["orders"] == 1


def test_a_pending_order_past_its_expiry_is_closed_as_expired_not_sent(accounts, table, monkeypatch):
    url_a = add_account(accounts, "usr_a", "acc_a")
    subscribe("usr_a", "acc_a", order_expiry_seconds=5)
    from signalos.trading import queues

    def crash(*a, **k):
        raise Crash

    real_send = queues.send_commands
    monkeypatch.setattr(queues, "send_commands", crash)
    ev = event()
    with pytest.raises(Crash):
        fanout.dispatch_signal(ev)
    monkeypatch.setattr(queues, "send_commands", real_send)
    [item] = list(table.query_all("USER#usr_a", sk_prefix="ORDER#"))
    later = utc_now() + timedelta(seconds=30)
    monkeypatch.setattr(fanout, "utc_now", lambda: later)
    fanout.dispatch_signal(ev)
    assert drain(url_a) == []
    stored = table.get(item["pk"], item["sk"])
    assert stored["state"] == "expired" and stored["state_reason"] == "expired before it could be enqueued"


def test_management_past_the_inline_threshold_continues_on_the_worker(accounts, table, monkeypatch):
    urls = {n: add_account(accounts, f"usr_{n}", f"acc_{n}") for n in range(3)}
    for n in range(3):
        subscribe(f"usr_{n}", f"acc_{n}")
    fanout.dispatch_signal(event(signal_id="sig_t"))
    opened = {n: [c for _, c in drain(urls[n])] for n in range(3)}
    monkeypatch.setenv("FANOUT_INLINE_MAX", "1")
    summary = fanout.dispatch_signal(
        event((SignalUpdate(action="breakeven"),), signal_id="sig_u", reply_to="sig_t")
    )
    assert summary.commands_enqueued == 1 and summary.continued
    fanout_url = os.environ["FANOUT_QUEUE_URL"]
    msgs = sqs().receive_message(QueueUrl=fanout_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)["Messages"]
    records = [{"messageId": m["MessageId"], "body": m["Body"]} for m in msgs]
    assert fanout_worker.lambda_handler({"Records": records}, None) == {"batchItemFailures": []}
    for n in range(3):
        [(_, cmd)] = drain(urls[n])
        assert (cmd.action, cmd.account_id) == ("breakeven", f"acc_{n}")
        assert cmd.target_order_ids == [c.order_id for c in opened[n]]


# --- who may trade, and the administrator's global caps --------------------------------------------


@pytest.fixture
def admin_settings():
    from signalos.admin import settings

    def put(**changes):
        current = settings.read_settings()
        settings.write_settings(changes, expected_version=current.version, actor_id="usr_admin")
        settings.clear_cache()

    settings.clear_cache()
    yield put
    settings.clear_cache()


@pytest.mark.parametrize(
    ("profile", "code"),
    [({"status": "disabled"}, "SUBSCRIBER_DISABLED"), ({"tier": "basic"}, "NOT_LICENSED")],
)
def test_a_subscriber_who_may_not_trade_gets_no_orders(accounts, table, profile, code):
    url = add_account(accounts, "usr_a", "acc_a")
    ensure_user("usr_a", **profile)
    subscribe("usr_a", "acc_a")
    fanout.dispatch_signal(event())
    assert drain(url) == []
    [rej] = list(table.query_all("USER#usr_a", sk_prefix="REJECTION#"))
    assert rej["reason_code"] == code


def test_maintenance_stops_new_orders_but_not_closes(accounts, table, admin_settings):
    url = add_account(accounts, "usr_a", "acc_a")
    subscribe("usr_a", "acc_a")
    fanout.dispatch_signal(event(signal_id="sig_open"))
    [(_, opened)] = [(g, c) for g, c in drain(url)][:1]
    admin_settings(maintenance_mode=True, maintenance_message="broker migration")
    fanout.dispatch_signal(event(signal_id="sig_new"))
    fanout.dispatch_signal(
        event((SignalUpdate(action="close_all"),), signal_id="sig_close", reply_to="sig_open")
    )
    got = [c for _, c in drain(url)]
    assert [(c.type, c.action) for c in got] == [("manage", "close")]
    rej = {r["signal_id"]: r for r in table.query_all("USER#usr_a", sk_prefix="REJECTION#")}
    assert rej["sig_new"]["reason_code"] == "MAINTENANCE" and "broker migration" in rej["sig_new"]["reason"]
    assert opened.signal_id == "sig_open"


def test_the_global_lot_cap_limits_every_leg(accounts, table, admin_settings):
    url = add_account(accounts, "usr_a", "acc_a")
    subscribe("usr_a", "acc_a", fixed_lot=2.0)
    admin_settings(max_lots_per_order=0.5)
    fanout.dispatch_signal(event())
    got = [c for _, c in drain(url)]
    assert got and all(c.volume <= 0.5 for c in got)


def test_the_orders_per_minute_cap_is_enforced_with_the_write(accounts, table, admin_settings):
    url = add_account(accounts, "usr_a", "acc_a")
    subscribe("usr_a", "acc_a")  # 0.01 lot: one leg per signal
    admin_settings(max_orders_per_minute_per_account=2)
    for n in range(3):
        fanout.dispatch_signal(event(signal_id=f"sig_{n}"))
    assert [c.signal_id for _, c in drain(url)] == ["sig_0", "sig_1"]
    [rej] = list(table.query_all("USER#usr_a", sk_prefix="REJECTION#"))
    assert (rej["signal_id"], rej["reason_code"]) == ("sig_2", "ORDER_RATE_LIMIT")
    assert counters.read_counters(table, "usr_a", "acc_a")["orders"] == 2  # the refused write added nothing
