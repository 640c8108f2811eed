"""May this user trade right now? Asked where no access token is at hand (bridge sessions, fan-out).

An access token carries the license it was issued with for up to 15 minutes; the bridge token
and the fan-out act for the account owner long after any login, so they read the user's
current license and status here instead.
"""

from __future__ import annotations

from datetime import datetime

from signalos.auth import data, licenses


def trading_refusal(
    user_id: str, *, feature: str = "auto_trading", now: datetime | None = None
) -> str | None:
    """None when the user is active and licensed for `feature`; otherwise why not, in words."""
    user = data.get_user(user_id)
    if user is None:
        return "the account owner no longer exists"
    if user.get("status", "active") != "active":
        return "the account owner is disabled"
    license_ = user.get("license") or {}
    if licenses.is_expired(license_, now):
        return "the owner's license has expired"
    if feature not in licenses.active_features(license_, now):
        return f"the owner's license does not include {feature}"
    return None
