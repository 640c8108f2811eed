"""Telegram posts through the real webhook into the real signals service (no stand-ins): a
clear post is stored and traded at once, an edit updates the same signal, and a post the rules
parser cannot read goes to the slow path, where the LLM (fake transport) reads it and the
worker hands it to fan-out."""

from __future__ import annotations

import itertools
import sys
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "signals"))
import signal_texts as sp
from fake_openai import FakeOpenAI
from signalos.common.clock import utc_now
from signalos.contracts.orders import OrderCommandEnvelope

HOOK = "/api/v1/telegram/webhook"
CHAT = {"id": -1001222333444, "title": "Gold calls", "type": "channel"}
_UPDATES = itertools.count(910_000_000)
_MESSAGES = itertools.count(100)


@pytest.fixture
def channel(aws, call_api):
    name, pw = f"tg_{uuid.uuid4().hex[:10]}", "correct horse battery"
    assert call_api("POST", "/api/v1/auth/register", json={"username": name, "password": pw})[0] == 201
    _, _, tokens = call_api("POST", "/api/v1/auth/login", json={"username": name, "password": pw})
    h = {"Authorization": f"Bearer {tokens['access_token']}"}
    _, _, prov = call_api("POST", "/api/v1/signals/providers", headers=h, json={"name": "Gold calls"})
    _, _, acc = call_api(
        "POST", "/api/v1/bridge/register", headers=h, json={"name": "paper", "kind": "paper"}
    )
    status, _, _ = call_api(
        "POST",
        "/api/v1/subscriptions",
        headers=h,
        json={
            "provider_id": prov["provider_id"],
            "account_id": acc["account_id"],
            "rules": {"fixed_lot": 0.02, "min_confidence": 0.5},
        },
    )
    assert status == 201
    secret = aws.secret_json("TelegramSecret")["webhook_secret"]

    def send(text, message_id=None, *, edited=False):
        msg = {
            "message_id": message_id or next(_MESSAGES),
            "chat": CHAT,
            "date": int(utc_now().timestamp()),
            "text": text,
        }
        if edited:
            msg["edit_date"] = msg["date"]
        update = {"update_id": next(_UPDATES), ("edited_channel_post" if edited else "channel_post"): msg}
        status, _, body = call_api(
            "POST", HOOK, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": secret}
        )
        assert status == 200, body
        return msg["message_id"]

    _, _, code = call_api(
        "POST", "/api/v1/telegram/link-codes", headers=h, json={"provider_id": prov["provider_id"]}
    )
    send(code["command"])

    def orders():
        sqs, out = aws.client("sqs"), []
        while msgs := sqs.receive_message(QueueUrl=acc["queue_url"], MaxNumberOfMessages=10).get("Messages"):
            for m in msgs:
                out.append(OrderCommandEnvelope.parse_body(m["Body"]))
                sqs.delete_message(QueueUrl=acc["queue_url"], ReceiptHandle=m["ReceiptHandle"])
        return out

    def history():
        status, _, body = call_api("GET", "/api/v1/signals/history", headers=h)
        assert status == 200
        return body["items"]

    return {"send": send, "orders": orders, "history": history, "pid": prov["provider_id"]}


def test_clear_post_is_stored_and_traded_and_its_edit_updates_the_same_signal(channel):
    mid = channel["send"]("XAUUSD SELL NOW")
    [signal] = channel["history"]()
    assert (signal["source"], signal["status"], signal["provider_id"]) == (
        "telegram",
        "parsed",
        channel["pid"],
    )
    [first] = channel["orders"]()
    assert first.type == "open" and first.signal_id == signal["signal_id"]
    channel["send"]("XAUUSD SELL NOW\n4459.50 - 4464.50\nTP1 4456.50\nSL 4467", mid, edited=True)
    [edited] = channel["history"]()
    assert edited["signal_id"] == signal["signal_id"] and edited["revision"] == 1
    assert edited["results"][0]["stop_loss"] == 4467.0
    assert "open" not in {o.type for o in channel["orders"]()}  # an edit never opens a second trade


def test_unreadable_post_goes_to_the_llm_and_the_worker_trades_it(aws, channel, monkeypatch):
    from signalos.signals import llm

    fake = FakeOpenAI().reply_results([sp.UNSURE_AS_LLM_READS_IT])
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setattr(llm, "http_client_override", fake.client())
    channel["send"](sp.UNSURE)
    [queued] = channel["history"]()
    assert queued["status"] == "queued" and channel["orders"]() == []
    aws.drain()
    [done] = channel["history"]()
    assert done["status"] == "parsed" and done["parser"] == "llm" and len(fake.requests) == 1
    orders = channel["orders"]()
    assert (
        orders
        and {o.stop_loss for o in orders} == {1958.0}
        and {o.signal_id for o in orders} == {done["signal_id"]}
    )
