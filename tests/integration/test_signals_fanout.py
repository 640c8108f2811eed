"""A screenshot of a signal becomes an order, through the real parts: upload (signals API) ->
S3 -> slow-path worker (template SQS trigger) -> tesseract -> rules parser -> fan-out (trading)
-> the subscriber's own FIFO order queue. Everything set up through the public API."""

from __future__ import annotations

import base64
import json
import sys
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "signals"))
from signal_images import render_png
from signalos.common.clock import iso, utc_now
from signalos.contracts.orders import OrderCommandEnvelope

S = "/api/v1/signals"
POST = "XAUUSD BUY NOW 1950-1948\nSL 1940\nTP1 1955\nTP2 1960"
GOLD_SPEC = {
    "symbol": "XAUUSD",
    "broker_symbol": "XAUUSD",
    "digits": 2,
    "point": 0.01,
    "volume_min": 0.01,
    "volume_max": 100,
    "volume_step": 0.01,
    "trade_tick_value": 1.0,
    "trade_tick_size": 0.01,
    "trade_contract_size": 100,
    "bid": 1949.0,
    "ask": 1949.3,
}


def user(call_api):
    name, pw = f"fan_{uuid.uuid4().hex[:10]}", "correct horse battery"
    assert call_api("POST", "/api/v1/auth/register", json={"username": name, "password": pw})[0] == 201
    _, _, tokens = call_api("POST", "/api/v1/auth/login", json={"username": name, "password": pw})
    return {"Authorization": f"Bearer {tokens['access_token']}"}, tokens["user"]["id"]


def test_uploaded_screenshot_becomes_an_order_on_the_subscribers_queue(aws, call_api, monkeypatch):
    owner, owner_id = user(call_api)
    status, _, provider = call_api("POST", f"{S}/providers", headers=owner, json={"name": "Gold VIP"})
    assert status == 201
    status, _, account = call_api(
        "POST", "/api/v1/bridge/register", headers=owner, json={"name": "paper", "kind": "paper"}
    )
    assert status == 201, account
    bridge = {"Authorization": f"Bearer {account['bridge_token']}"}
    heartbeat = {
        "account_id": account["account_id"],
        "sent_at": iso(utc_now()),
        "broker": "paper",
        "balance": 10_000.0,
        "equity": 10_000.0,
        "margin_free": 10_000.0,
        "symbols": [GOLD_SPEC],
    }
    assert call_api("POST", "/api/v1/bridge/heartbeat", headers=bridge, json=heartbeat)[0] == 200
    status, _, sub = call_api(
        "POST",
        "/api/v1/subscriptions",
        headers=owner,
        json={"provider_id": provider["provider_id"], "account_id": account["account_id"]},
    )
    assert status == 201, sub

    png = render_png(POST, size=20, dark=True)
    status, _, upload = call_api(
        "POST",
        f"{S}/upload",
        headers=owner,
        json={
            "image": base64.b64encode(png).decode(),
            "provider_id": provider["provider_id"],
            "auto_execute": True,
        },
    )
    assert status == 202 and upload["status"] == "queued", upload
    aws.drain()

    _, _, signal = call_api("GET", upload["status_url"], headers=owner)
    assert signal["status"] == "parsed" and signal["parser"] == "ocr", signal
    sqs = aws.client("sqs")
    messages = sqs.receive_message(QueueUrl=account["queue_url"], MaxNumberOfMessages=10).get("Messages", [])
    commands = [OrderCommandEnvelope.parse_body(m["Body"]) for m in messages]
    assert commands and {c.type for c in commands} == {"open"}
    assert {c.take_profit for c in commands} <= {1955.0, 1960.0} and {c.stop_loss for c in commands} == {
        1940.0
    }
    assert all(c.account_id == account["account_id"] and c.signal_id == upload["signal_id"] for c in commands)

    # The job redelivered (SQS is at-least-once): the signal is done and dispatched, so the
    # worker does not even call fan-out again.
    from signalos.signals import data
    from signalos.trading import fanout

    from infra.local.events import sqs_record

    assert data.get_signal(owner_id, upload["signal_id"]).dispatched_revision == 0
    calls = []
    monkeypatch.setattr(fanout, "dispatch_signal", calls.append)
    job = {
        "MessageId": str(uuid.uuid4()),
        "ReceiptHandle": "r",
        "Body": json.dumps(
            {"signal_id": upload["signal_id"], "user_id": owner_id, "kind": "ocr", "revision": 0}
        ),
    }
    result = aws.invoke(
        "SignalWorkerFunction", {"Records": [sqs_record(job, queue_arn=aws.attr("SignalJobsQueue", "Arn"))]}
    )
    assert result == {"batchItemFailures": []} and calls == []
