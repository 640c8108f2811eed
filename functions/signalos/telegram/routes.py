"""Telegram routes: the webhook (secret header) and chat linking (JWT/API key, telegram_integration).

The webhook is the one route without a user: it checks Telegram's secret header (401 and
nothing stored when missing or wrong), then always answers 200 (an ignored or failed post is
logged, never retried by Telegram). The body is read by hand, not validated by a model: a post
we cannot use is not a client error Telegram could fix.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.event_handler.api_gateway import Router

from signalos.common.clock import iso, utc_now
from signalos.common.errors import NotFound, ServiceUnavailable, Unauthorized
from signalos.common.guards import current_principal, require_feature
from signalos.common.params import IdPath
from signalos.telegram import data
from signalos.telegram.models import LinkCodeIn, LinkCodeOut, LinkIn, LinkListOut, LinkOut, UnlinkedOut
from signalos.telegram.secret import HEADER, expected_secret, secret_matches

router = Router()
PREFIX = "/api/v1/telegram"
TAGS = ["telegram"]


def _header(name: str) -> str | None:
    for key, value in (router.current_event.headers or {}).items():
        if key.lower() == name:
            return value
    return None


@router.post(f"{PREFIX}/webhook", tags=TAGS, summary="Telegram Bot API webhook (secret header)")
def webhook() -> dict[str, Any]:
    from signalos.common.secrets import SecretUnavailable

    try:
        expected = expected_secret()
    except SecretUnavailable as exc:
        # A deployment problem: let Telegram retry later rather than drop posts.
        raise ServiceUnavailable("The webhook is not configured") from exc
    if not secret_matches(_header(HEADER), expected):
        raise Unauthorized("Missing or wrong webhook secret", code="INVALID_WEBHOOK_SECRET")
    received_at = utc_now()
    try:
        update = json.loads(router.current_event.decoded_body or "null")
    except (ValueError, UnicodeDecodeError):
        update = None
    from signalos.telegram.webhook import handle_update

    result = handle_update(update, received_at=received_at)
    # Telegram accepts a Bot API method as the webhook's answer (used to reply to /link).
    return result.reply or {"ok": True}


def _owned_provider(user_id: str, provider_id: str) -> dict[str, Any]:
    item = data.get_provider_item(user_id, provider_id)
    if item is None:
        raise NotFound("No such provider", code="PROVIDER_NOT_FOUND")
    return item


def _link_out(item: dict[str, Any]) -> LinkOut:
    tg = item.get("telegram") or {}
    return LinkOut(
        provider_id=str(item["provider_id"]),
        provider_name=item.get("name"),
        chat_id=int(tg["chat_id"]),
        chat_title=tg.get("title"),
        linked_at=tg.get("linked_at"),
    )


def _code_out(code: str, provider_id: str, chat_id: int | None, expires: Any) -> LinkCodeOut:
    return LinkCodeOut(
        code=code, provider_id=provider_id, chat_id=chat_id, expires_at=iso(expires), command=f"/link {code}"
    )


@router.post(f"{PREFIX}/link-codes", status_code=201, tags=TAGS, summary="A one-time /link code (10 minutes)")
@require_feature("telegram_integration")
def create_link_code(body: LinkCodeIn) -> LinkCodeOut:
    user_id = current_principal(router).user_id
    _owned_provider(user_id, body.provider_id)
    code, expires = data.create_code(user_id, body.provider_id, None, utc_now())
    return _code_out(code, body.provider_id, None, expires)


@router.post(
    f"{PREFIX}/links",
    status_code=201,
    tags=TAGS,
    summary="Link a chat to a provider (confirmed by posting /link CODE in that chat)",
)
@require_feature("telegram_integration")
def create_link(body: LinkIn) -> LinkCodeOut:
    # Naming a chat is not proof of controlling it: the link becomes active only when the code
    # is posted in that very chat (so nobody can read a chat they do not run).
    user_id = current_principal(router).user_id
    _owned_provider(user_id, body.provider_id)
    code, expires = data.create_code(user_id, body.provider_id, body.chat_id, utc_now())
    return _code_out(code, body.provider_id, body.chat_id, expires)


@router.get(f"{PREFIX}/links", tags=TAGS, summary="Your providers' linked chats")
@require_feature("telegram_integration")
def list_links() -> LinkListOut:
    user_id = current_principal(router).user_id
    return LinkListOut(items=[_link_out(i) for i in data.list_links(user_id)])


@router.get(f"{PREFIX}/links/<provider_id>", tags=TAGS, summary="The chat linked to one provider")
@require_feature("telegram_integration")
def get_link(provider_id: IdPath) -> LinkOut:
    item = _owned_provider(current_principal(router).user_id, provider_id)
    if not isinstance(item.get("telegram"), dict):
        raise NotFound("This provider has no linked chat", code="LINK_NOT_FOUND")
    return _link_out(item)


@router.delete(f"{PREFIX}/links/<provider_id>", tags=TAGS, summary="Unlink a provider's chat")
@require_feature("telegram_integration")
def delete_link(provider_id: IdPath) -> UnlinkedOut:
    user_id = current_principal(router).user_id
    _owned_provider(user_id, provider_id)
    if not data.unlink(user_id, provider_id):
        raise NotFound("This provider has no linked chat", code="LINK_NOT_FOUND")
    return UnlinkedOut(provider_id=provider_id)
