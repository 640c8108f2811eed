"""Auth counters for the status metrics endpoint (the provider hook of signalos.status.metrics)."""

from __future__ import annotations

from typing import Any

from signalos.auth import data


def metrics() -> dict[str, Any]:
    """users_registered, logins_succeeded, logins_failed, api_keys_created, refresh_reuse_detected."""
    known = ("users_registered", "logins_succeeded", "logins_failed", "api_keys_created",
             "refresh_reuse_detected")
    counts = data.counters()
    return {name: counts.get(name, 0) for name in known} | {k: v for k, v in counts.items() if k not in known}
