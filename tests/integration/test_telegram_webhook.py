"""The Telegram webhook through its Lambda handler (call_api) on the embedded AWS, with the real
signals service and rules parser behind it and the fake Bot API for photos: secret, redeliveries,
/link, edits that complete a bare signal, reply-based close, photos, junk."""

from __future__ import annotations

import io
import itertools
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from signalos.common.clock import utc_now
from signalos.common.dynamo import Table
from signalos.contracts.orders import OrderCommandEnvelope

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "telegram"))
from fake_bot_api import TOKEN, FakeBotApi

HOOK = "/api/v1/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
CHAT = {"id": -1001987654321, "title": "Gold VIP", "type": "channel"}
_UPDATE_IDS = itertools.count(700_000_000)


@pytest.fixture
def secret(aws):
    return aws.secret_json("TelegramSecret")["webhook_secret"]


def post(call_api, update, secret_value):
    headers = {SECRET_HEADER: secret_value} if secret_value is not None else {}
    return call_api("POST", HOOK, json=update, headers=headers)


def channel_post(text, message_id, *, edited=False, reply_to=None, date=None, photo=None, chat=CHAT):
    msg: dict[str, Any] = {"message_id": message_id, "chat": chat, "date": date or int(utc_now().timestamp())}
    if photo:
        msg["photo"], msg["caption"] = photo, text
    else:
        msg["text"] = text
    if edited:
        msg["edit_date"] = int(utc_now().timestamp())
    if reply_to is not None:
        msg["reply_to_message"] = {"message_id": reply_to, "chat": chat, "date": msg["date"], "text": "..."}
    return {"update_id": next(_UPDATE_IDS), ("edited_channel_post" if edited else "channel_post"): msg}


def user(call_api):
    name, pw = f"trader_{uuid.uuid4().hex[:10]}", "correct horse battery"
    call_api("POST", "/api/v1/auth/register", json={"username": name, "password": pw})
    _, _, tokens = call_api("POST", "/api/v1/auth/login", json={"username": name, "password": pw})
    return tokens["user"]["id"], {"Authorization": f"Bearer {tokens['access_token']}"}


def provider(call_api, headers):
    status, _, body = call_api(
        "POST", "/api/v1/signals/providers", headers=headers, json={"name": "Gold VIP"}
    )
    assert status == 201, body
    return body["provider_id"]


def link(call_api, headers, pid, secret_value, chat=CHAT):
    status, _, code = call_api(
        "POST", "/api/v1/telegram/link-codes", headers=headers, json={"provider_id": pid}
    )
    assert status == 201, code
    status, _, reply = post(call_api, channel_post(code["command"], 1, chat=chat), secret_value)
    assert status == 200
    return code, reply


@pytest.fixture
def wired(aws, call_api, secret):
    """A user with a provider linked to CHAT, a paper account, and a subscription."""
    uid, h = user(call_api)
    pid = provider(call_api, h)
    link(call_api, h, pid, secret)
    status, _, acc = call_api(
        "POST", "/api/v1/bridge/register", headers=h, json={"name": "paper", "kind": "paper"}
    )
    assert status == 201
    status, _, _ = call_api(
        "POST",
        "/api/v1/subscriptions",
        headers=h,
        json={"provider_id": pid, "account_id": acc["account_id"], "rules": {"fixed_lot": 0.02}},
    )
    assert status == 201
    return {"uid": uid, "h": h, "pid": pid, "acc": acc["account_id"], "url": acc["queue_url"]}


def drain(aws, url):
    sqs, out = aws.client("sqs"), []
    while msgs := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get(
        "Messages"
    ):
        for m in msgs:
            out.append(OrderCommandEnvelope.parse_body(m["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return out


def signals_table_items(prefix: str) -> list[dict]:
    table = Table.from_env("SIGNALS_TABLE")
    raw = table.client.scan(TableName=table.name).get("Items", [])
    return [i for i in raw if i["pk"]["S"].startswith(prefix) or i["sk"]["S"].startswith(prefix)]


def signal_history(call_api, headers):
    status, _, body = call_api("GET", "/api/v1/signals/history", headers=headers)
    assert status == 200, body
    return body["items"]


# --- the secret -----------------------------------------------------------------------------------


@pytest.mark.parametrize("presented", [None, "", "wrong-secret", "x" * 300])
def test_missing_or_wrong_secret_is_401_and_nothing_is_stored(aws, call_api, secret, presented):
    status, _, body = post(call_api, channel_post("XAUUSD BUY NOW SL 1940", 10), presented)
    assert status == 401
    assert body["error"]["code"] == "INVALID_WEBHOOK_SECRET"
    assert signals_table_items("TGUPDATE#") == [] and signals_table_items("SIGNAL#") == []


def test_the_right_secret_is_accepted_and_unlinked_chats_are_ignored(aws, call_api, secret):
    status, _, body = post(call_api, channel_post("XAUUSD BUY NOW", 10), secret)
    assert (status, body) == (200, {"ok": True})
    assert signals_table_items("SIGNAL#") == []  # the chat is not linked to any provider
    assert len(signals_table_items("TGUPDATE#")) == 1


def test_env_override_of_the_secret(aws, call_api, monkeypatch):
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", "local_Secret-123")
    assert post(call_api, channel_post("hi", 1), "local_Secret-123")[0] == 200
    assert post(call_api, channel_post("hi", 2), "other")[0] == 401


@pytest.mark.parametrize("body", ["not json", "[1, 2]", '{"update_id": "x"}', '{"update_id": 5, "poll": {}}'])
def test_unusable_bodies_after_auth_are_200(aws, call_api, secret, body):
    status, _, answer = call_api(
        "POST", HOOK, headers={SECRET_HEADER: secret, "content-type": "application/json"}, body=body
    )
    assert status == 200 and answer == {"ok": True}


# --- linking --------------------------------------------------------------------------------------


def test_link_code_links_the_chat_once(aws, call_api, secret):
    _, h = user(call_api)
    pid = provider(call_api, h)
    code, reply = link(call_api, h, pid, secret)
    assert reply["method"] == "sendMessage" and reply["chat_id"] == CHAT["id"] and "Linked" in reply["text"]
    _, _, links = call_api("GET", "/api/v1/telegram/links", headers=h)
    assert [(x["provider_id"], x["chat_id"], x["chat_title"]) for x in links["items"]] == [
        (pid, CHAT["id"], "Gold VIP")
    ]
    # SIGNALS' provider view shows the link too (same item).
    _, _, prov = call_api("GET", f"/api/v1/signals/providers/{pid}", headers=h)
    assert prov["telegram"]["chat_id"] == CHAT["id"]
    # The same code again (from another chat) links nothing.
    other_chat = {"id": -1002222, "title": "Copycat", "type": "channel"}
    _, _, refused = post(call_api, channel_post(code["command"], 2, chat=other_chat), secret)
    assert "not valid" in refused["text"]
    from signalos.telegram import data

    assert data.linked_providers(-1002222) == []
    assert call_api("DELETE", f"/api/v1/telegram/links/{pid}", headers=h)[0] == 200
    assert data.linked_providers(CHAT["id"]) == []


def test_a_code_bound_to_a_chat_only_works_there(aws, call_api, secret):
    _, h = user(call_api)
    pid = provider(call_api, h)
    status, _, code = call_api(
        "POST", "/api/v1/telegram/links", headers=h, json={"provider_id": pid, "chat_id": -100777}
    )
    assert status == 201 and code["chat_id"] == -100777
    assert "not valid" in post(call_api, channel_post(code["command"], 3), secret)[2]["text"]
    mine = {"id": -100777, "title": "Mine", "type": "channel"}
    assert "Linked" in post(call_api, channel_post(code["command"], 3, chat=mine), secret)[2]["text"]


def test_linking_someone_elses_provider_is_404(aws, call_api, secret):
    _, h = user(call_api)
    pid = provider(call_api, h)
    _, other = user(call_api)
    assert call_api("POST", "/api/v1/telegram/link-codes", headers=other, json={"provider_id": pid})[0] == 404
    assert call_api("GET", f"/api/v1/telegram/links/{pid}", headers=other)[0] == 404


# --- signals --------------------------------------------------------------------------------------


def test_a_redelivered_update_is_dropped(aws, call_api, wired, secret):
    update = channel_post("XAUUSD SELL SL 1960 TP1 1945", 20)
    assert post(call_api, update, secret)[0] == 200
    assert post(call_api, update, secret)[0] == 200
    assert [s["text"] for s in signal_history(call_api, wired["h"])] == ["XAUUSD SELL SL 1960 TP1 1945"]
    assert [c.type for c in drain(aws, wired["url"])] == ["open"]


def test_an_edit_completes_the_bare_signal_without_a_second_set_of_orders(aws, call_api, wired, secret):
    date = int(utc_now().timestamp())
    assert post(call_api, channel_post("XAUUSD SELL NOW", 30, date=date), secret)[0] == 200
    [opened] = drain(aws, wired["url"])
    assert opened.type == "open" and opened.stop_loss is None
    edit = channel_post("XAUUSD SELL NOW SL 1960 TP1 1945 TP2 1940", 30, edited=True, date=date)
    assert post(call_api, edit, secret)[0] == 200
    cmds = drain(aws, wired["url"])
    assert [(c.type, c.action, c.target_order_ids, c.stop_loss, c.take_profit) for c in cmds] == [
        ("manage", "modify", [opened.order_id], 1960.0, 1945.0)
    ]
    _, _, hist = call_api("GET", "/api/v1/trades/history", headers=wired["h"])
    assert len(hist["items"]) == 1
    _, _, sig = call_api("GET", f"/api/v1/signals/{opened.signal_id}", headers=wired["h"])
    assert sig["revision"] == 1 and sig["results"][0]["stop_loss"] == 1960.0
    assert len(signal_history(call_api, wired["h"])) == 1  # the edit updated the signal, no new one


def test_a_close_reply_closes_the_positions_of_the_signal_it_answers(aws, call_api, wired, secret):
    post(call_api, channel_post("XAUUSD BUY SL 1940 TP1 1960", 40), secret)
    post(call_api, channel_post("EURUSD BUY SL 1.0900 TP1 1.1100", 41), secret)
    opened = {c.symbol: c for c in drain(aws, wired["url"])}
    assert set(opened) == {"XAUUSD", "EURUSD"}
    assert post(call_api, channel_post("close now", 42, reply_to=40), secret)[0] == 200
    [cmd] = drain(aws, wired["url"])
    assert (cmd.action, cmd.target_order_ids) == ("close", [opened["XAUUSD"].order_id])
    reply = next(s for s in signal_history(call_api, wired["h"]) if s["text"] == "close now")
    assert reply["reply_to_signal_id"] == opened["XAUUSD"].signal_id


def test_a_management_message_without_reply_targets_the_latest_open_signal(aws, call_api, wired, secret):
    post(call_api, channel_post("XAUUSD BUY SL 1940 TP1 1960", 50), secret)
    post(call_api, channel_post("EURUSD BUY SL 1.0900 TP1 1.1100", 51), secret)
    opened = {c.symbol: c for c in drain(aws, wired["url"])}
    post(call_api, channel_post("close all now", 52), secret)
    [cmd] = drain(aws, wired["url"])
    assert cmd.target_order_ids == [opened["EURUSD"].order_id]


def png(width: int, height: int) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), "white").save(out, format="PNG")
    return out.getvalue()


def test_a_photo_goes_to_the_slow_path_with_the_largest_size(aws, call_api, wired, secret, monkeypatch):
    big, small = png(640, 480), png(90, 68)
    with FakeBotApi() as bot:
        monkeypatch.setenv("TELEGRAM_API_BASE", bot.base_url)
        monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
        bot.add_photo("big_id", big)
        bot.add_photo("small_id", small)
        photo = [
            {
                "file_id": "small_id",
                "file_unique_id": "s",
                "width": 90,
                "height": 68,
                "file_size": len(small),
            },
            {"file_id": "big_id", "file_unique_id": "b", "width": 640, "height": 480, "file_size": len(big)},
        ]
        assert post(call_api, channel_post("GOLD BUY see chart", 60, photo=photo), secret)[0] == 200
        fetched = [r["path"] for r in bot.requests if r["method"] == "GET"]
    assert fetched == [f"/file/bot{TOKEN}/photos/file_0.jpg"]
    [sig] = signal_history(call_api, wired["h"])
    assert sig["has_image"] is True and sig["text"] == "GOLD BUY see chart"
    assert sig["status"] in {"queued", "parsed", "failed"}  # OCR is the worker's job
    item = Table.from_env("SIGNALS_TABLE").get(f"USER#{wired['uid']}", f"SIGNAL#{sig['signal_id']}")
    stored = (
        aws.client("s3").get_object(Bucket=aws.ref("ReportsBucket"), Key=item["image_key"])["Body"].read()
    )
    assert stored == big
    assert drain(aws, wired["url"]) == []  # fan-out happens when the slow path has parsed it


def test_a_failure_inside_is_still_200_and_logged(aws, call_api, wired, secret, monkeypatch):
    from signalos.signals import service

    def broken(**kwargs):
        raise RuntimeError("storage down")

    monkeypatch.setattr(service, "ingest_text", broken)
    status, _, body = post(call_api, channel_post("XAUUSD BUY SL 1940", 70), secret)
    assert (status, body) == (200, {"ok": True})
    assert drain(aws, wired["url"]) == []
