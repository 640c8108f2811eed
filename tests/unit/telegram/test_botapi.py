"""The Bot API client against a fake Bot API over real HTTP: getFile, download, setWebhook, SSRF guards."""

from __future__ import annotations

import pytest
from fake_bot_api import TOKEN
from signalos.telegram import botapi


def test_get_file_then_download(bot_api):
    bot_api.add_photo("AgACAgQAAxkBAAIBX2", b"\xff\xd8\xff\xe0 jpeg bytes")
    file = botapi.get_file(TOKEN, "AgACAgQAAxkBAAIBX2")
    assert file.file_path.startswith("photos/")
    assert botapi.download(TOKEN, file) == b"\xff\xd8\xff\xe0 jpeg bytes"
    assert [r["path"] for r in bot_api.requests] == [
        f"/bot{TOKEN}/getFile",
        f"/file/bot{TOKEN}/{file.file_path}",
    ]


def test_unknown_file_and_wrong_token_are_errors(bot_api):
    with pytest.raises(botapi.BotApiError, match="invalid file_id"):
        botapi.get_file(TOKEN, "nope")
    with pytest.raises(botapi.BotApiError, match="Unauthorized"):
        botapi.get_file("987654321:AAHsomeoneElsesTokenXXXXXXXXXXXXXX", "nope")


@pytest.mark.parametrize(
    "path",
    [
        "../../etc/passwd",
        "/etc/passwd",
        "https://evil.example/x.jpg",
        "photos/../../secret",
        "photos/a b.jpg",
    ],
)
def test_a_file_path_that_is_not_a_telegram_relative_path_is_refused(bot_api, path):
    bot_api.files["f"] = (path, b"x")
    with pytest.raises(botapi.BotApiError, match="file_path"):
        botapi.get_file(TOKEN, "f")
    assert not any(r["method"] == "GET" for r in bot_api.requests)


def test_download_is_capped(bot_api):
    bot_api.add_photo("big", b"x" * 5000)
    file = botapi.get_file(TOKEN, "big")
    with pytest.raises(botapi.BotApiError, match="limit"):
        botapi.download(TOKEN, file, max_bytes=1000)


def test_set_webhook_payload_and_call(bot_api):
    payload = botapi.set_webhook_payload(
        "https://abc.execute-api.eu-west-1.amazonaws.com/api/v1/telegram/webhook", "Sec_ret-123"
    )
    assert botapi.call(TOKEN, "setWebhook", payload) is True
    assert bot_api.webhook["secret_token"] == "Sec_ret-123"
    assert bot_api.webhook["allowed_updates"] == [
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
    ]


@pytest.mark.parametrize(
    ("url", "secret"), [("http://insecure/x", "abc"), ("https://ok/x", "bad secret!"), ("https://ok/x", "")]
)
def test_set_webhook_payload_refuses_what_telegram_would(url, secret):
    with pytest.raises(botapi.BotApiError):
        botapi.set_webhook_payload(url, secret)


def test_token_format_is_checked_before_any_request():
    with pytest.raises(botapi.BotApiError, match="format"):
        botapi.get_file("not-a-token/../x", "f")
