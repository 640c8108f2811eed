"""What the webhook does with one authenticated Telegram update (the route only checks the secret).

1. Drop a redelivered `update_id` (a leased claim in SignalsTable; see telegram.data).
2. Reduce the update to a post (message, channel post, or their edits); ignore anything else.
3. `/link CODE` links the chat to the provider the code was issued for, and answers in the chat.
4. Every provider linked to the chat gets the post as a signal (its owner's): text on the fast
   path through `signals.service.ingest_text`, photos through `ingest_image` (slow path) after a
   download from Telegram's file endpoint. Replies carry the signal they answer; edits update
   the signal the message became (and fan-out updates its orders instead of opening more).
5. A parsed signal is fanned out at once (`trading.fanout.dispatch_signal`); a management
   message that is not a reply is aimed at the chat's latest open signal for its symbol.

Nothing here raises to the route for a bad post: every outcome is logged and the route answers
200, so Telegram never retries (and piles up) a post we cannot use.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from signalos.common.clock import utc_now
from signalos.telegram import data
from signalos.telegram.updates import TelegramPost, parse_update, update_id_of

log = logging.getLogger(__name__)

MAX_IMAGE_BYTES = 10 * 1024 * 1024


@dataclass
class WebhookResult:
    outcome: str
    signals: list[str] = field(default_factory=list)
    reply: dict[str, Any] | None = None  # a Bot API method to answer with (webhook reply)


def _signals_service() -> Any:
    from signalos.signals import service

    return service


def _dispatch(event: Any) -> None:
    """Fan out now; what failed inline is retried by the fan-out worker (fan-out is idempotent)."""
    from signalos.trading import fanout

    try:
        summary = fanout.dispatch_signal(event)
        if not summary.failed:
            return
        log.warning("fan-out incomplete: retrying on the worker", extra={"signal_id": event.signal_id})
    except Exception:
        log.exception("fan-out failed: retrying on the worker", extra={"signal_id": event.signal_id})
    fanout.retry_later(event)


def handle_update(update: Any, *, received_at: datetime | None = None) -> WebhookResult:
    received_at = received_at or utc_now()
    update_id = update_id_of(update)
    if update_id is None:
        return WebhookResult("ignored: not an update")
    if not data.claim_update(update_id, received_at):
        return WebhookResult("duplicate")
    outcome = WebhookResult("ignored")
    try:
        outcome = _handle(update, received_at)
    except Exception:
        # The post is lost to trading but never to the logs; Telegram must not retry it forever.
        log.exception("telegram update failed", extra={"update_id": update_id})
        outcome = WebhookResult("failed")
    finally:
        try:
            data.finish_update(update_id, outcome.outcome, utc_now())
        except Exception:
            log.exception("could not mark the update done", extra={"update_id": update_id})
    log.info(
        "telegram update",
        extra={"update_id": update_id, "outcome": outcome.outcome, "signals": outcome.signals},
    )
    return outcome


def _handle(update: dict[str, Any], received_at: datetime) -> WebhookResult:
    post = parse_update(update, now=received_at)
    if post is None:
        return WebhookResult("ignored: not a post")
    code = post.link_code
    if code is not None and not post.is_edit:
        linked = data.consume_code(code, post.chat_id, post.chat_title, received_at)
        return WebhookResult(
            "linked" if linked.ok else "link refused",
            reply={"method": "sendMessage", "chat_id": post.chat_id, "text": linked.message},
        )
    providers = data.linked_providers(post.chat_id)
    if not providers:
        return WebhookResult("ignored: chat not linked")
    if not post.text.strip() and post.photo is None:
        return WebhookResult("ignored: no text")
    image: bytes | None = None
    if post.photo is not None:
        image = _download_photo(post)
        if image is None and not post.text.strip():
            return WebhookResult("failed: photo unavailable")
    result = WebhookResult("stored")
    for provider in providers:
        user_id, provider_id = str(provider["user_id"]), str(provider["provider_id"])
        try:
            signal_id = _ingest_for(post, image, user_id, provider_id, received_at)
        except Exception:
            log.exception(
                "signal not stored for a linked provider",
                extra={"update_id": post.update_id, "provider_id": provider_id},
            )
            result.outcome = "partly failed"
            continue
        if signal_id:
            result.signals.append(signal_id)
    return result


def _download_photo(post: TelegramPost) -> bytes | None:
    from signalos.common import secrets
    from signalos.telegram import botapi

    assert post.photo is not None
    if post.photo.file_size is not None and post.photo.file_size > MAX_IMAGE_BYTES:
        log.warning("photo too large", extra={"update_id": post.update_id, "size": post.photo.file_size})
        return None
    try:
        token = secrets.secret_field("TELEGRAM_SECRET_ARN", "bot_token", override_env="TELEGRAM_BOT_TOKEN")
        file = botapi.get_file(token, post.photo.file_id)
        return botapi.download(token, file, max_bytes=MAX_IMAGE_BYTES)
    except Exception:
        log.exception("photo download failed", extra={"update_id": post.update_id})
        return None


def _ingest_for(
    post: TelegramPost, image: bytes | None, user_id: str, provider_id: str, received_at: datetime
) -> str | None:
    """Store the post as this provider's signal, fan it out, and index it; returns the signal id."""
    service = _signals_service()
    edit_of = (
        data.message_signal(post.chat_id, post.message_id, user_id, provider_id) if post.is_edit else None
    )
    reply_to = None
    if post.reply_to_message_id is not None:
        reply_to = data.message_signal(post.chat_id, post.reply_to_message_id, user_id, provider_id)
    common: dict[str, Any] = {
        "user_id": user_id,
        "provider_id": provider_id,
        "source": "telegram",
        "source_ref": post.source_ref(),
        "signal_time": post.date,
        "received_at": received_at,
        "reply_to_signal_id": reply_to,
    }
    if image is not None and edit_of is None:
        record = service.ingest_image(image_bytes=image, caption=post.text or None, **common)
    else:
        record = service.ingest_text(text=post.text, edit_of_signal_id=edit_of, **common)
    symbols = list(getattr(record, "symbols", []) or [])
    parse = getattr(record, "parse", None)
    has_open = bool(parse is not None and parse.opens)
    if edit_of is None:
        data.remember_message(
            post.chat_id,
            post.message_id,
            user_id,
            provider_id,
            record.signal_id,
            symbols,
            has_open,
            received_at,
        )
    if record.status == "parsed" and parse is not None and parse.results:
        event = record.to_event()
        if parse.updates and event.reply_to_signal_id is None:
            symbol = next((u.symbol for u in parse.updates if u.symbol), None)
            target = data.latest_open(post.chat_id, user_id, provider_id, symbol)
            if target and target != record.signal_id:
                event = event.model_copy(update={"reply_to_signal_id": target})
        _dispatch(event)
        if has_open:
            data.set_latest_open(post.chat_id, user_id, provider_id, symbols, record.signal_id, received_at)
    return str(record.signal_id)
