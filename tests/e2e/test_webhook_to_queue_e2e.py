"""The local stack over real HTTP: a Telegram-shaped post to the webhook puts an order on the
subscribed account's own queue (read the way the bridge reads it: its STS session on moto's
server), never on another account's; an edit modifies, a reply closes.

No bridge agent runs for these accounts, so the commands stay on the queues to be inspected.
"""

from __future__ import annotations

import itertools
import time
import uuid
from typing import Any

import boto3
import pytest
import requests
from signalos.contracts.orders import OrderCommandEnvelope

HOOK = "/api/v1/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
_update_ids = itertools.count(950_000_000)
_message_ids = itertools.count(500)


def post_update(
    stack: Any,
    chat: dict,
    text: str,
    *,
    message_id: int | None = None,
    edited: bool = False,
    reply_to: int | None = None,
) -> tuple[int, int]:
    mid = message_id or next(_message_ids)
    msg: dict[str, Any] = {"message_id": mid, "chat": chat, "date": int(time.time()), "text": text}
    if edited:
        msg["edit_date"] = int(time.time())
    if reply_to is not None:
        msg["reply_to_message"] = {
            "message_id": reply_to,
            "chat": chat,
            "date": int(time.time()),
            "text": ".",
        }
    update = {"update_id": next(_update_ids), ("edited_channel_post" if edited else "channel_post"): msg}
    r = requests.post(
        f"{stack}{HOOK}", json=update, headers={SECRET_HEADER: stack.webhook_secret}, timeout=30
    )
    return r.status_code, mid


def new_user(stack: Any) -> dict[str, str]:
    name, pw = f"e2e_{uuid.uuid4().hex[:10]}", "correct horse battery staple"
    assert (
        requests.post(
            f"{stack}/api/v1/auth/register", json={"username": name, "password": pw}, timeout=30
        ).status_code
        == 201
    )
    r = requests.post(f"{stack}/api/v1/auth/login", json={"username": name, "password": pw}, timeout=30)
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


class BridgeView:
    """An account's queue as its bridge sees it: bridge token -> STS session -> that queue only."""

    def __init__(self, stack: Any, headers: dict[str, str]) -> None:
        r = requests.post(
            f"{stack}/api/v1/bridge/register",
            headers=headers,
            timeout=30,
            json={"name": "paper e2e", "kind": "paper"},
        )
        assert r.status_code == 201, r.text
        body = r.json()
        self.account_id, self.queue_url = body["account_id"], body["queue_url"]
        r = requests.post(
            f"{stack}/api/v1/bridge/session",
            timeout=30,
            headers={"Authorization": f"Bearer {body['bridge_token']}"},
        )
        assert r.status_code == 200, r.text
        session = r.json()
        creds = session["credentials"]
        self.sqs = boto3.client(
            "sqs",
            region_name=session["region"],
            endpoint_url=session["endpoint_url"],
            aws_access_key_id=creds["access_key_id"],
            aws_secret_access_key=creds["secret_access_key"],
            aws_session_token=creds["session_token"],
        )

    def take(self, expected: int, timeout: float = 15.0) -> list:
        """Receive (and delete) commands until `expected` arrived or the time is up."""
        got: list = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(got) < expected:
            resp = self.sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=10,
                WaitTimeSeconds=1,
                AttributeNames=["MessageGroupId"],
            )
            for m in resp.get("Messages", []):
                assert m["Attributes"]["MessageGroupId"] == self.account_id
                got.append(OrderCommandEnvelope.parse_body(m["Body"]))
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"])
        return got


@pytest.fixture(scope="module")
def wired(local_stack) -> dict[str, Any]:
    """Owner A: a provider linked to a channel, A's paper account subscribed. User B: an account
    subscribed to nothing of A's channel."""
    headers_a = new_user(local_stack)
    r = requests.post(
        f"{local_stack}/api/v1/signals/providers", json={"name": "Gold Room"}, headers=headers_a, timeout=30
    )
    assert r.status_code == 201, r.text
    provider_id = r.json()["provider_id"]
    chat = {"id": -1003000000000 - int(uuid.uuid4().int % 10**8), "title": "Gold Room", "type": "channel"}
    r = requests.post(
        f"{local_stack}/api/v1/telegram/link-codes",
        json={"provider_id": provider_id},
        headers=headers_a,
        timeout=30,
    )
    assert r.status_code == 201, r.text
    status, _ = post_update(local_stack, chat, r.json()["command"])
    assert status == 200
    account_a = BridgeView(local_stack, headers_a)
    r = requests.post(
        f"{local_stack}/api/v1/subscriptions",
        headers=headers_a,
        timeout=30,
        json={
            "provider_id": provider_id,
            "account_id": account_a.account_id,
            "rules": {"fixed_lot": 0.02, "signal_max_age_seconds": 600},
        },
    )
    assert r.status_code == 201, r.text
    account_b = BridgeView(local_stack, new_user(local_stack))
    return {"chat": chat, "a": account_a, "b": account_b, "headers_a": headers_a, "provider_id": provider_id}


def test_a_post_puts_orders_on_the_subscribed_accounts_queue_only(local_stack, wired):
    status, _ = post_update(local_stack, wired["chat"], "XAUUSD BUY NOW 1950-1948 SL 1940 TP1 1955 TP2 1960")
    assert status == 200
    orders = wired["a"].take(2)
    assert [(o.type, o.account_id, o.symbol, o.side) for o in orders] == [
        ("open", wired["a"].account_id, "XAUUSD", "buy")
    ] * 2
    assert sorted(o.take_profit for o in orders) == [1955.0, 1960.0]
    assert {o.stop_loss for o in orders} == {1940.0}
    assert wired["b"].take(1, timeout=2.0) == []
    r = requests.get(
        f"{local_stack}/api/v1/trades/status/{orders[0].order_id}", headers=wired["headers_a"], timeout=30
    )
    assert r.status_code == 200 and r.json()["state"] == "sent"


def test_an_edit_modifies_and_a_reply_closes_on_the_same_queue(local_stack, wired):
    status, mid = post_update(local_stack, wired["chat"], "XAUUSD SELL NOW")
    assert status == 200
    [opened] = wired["a"].take(1)
    assert opened.type == "open" and opened.stop_loss is None
    status, _ = post_update(
        local_stack, wired["chat"], "XAUUSD SELL NOW 1952-1954 SL 1962 TP1 1945", message_id=mid, edited=True
    )
    assert status == 200
    [modify] = wired["a"].take(1)
    assert (modify.type, modify.action, modify.target_order_ids, modify.stop_loss) == (
        "manage",
        "modify",
        [opened.order_id],
        1962.0,
    )
    status, _ = post_update(local_stack, wired["chat"], "close now", reply_to=mid)
    assert status == 200
    [close] = wired["a"].take(1)
    assert (close.action, close.target_order_ids) == ("close", [opened.order_id])
    assert wired["b"].take(1, timeout=1.0) == []


def test_a_wrong_secret_is_refused_over_http(local_stack, wired):
    r = requests.post(
        f"{local_stack}{HOOK}", json={"update_id": 1}, headers={SECRET_HEADER: "nope"}, timeout=30
    )
    assert r.status_code == 401 and r.json()["error"]["code"] == "INVALID_WEBHOOK_SECRET"
