"""The audit trail: security-relevant events, one item each, in AUDIT_TABLE.

    from signalos.common import audit
    audit.record("login_failed", user_id=uid, details={"reason": "bad_password"})

Item: pk `AUDIT#<yyyy-mm-dd>`, sk `<iso time>#<id>`, gsi1pk `USER#<uid>`, gsi1sk `<iso time>`
(so an admin can read a day, and a user's history is a key query), TTL `expires_at`.
The request's id, source IP and user agent are taken from the HTTP request being handled.

Writing is best effort: an audit failure is logged loudly but never fails the user's request
(the action itself already happened or was refused).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from signalos.common import settings
from signalos.common.clock import epoch_seconds, iso, utc_now
from signalos.common.ids import new_id
from signalos.common.observability import logger

RETENTION_DAYS_DEFAULT = 400

# Event names used across contexts (free text is allowed, these keep the common ones consistent).
LOGIN_SUCCEEDED = "login_succeeded"
LOGIN_FAILED = "login_failed"
ACCOUNT_LOCKED = "account_locked"
USER_REGISTERED = "user_registered"
PASSWORD_CHANGED = "password_changed"
API_KEY_CREATED = "api_key_created"
API_KEY_REVOKED = "api_key_revoked"
TOKEN_REUSE_DETECTED = "refresh_token_reuse_detected"
LOGOUT = "logout"
DEVICE_BOUND = "device_bound"
DEVICE_REMOVED = "device_removed"
USER_UPDATED = "user_updated"


def _request_meta() -> dict[str, Any]:
    try:
        from aws_lambda_powertools.event_handler.api_gateway import BaseRouter

        event = BaseRouter.current_event
        ctx = event.request_context
        return {"request_id": ctx.request_id, "source_ip": ctx.http.source_ip,
                "user_agent": (ctx.http.user_agent or "")[:256]}
    except Exception:
        return {}


def build_item(event: str, *, user_id: str | None, actor_id: str | None = None,
               outcome: str = "success", details: Mapping[str, Any] | None = None,
               meta: Mapping[str, Any] | None = None) -> dict[str, Any]:
    now = utc_now()
    at = iso(now)
    audit_id = new_id("aud")
    retention = settings.env_int("AUDIT_RETENTION_DAYS", RETENTION_DAYS_DEFAULT)
    item: dict[str, Any] = {
        "pk": f"AUDIT#{at[:10]}",
        "sk": f"{at}#{audit_id}",
        "audit_id": audit_id,
        "event": event,
        "outcome": outcome,
        "at": at,
        "user_id": user_id,
        "actor_id": actor_id or user_id,
        "details": dict(details or {}),
        "stage": settings.stage(),
        "expires_at": epoch_seconds(now + timedelta(days=retention)),
        **dict(meta or {}),
    }
    if user_id:
        item["gsi1pk"] = f"USER#{user_id}"
        item["gsi1sk"] = at
    return item


def record(event: str, *, user_id: str | None, actor_id: str | None = None, outcome: str = "success",
           details: Mapping[str, Any] | None = None) -> dict[str, Any] | None:
    """Write one audit event; returns the item written (None if the write failed)."""
    item = build_item(event, user_id=user_id, actor_id=actor_id, outcome=outcome, details=details,
                      meta=_request_meta())
    try:
        from signalos.common.dynamo import Table

        Table.from_env("AUDIT_TABLE").put(item)
    except Exception:
        logger.exception("audit write failed", extra={"audit_event": event, "user_id": user_id})
        return None
    return item


def list_for_user(user_id: str, *, limit: int = 50,
                  cursor: dict[str, Any] | None = None) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """A user's audit events, newest first (one key query on gsi1)."""
    from signalos.common.dynamo import Table

    return Table.from_env("AUDIT_TABLE").query_page(f"USER#{user_id}", index="gsi1", limit=limit,
                                                    cursor=cursor, newest_first=True)


def list_for_day(day: str, *, limit: int = 50,
                 cursor: dict[str, Any] | None = None) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """Every audit event of one UTC day (`yyyy-mm-dd`), newest first."""
    from signalos.common.dynamo import Table

    return Table.from_env("AUDIT_TABLE").query_page(f"AUDIT#{day}", limit=limit, cursor=cursor,
                                                    newest_first=True)
