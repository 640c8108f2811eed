"""User administration, for the admin API (signalos.admin): list, read, change role/license/status.

    list_users(cursor: str | None, limit: int = 50, search: str | None = None)
        -> {"items": [user_out, ...], "next_cursor": str | None}     newest first, limit capped at 100
    get_user(user_id) -> user_out dict | None
    update_user(user_id, *, role=None, license=None, status=None) -> user_out dict  (NotFound if absent)
        license: a tier name ("pro": that tier's defaults from now) or a dict
                 {"tier", "expires_at" (ISO or None), "device_limit", "features"} (missing keys from the tier)
    disable_user(user_id) -> user_out dict   (status "disabled", every session revoked, API keys stop working)

Every change is audited (`user_updated`, actor = `actor_id`). Results never include password
hashes or lockout counters (service.user_out).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from signalos.auth import data, licenses, service
from signalos.common import audit
from signalos.common.clock import iso, parse_iso
from signalos.common.dynamo import ConditionFailed
from signalos.common.errors import NotFound, ValidationFailed
from signalos.common.guards import FEATURES, ROLES
from signalos.common.pagination import clamp_limit, decode_cursor, encode_cursor

STATUSES = ("active", "disabled")


def list_users(cursor: str | None = None, limit: int = 50, search: str | None = None) -> dict[str, Any]:
    start = decode_cursor(cursor, expect={"gsi1pk": data.USERS_INDEX_PK})
    items, last = data.list_users(limit=clamp_limit(limit), cursor=start, search=search)
    return {"items": [service.user_out(u) for u in items], "next_cursor": encode_cursor(last)}


def get_user(user_id: str) -> dict[str, Any] | None:
    user = data.get_user(user_id)
    return service.user_out(user) if user else None


def _invalid(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(details={"fields": [{"field": field, "type": "value_error", "message": message}]})


def normalize_license(value: str | Mapping[str, Any]) -> dict[str, Any]:
    """A complete, valid license dict from a tier name or a partial dict."""
    if isinstance(value, str):
        if value not in licenses.TIERS:
            raise _invalid("license", f"tier must be one of {', '.join(licenses.TIERS)}")
        return licenses.license_for_tier(value)
    tier = value.get("tier")
    if tier not in licenses.TIERS:
        raise _invalid("license.tier", f"tier must be one of {', '.join(licenses.TIERS)}")
    result = licenses.license_for_tier(tier)
    if "expires_at" in value:
        expires = value["expires_at"]
        if expires is not None:
            try:
                expires = iso(parse_iso(str(expires)))
            except ValueError as exc:
                raise _invalid("license.expires_at", "must be an ISO 8601 time or null") from exc
        result["expires_at"] = expires
    if "device_limit" in value:
        limit = value["device_limit"]
        if not isinstance(limit, int) or isinstance(limit, bool) or not 0 <= limit <= 1000:
            raise _invalid("license.device_limit", "must be an integer from 0 to 1000")
        result["device_limit"] = limit
    if "features" in value:
        features = value["features"]
        if not isinstance(features, list | tuple) or not set(features) <= set(FEATURES):
            raise _invalid("license.features", f"features must be among {', '.join(FEATURES)}")
        result["features"] = sorted(set(features))
    return result


def update_user(user_id: str, *, role: str | None = None, license: str | Mapping[str, Any] | None = None,
                status: str | None = None, actor_id: str | None = None) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if role is not None:
        if role not in ROLES:
            raise _invalid("role", f"role must be one of {', '.join(ROLES)}")
        changes["role"] = role
    if license is not None:
        changes["license"] = normalize_license(license)
    if status is not None:
        if status not in STATUSES:
            raise _invalid("status", f"status must be one of {', '.join(STATUSES)}")
        changes["status"] = status
    if not changes:
        user = get_user(user_id)
        if user is None:
            raise NotFound("User not found")
        return user
    try:
        updated = data.update_user_fields(user_id, changes)
    except ConditionFailed as exc:
        raise NotFound("User not found") from exc
    if changes.get("status") == "disabled":
        service.revoke_sessions(user_id, reason="disabled")
    audit.record(audit.USER_UPDATED, user_id=user_id, actor_id=actor_id,
                 details={"changed": sorted(changes), **({"role": role} if role else {}),
                          **({"status": status} if status else {}),
                          **({"tier": changes["license"]["tier"]} if "license" in changes else {})})
    return service.user_out(updated)


def disable_user(user_id: str, *, actor_id: str | None = None) -> dict[str, Any]:
    return update_user(user_id, status="disabled", actor_id=actor_id)
