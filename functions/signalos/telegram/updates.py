"""A Telegram Update, reduced to what SignalOS acts on (pure; Telegram is untrusted input).

Accepted update kinds: `message`, `channel_post`, `edited_message`, `edited_channel_post`.
In channels `from` may be absent; the chat identifies the source. `reply_to_message` is one
level deep. A photo is a list of sizes: the largest is taken, its text is the `caption`.
Anything else (callback queries, member updates, polls, ...) is ignored, never an error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

POST_KINDS = ("message", "channel_post", "edited_message", "edited_channel_post")
MAX_TEXT = 8192  # Telegram caps text at 4096 and captions at 1024 characters
_LINK_COMMAND = re.compile(r"^/link(?:@[A-Za-z0-9_]{3,64})?\s+([A-Za-z0-9\-]{4,32})\s*$")


@dataclass(frozen=True)
class Photo:
    file_id: str
    file_unique_id: str | None
    width: int | None
    height: int | None
    file_size: int | None


@dataclass(frozen=True)
class TelegramPost:
    update_id: int
    kind: str
    chat_id: int
    chat_type: str | None
    chat_title: str | None
    message_id: int
    date: datetime  # when the provider posted it (the original post, also for edits)
    edit_date: datetime | None
    text: str  # the text, or the photo's caption
    photo: Photo | None
    reply_to_message_id: int | None
    media_group_id: str | None

    @property
    def is_edit(self) -> bool:
        return self.kind.startswith("edited_")

    @property
    def link_code(self) -> str | None:
        """CODE of a `/link CODE` bot command, else None."""
        match = _LINK_COMMAND.match(self.text.strip())
        return match.group(1).upper() if match else None

    def source_ref(self) -> dict[str, Any]:
        ref: dict[str, Any] = {
            "chat_id": self.chat_id,
            "message_id": self.message_id,
            "update_id": self.update_id,
            "kind": self.kind,
        }
        if self.chat_title:
            ref["chat_title"] = self.chat_title
        if self.reply_to_message_id is not None:
            ref["reply_to_message_id"] = self.reply_to_message_id
        if self.edit_date is not None:
            ref["edit_date"] = self.edit_date.isoformat()
        return ref


def _int(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


def _epoch(value: Any) -> datetime | None:
    n = _int(value)
    if n is None or n <= 0:
        return None
    try:
        return datetime.fromtimestamp(n, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _largest_photo(sizes: Any) -> Photo | None:
    if not isinstance(sizes, list):
        return None
    best: Photo | None = None
    best_area = -1
    for size in sizes:
        if not isinstance(size, dict) or not isinstance(size.get("file_id"), str) or not size["file_id"]:
            continue
        width, height = _int(size.get("width")), _int(size.get("height"))
        area = (width or 0) * (height or 0) or (_int(size.get("file_size")) or 0)
        if area > best_area:
            best_area = area
            unique = size.get("file_unique_id")
            best = Photo(
                file_id=size["file_id"][:256],
                file_unique_id=unique if isinstance(unique, str) else None,
                width=width,
                height=height,
                file_size=_int(size.get("file_size")),
            )
    return best


def update_id_of(update: Any) -> int | None:
    return _int(update.get("update_id")) if isinstance(update, dict) else None


def parse_update(update: Any, *, now: datetime) -> TelegramPost | None:
    """The post in an update, or None when the update is not a post SignalOS acts on."""
    update_id = update_id_of(update)
    if update_id is None:
        return None
    kind = next((k for k in POST_KINDS if isinstance(update.get(k), dict)), None)
    if kind is None:
        return None
    msg = update[kind]
    chat = msg.get("chat")
    if not isinstance(chat, dict) or _int(chat.get("id")) is None or _int(msg.get("message_id")) is None:
        return None
    text = msg.get("text")
    if not isinstance(text, str):
        text = msg.get("caption") if isinstance(msg.get("caption"), str) else ""
    photo = _largest_photo(msg.get("photo"))
    reply = msg.get("reply_to_message")
    reply_id = _int(reply.get("message_id")) if isinstance(reply, dict) else None
    title = chat.get("title") or chat.get("username")
    media_group = msg.get("media_group_id")
    return TelegramPost(
        update_id=update_id,
        kind=kind,
        chat_id=int(chat["id"]),
        chat_type=chat.get("type") if isinstance(chat.get("type"), str) else None,
        chat_title=str(title)[:128] if isinstance(title, str) else None,
        message_id=int(msg["message_id"]),
        date=_epoch(msg.get("date")) or now,
        edit_date=_epoch(msg.get("edit_date")),
        text=text[:MAX_TEXT],
        photo=photo,
        reply_to_message_id=reply_id,
        media_group_id=str(media_group)[:64] if isinstance(media_group, str | int) else None,
    )
