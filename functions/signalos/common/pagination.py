"""List endpoints: `{"items": [...], "next_cursor": "<opaque>"|null}` with `limit` capped at 100.

    limit = clamp_limit(query_limit)
    items, last_key = table.query_page(pk, sk_prefix="SIGNAL#", limit=limit,
                                       cursor=decode_cursor(cursor, expect={"pk": pk}))
    return {"items": [...], "next_cursor": encode_cursor(last_key)}

A cursor is the DynamoDB LastEvaluatedKey as base64url JSON. `expect` pins key attributes to
the caller's partition, so a cursor crafted for another partition is refused (400), not used.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from signalos.common.errors import BadRequest

MAX_LIMIT = 100
DEFAULT_LIMIT = 50
_MAX_CURSOR_CHARS = 2048


def clamp_limit(limit: int | None, default: int = DEFAULT_LIMIT) -> int:
    if limit is None:
        return default
    return max(1, min(int(limit), MAX_LIMIT))


def encode_cursor(key: Mapping[str, Any] | None) -> str | None:
    if not key:
        return None
    raw = json.dumps(dict(key), separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(token: str | None, *, expect: Mapping[str, str] | None = None) -> dict[str, Any] | None:
    if not token:
        return None
    invalid = BadRequest("The cursor is not valid; start again without one", code="INVALID_CURSOR")
    if len(token) > _MAX_CURSOR_CHARS:
        raise invalid
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        key = json.loads(raw)
    except (binascii.Error, ValueError) as exc:
        raise invalid from exc
    if not isinstance(key, dict) or not key or not all(
        isinstance(k, str) and isinstance(v, str | int) for k, v in key.items()
    ):
        raise invalid
    for name, value in (expect or {}).items():
        if key.get(name) != value:
            raise invalid
    return key
