"""Licenses: tier definitions (tiers.json), a new user's default, and what a license allows now. Pure.

A license is a plain dict stored on the user item:
    {"tier": "pro", "expires_at": "2026-12-22T10:30:00.000Z" | None, "device_limit": 3,
     "features": ["signal_parsing", ...]}
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from signalos.common import settings
from signalos.common.clock import iso, parse_iso, utc_now
from signalos.common.guards import FEATURES

TIERS = ("trial", "basic", "pro", "enterprise")
DEFAULT_TIER = "trial"


@lru_cache(maxsize=1)
def tier_definitions() -> dict[str, dict[str, Any]]:
    data = json.loads((Path(__file__).with_name("tiers.json")).read_text())["tiers"]
    for name, tier in data.items():
        unknown = set(tier["features"]) - set(FEATURES)
        if name not in TIERS or unknown:
            raise ValueError(f"tiers.json: bad tier {name!r} (unknown features {sorted(unknown)})")
    return data


def default_tier() -> str:
    tier = (settings.env("DEFAULT_LICENSE_TIER", DEFAULT_TIER) or DEFAULT_TIER).lower()
    return tier if tier in TIERS else DEFAULT_TIER


def license_for_tier(tier: str, *, now: datetime | None = None, days: int | None = None) -> dict[str, Any]:
    """A fresh license of `tier` starting now (its tier's length unless `days` is given)."""
    definition = tier_definitions()[tier]
    length = days if days is not None else definition.get("days")
    expires = iso((now or utc_now()) + timedelta(days=length)) if length else None
    return {"tier": tier, "expires_at": expires, "device_limit": int(definition["device_limit"]),
            "features": sorted(definition["features"])}


def default_license(now: datetime | None = None) -> dict[str, Any]:
    """What a newly registered user gets on this stage (DEFAULT_LICENSE_TIER)."""
    return license_for_tier(default_tier(), now=now)


def is_expired(license_: Mapping[str, Any], now: datetime | None = None) -> bool:
    expires = license_.get("expires_at")
    return bool(expires) and parse_iso(str(expires)) <= (now or utc_now())


def active_features(license_: Mapping[str, Any], now: datetime | None = None) -> frozenset[str]:
    if is_expired(license_, now):
        return frozenset()
    return frozenset(f for f in license_.get("features") or () if f in FEATURES)


def days_remaining(license_: Mapping[str, Any], now: datetime | None = None) -> int | None:
    expires = license_.get("expires_at")
    if not expires:
        return None
    seconds = (parse_iso(str(expires)) - (now or utc_now())).total_seconds()
    return max(0, int(seconds // 86400))


def license_status(license_: Mapping[str, Any], *, devices_used: int,
                   now: datetime | None = None) -> dict[str, Any]:
    """The license as the license-status/verify-license routes report it."""
    expired = is_expired(license_, now)
    active = active_features(license_, now)
    return {
        "valid": not expired,
        "status": "expired" if expired else "active",
        "tier": license_.get("tier"),
        "license_type": license_.get("tier"),
        "expires_at": license_.get("expires_at"),
        "days_remaining": days_remaining(license_, now),
        "device_limit": int(license_.get("device_limit", 0)),
        "devices_used": devices_used,
        "features": {name: name in active for name in FEATURES},
    }
