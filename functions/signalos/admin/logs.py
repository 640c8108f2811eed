"""Audit events for administrators (AUDIT_TABLE, written by signalos.common.audit).

A page is one key query: a UTC day's partition (`AUDIT#<day>`, newest first) or one user's
history (gsi1 `USER#<uid>`). Filters (event name, outcome, errors only) are applied by DynamoDB
on that page, so a filtered page may hold fewer than `limit` items and still have a cursor.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from signalos.common.clock import utc_now
from signalos.common.dynamo import Table
from signalos.common.pagination import clamp_limit, decode_cursor, encode_cursor

FIELDS = ("audit_id", "at", "event", "outcome", "user_id", "actor_id", "details", "request_id", "source_ip",
          "user_agent", "stage")


def _filter(event: str | None, outcome: str | None,
            errors_only: bool) -> tuple[str | None, dict[str, str], dict[str, Any]]:
    parts, names, values = [], {}, {}
    if event:
        parts.append("#ev = :ev")
        names["#ev"], values[":ev"] = "event", event
    if outcome:
        parts.append("#oc = :oc")
        names["#oc"], values[":oc"] = "outcome", outcome
    elif errors_only:
        parts.append("#oc <> :ok")
        names["#oc"], values[":ok"] = "outcome", "success"
    return (" AND ".join(parts) or None), names, values


def list_logs(*, day: date | None = None, user_id: str | None = None, event: str | None = None,
              outcome: str | None = None, errors_only: bool = False, limit: int | None = None,
              cursor: str | None = None) -> dict[str, Any]:
    table = Table.from_env("AUDIT_TABLE")
    expression, names, values = _filter(event, outcome, errors_only)
    if user_id:
        pk, index, key_attr = f"USER#{user_id}", "gsi1", "gsi1pk"
    else:
        pk, index, key_attr = f"AUDIT#{(day or utc_now().date()).isoformat()}", None, "pk"
    items, last = table.query_page(pk, index=index, limit=clamp_limit(limit),
                                   cursor=decode_cursor(cursor, expect={key_attr: pk}), newest_first=True,
                                   filter_expression=expression, names=names or None, values=values or None)
    return {"items": [{k: item.get(k) for k in FIELDS} for item in items], "next_cursor": encode_cursor(last),
            "day": None if user_id else pk.removeprefix("AUDIT#")}
