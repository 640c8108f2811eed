"""Telegram updates reduced to posts: every accepted kind, photos, replies, edits, junk ignored."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from signalos.telegram.secret import secret_matches
from signalos.telegram.updates import parse_update

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
CHANNEL = {"id": -1001234567890, "title": "Gold Signals VIP", "type": "channel"}


def test_channel_post_without_from():
    post = parse_update(
        {
            "update_id": 10,
            "channel_post": {
                "message_id": 55,
                "chat": CHANNEL,
                "date": 1795341600,
                "text": "XAUUSD SELL NOW",
            },
        },
        now=NOW,
    )
    assert post is not None
    assert (post.kind, post.chat_id, post.message_id, post.text) == (
        "channel_post",
        -1001234567890,
        55,
        "XAUUSD SELL NOW",
    )
    assert post.date == datetime.fromtimestamp(1795341600, UTC)
    assert not post.is_edit and post.chat_title == "Gold Signals VIP"


@pytest.mark.parametrize("kind", ["message", "edited_message", "edited_channel_post"])
def test_other_post_kinds(kind):
    post = parse_update(
        {
            "update_id": 11,
            kind: {
                "message_id": 9,
                "chat": {"id": 42, "type": "group", "title": "g"},
                "date": 1795341600,
                "edit_date": 1795341610,
                "from": {"id": 7, "is_bot": False, "first_name": "A"},
                "text": "hi",
            },
        },
        now=NOW,
    )
    assert post.kind == kind
    assert post.is_edit is kind.startswith("edited_")
    assert post.edit_date == datetime.fromtimestamp(1795341610, UTC)


def test_photo_takes_the_largest_size_and_the_caption():
    post = parse_update(
        {
            "update_id": 12,
            "channel_post": {
                "message_id": 56,
                "chat": CHANNEL,
                "date": 1795341600,
                "caption": "GOLD BUY 1950 SL 1940",
                "photo": [
                    {"file_id": "small", "file_unique_id": "a", "width": 90, "height": 60, "file_size": 1200},
                    {
                        "file_id": "large",
                        "file_unique_id": "c",
                        "width": 1280,
                        "height": 853,
                        "file_size": 98000,
                    },
                    {
                        "file_id": "medium",
                        "file_unique_id": "b",
                        "width": 320,
                        "height": 213,
                        "file_size": 15000,
                    },
                ],
            },
        },
        now=NOW,
    )
    assert post.photo.file_id == "large"
    assert post.text == "GOLD BUY 1950 SL 1940"


def test_reply_to_message_is_one_level():
    post = parse_update(
        {
            "update_id": 13,
            "channel_post": {
                "message_id": 60,
                "chat": CHANNEL,
                "date": 1795341700,
                "text": "close now",
                "reply_to_message": {
                    "message_id": 55,
                    "chat": CHANNEL,
                    "date": 1795341600,
                    "text": "XAUUSD SELL",
                },
            },
        },
        now=NOW,
    )
    assert post.reply_to_message_id == 55
    assert post.source_ref()["reply_to_message_id"] == 55


@pytest.mark.parametrize(
    "update",
    [
        None,
        [],
        {"update_id": "1"},
        {"update_id": True, "message": {}},
        {"update_id": 1},
        {"update_id": 1, "callback_query": {"id": "x"}},
        {"update_id": 1, "message": {"message_id": 1, "chat": {"type": "private"}, "text": "x"}},
        {"update_id": 1, "message": {"chat": {"id": 1}, "text": "x"}},
        {"update_id": 1, "message": "not an object"},
    ],
)
def test_junk_is_ignored_not_an_error(update):
    assert parse_update(update, now=NOW) is None


def test_missing_date_falls_back_to_now_and_text_is_capped():
    post = parse_update(
        {"update_id": 1, "message": {"message_id": 1, "chat": {"id": 1}, "text": "x" * 20000}}, now=NOW
    )
    assert post.date == NOW and len(post.text) == 8192


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("/link ABCD-EFGH", "ABCD-EFGH"),
        ("/link abcd-efgh", "ABCD-EFGH"),
        ("/link@SignalOSBot WXYZ2345", "WXYZ2345"),
        ("/link", None),
        ("please /link ABCD-EFGH", None),
        ("/linked ABCD", None),
    ],
)
def test_link_command(text, code):
    post = parse_update(
        {"update_id": 1, "message": {"message_id": 1, "chat": {"id": 1}, "text": text}}, now=NOW
    )
    assert post.link_code == code


def test_secret_comparison():
    assert secret_matches("s3cret_-Token", "s3cret_-Token")
    assert not secret_matches("s3cret_-Token ", "s3cret_-Token")
    assert not secret_matches(None, "x")
    assert not secret_matches("", "")
    assert not secret_matches("x", "")
