"""The Telegram webhook through its Lambda handler (call_api) on the embedded AWS, with the fake Bot API:
secret, redeliveries, /link, edits that complete a bare signal, reply-based close, photos."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from signalos.common.clock import iso, utc_now
from signalos.common.dynamo import Table
from signalos.contracts.orders import OrderCommandEnvelope

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "telegram"))
from fake_bot_api import TOKEN, FakeBotApi
from fake_signals import FakeSignals

HOOK = "/api/v1/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
CHAT = {"id": -1001987654321, "title": "Gold VIP", "type": "channel"}


@pytest.fixture
def signals(aws, monkeypatch):
    from signalos.telegram import webhook

    fake = FakeSignals()
    monkeypatch.setattr(webhook, "_signals_service", lambda: fake)
    return fake


@pytest.fixture
def secret(aws):
    return aws.secret_json("TelegramSecret")["webhook_secret"]


def post(call_api, update, secret_value):
    headers = {SECRET_HEADER: secret_value} if secret_value is not None else {}
    return call_api("POST", HOOK, json=update, headers=headers)


_UPDATE_IDS = iter(range(700_000_000, 800_000_000))


def channel_post(text, message_id, *, edited=False, reply_to=None, date=None, photo=None):
    msg: dict[str, Any] = {"message_id": message_id, "chat": CHAT, "date": date or int(utc_now().timestamp())}
    if photo:
        msg["photo"], msg["caption"] = photo, text
    else:
        msg["text"] = text
    if edited:
        msg["edit_date"] = int(utc_now().timestamp())
    if reply_to is not None:
        msg["reply_to_message"] = {"message_id": reply_to, "chat": CHAT, "date": msg["date"], "text": "..."}
    return {"update_id": next(_UPDATE_IDS), ("edited_channel_post" if edited else "channel_post"): msg}


def user(call_api):
    name, pw = f"trader_{uuid.uuid4().hex[:10]}", "correct horse battery"
    call_api("POST", "/api/v1/auth/register", json={"username": name, "password": pw})
    _, _, tokens = call_api("POST", "/api/v1/auth/login", json={"username": name, "password": pw})
    return tokens["user"]["id"], {"Authorization": f"Bearer {tokens['access_token']}"}


def provider(user_id):
    """A provider item in SIGNALS' shape (pk USER#, sk PROVIDER#, type provider)."""
    pid, now = f"prv_{uuid.uuid4().hex[:8]}", iso(utc_now())
    Table.from_env("SIGNALS_TABLE").put(
        {
            "pk": f"USER#{user_id}",
            "sk": f"PROVIDER#{pid}",
            "type": "provider",
            "provider_id": pid,
            "user_id": user_id,
            "name": "Gold VIP",
            "visibility": "private",
            "created_at": now,
            "updated_at": now,
        }
    )
    return pid


def link(call_api, headers, pid, secret_value, chat=CHAT):
    status, _, code = call_api(
        "POST", "/api/v1/telegram/link-codes", headers=headers, json={"provider_id": pid}
    )
    assert status == 201, code
    update = {
        "update_id": next(_UPDATE_IDS),
        "channel_post": {
            "message_id": 1,
            "chat": chat,
            "date": int(utc_now().timestamp()),
            "text": code["command"],
        },
    }
    status, _, reply = post(call_api, update, secret_value)
    assert status == 200
    return code, reply


@pytest.fixture
def wired(aws, call_api, signals, secret):
    """A user with a provider linked to CHAT, a paper account, and a subscription."""
    uid, h = user(call_api)
    pid = provider(uid)
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


def stored_updates():
    from signalos.telegram.data import table

    return [
        i
        for i in table().client.scan(TableName=table().name).get("Items", [])
        if i["pk"]["S"].startswith("TGUPDATE#")
    ]


# --- the secret -----------------------------------------------------------------------------------


@pytest.mark.parametrize("presented", [None, "", "wrong-secret", "x" * 300])
def test_missing_or_wrong_secret_is_401_and_nothing_is_stored(call_api, signals, secret, presented):
    update = channel_post("XAUUSD BUY NOW SL 1940", 10)
    status, _, body = post(call_api, update, presented)
    assert status == 401
    assert body["error"]["code"] == "INVALID_WEBHOOK_SECRET"
    assert stored_updates() == [] and signals.calls == []


def test_the_right_secret_is_accepted_and_unlinked_chats_are_ignored(call_api, signals, secret):
    status, _, body = post(call_api, channel_post("XAUUSD BUY NOW", 10), secret)
    assert (status, body) == (200, {"ok": True})
    assert signals.calls == []  # the chat is not linked to any provider


def test_env_override_of_the_secret(call_api, signals, monkeypatch):
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", "local_Secret-123")
    assert post(call_api, channel_post("hi", 1), "local_Secret-123")[0] == 200
    assert post(call_api, channel_post("hi", 2), "other")[0] == 401


@pytest.mark.parametrize("body", ["not json", "[1, 2]", '{"update_id": "x"}', '{"update_id": 5, "poll": {}}'])
def test_unusable_bodies_after_auth_are_200(call_api, signals, secret, body):
    status, _, answer = call_api(
        "POST", HOOK, headers={SECRET_HEADER: secret, "content-type": "application/json"}, body=body
    )
    assert status == 200 and answer == {"ok": True}


# --- linking --------------------------------------------------------------------------------------


def test_link_code_links_the_chat_once(call_api, signals, secret):
    uid, h = user(call_api)
    pid = provider(uid)
    code, reply = link(call_api, h, pid, secret)
    assert reply["method"] == "sendMessage" and reply["chat_id"] == CHAT["id"] and "Linked" in reply["text"]
    _, _, links = call_api("GET", "/api/v1/telegram/links", headers=h)
    assert [(x["provider_id"], x["chat_id"], x["chat_title"]) for x in links["items"]] == [
        (pid, CHAT["id"], "Gold VIP")
    ]
    # The same code again (from another chat) links nothing.
    other_chat = {"id": -1002222, "title": "Copycat", "type": "channel"}
    again = {
        "update_id": next(_UPDATE_IDS),
        "channel_post": {
            "message_id": 2,
            "chat": other_chat,
            "date": int(utc_now().timestamp()),
            "text": code["command"],
        },
    }
    _, _, refused = post(call_api, again, secret)
    assert "not valid" in refused["text"]
    from signalos.telegram import data

    assert data.linked_providers(-1002222) == []
    assert call_api("DELETE", f"/api/v1/telegram/links/{pid}", headers=h)[0] == 200
    assert data.linked_providers(CHAT["id"]) == []


def test_a_code_bound_to_a_chat_only_works_there(call_api, signals, secret):
    uid, h = user(call_api)
    pid = provider(uid)
    status, _, code = call_api(
        "POST", "/api/v1/telegram/links", headers=h, json={"provider_id": pid, "chat_id": -100777}
    )
    assert status == 201 and code["chat_id"] == -100777
    wrong = {
        "update_id": next(_UPDATE_IDS),
        "channel_post": {
            "message_id": 3,
            "chat": CHAT,
            "date": int(utc_now().timestamp()),
            "text": code["command"],
        },
    }
    assert "not valid" in post(call_api, wrong, secret)[2]["text"]
    right = {
        "update_id": next(_UPDATE_IDS),
        "channel_post": {
            "message_id": 3,
            "chat": {"id": -100777, "title": "Mine", "type": "channel"},
            "date": int(utc_now().timestamp()),
            "text": code["command"],
        },
    }
    assert "Linked" in post(call_api, right, secret)[2]["text"]


def test_linking_someone_elses_provider_is_404(call_api, signals, secret):
    uid, _ = user(call_api)
    pid = provider(uid)
    _, other = user(call_api)
    status, _, _ = call_api("POST", "/api/v1/telegram/link-codes", headers=other, json={"provider_id": pid})
    assert status == 404


# --- signals --------------------------------------------------------------------------------------


def test_a_redelivered_update_is_dropped(aws, call_api, wired, signals, secret):
    update = channel_post("XAUUSD SELL SL 1960 TP1 1945", 20)
    assert post(call_api, update, secret)[0] == 200
    assert post(call_api, update, secret)[0] == 200
    assert [c[0] for c in signals.calls] == ["text"]
    assert [c.type for c in drain(aws, wired["url"])] == ["open"]


def test_an_edit_completes_the_bare_signal_without_a_second_set_of_orders(
    aws, call_api, wired, signals, secret
):
    date = int(utc_now().timestamp())
    assert post(call_api, channel_post("XAUUSD SELL NOW", 30, date=date), secret)[0] == 200
    [opened] = drain(aws, wired["url"])
    assert opened.type == "open" and opened.stop_loss is None
    edit = channel_post("XAUUSD SELL NOW SL 1960 TP1 1945 TP2 1940", 30, edited=True, date=date)
    assert post(call_api, edit, secret)[0] == 200
    assert signals.calls[-1][1]["edit_of"] == opened.signal_id
    cmds = drain(aws, wired["url"])
    assert [(c.type, c.action, c.target_order_ids, c.stop_loss, c.take_profit) for c in cmds] == [
        ("manage", "modify", [opened.order_id], 1960.0, 1945.0)
    ]
    _, _, hist = call_api("GET", "/api/v1/trades/history", headers=wired["h"])
    assert len(hist["items"]) == 1


def test_a_close_reply_closes_the_positions_of_the_signal_it_answers(aws, call_api, wired, signals, secret):
    post(call_api, channel_post("XAUUSD BUY SL 1940 TP1 1960", 40), secret)
    post(call_api, channel_post("EURUSD BUY SL 1.0900 TP1 1.1100", 41), secret)
    opened = {c.symbol: c for c in drain(aws, wired["url"])}
    assert set(opened) == {"XAUUSD", "EURUSD"}
    assert post(call_api, channel_post("close now", 42, reply_to=40), secret)[0] == 200
    assert signals.calls[-1][1]["reply_to"] == opened["XAUUSD"].signal_id
    [cmd] = drain(aws, wired["url"])
    assert (cmd.action, cmd.target_order_ids) == ("close", [opened["XAUUSD"].order_id])


def test_a_management_message_without_reply_targets_the_latest_open_signal(
    aws, call_api, wired, signals, secret
):
    post(call_api, channel_post("XAUUSD BUY SL 1940 TP1 1960", 50), secret)
    post(call_api, channel_post("EURUSD BUY SL 1.0900 TP1 1.1100", 51), secret)
    opened = {c.symbol: c for c in drain(aws, wired["url"])}
    post(call_api, channel_post("close all now", 52), secret)
    [cmd] = drain(aws, wired["url"])
    assert cmd.target_order_ids == [opened["EURUSD"].order_id]


def test_a_photo_goes_to_the_slow_path_with_the_largest_size(
    aws, call_api, wired, signals, secret, monkeypatch
):
    with FakeBotApi() as bot:
        monkeypatch.setenv("TELEGRAM_API_BASE", bot.base_url)
        monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
        bot.add_photo("big_id", b"\x89PNG big picture")
        bot.add_photo("small_id", b"\x89PNG small")
        photo = [
            {"file_id": "small_id", "file_unique_id": "s", "width": 90, "height": 90, "file_size": 11},
            {"file_id": "big_id", "file_unique_id": "b", "width": 1280, "height": 960, "file_size": 16},
        ]
        assert post(call_api, channel_post("GOLD BUY see chart", 60, photo=photo), secret)[0] == 200
    [(kind, args)] = signals.calls
    assert (
        kind == "image"
        and args["bytes"] == b"\x89PNG big picture"
        and args["caption"] == "GOLD BUY see chart"
    )
    assert drain(aws, wired["url"]) == []  # queued for OCR: fan-out happens when the slow path parses it


def test_a_failure_inside_is_still_200_and_logged(aws, call_api, wired, signals, secret, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("storage down")

    monkeypatch.setattr(signals, "ingest_text", broken)
    status, _, body = post(call_api, channel_post("XAUUSD BUY SL 1940", 70), secret)
    assert (status, body) == (200, {"ok": True})
