"""May this user trade right now? Asked where no access token is at hand (bridge sessions, fan-out).

An access token carries the license it was issued with for up to 15 minutes; the bridge token
and the fan-out act for the account owner long after any login, so they read the user's
current license and status here instead.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal, NamedTuple

from signalos.auth import data, licenses


class Refusal(NamedTuple):
    reason: Literal["user_missing", "user_disabled", "license_expired", "feature_missing"]
    message: str

    @property
    def user_inactive(self) -> bool:
        return self.reason in ("user_missing", "user_disabled")


def trading_refusal(
    user_id: str, *, feature: str = "auto_trading", now: datetime | None = None
) -> Refusal | None:
    """None when the user is active and licensed for `feature`; otherwise why not."""
    user = data.get_user(user_id)
    if user is None:
        return Refusal("user_missing", "the account owner no longer exists")
    if user.get("status", "active") != "active":
        return Refusal("user_disabled", "the account owner is disabled")
    license_ = user.get("license")
    if not isinstance(license_, dict):
        license_ = {}
    if licenses.is_expired(license_, now):
        return Refusal("license_expired", "the owner's license has expired")
    if feature not in licenses.active_features(license_, now):
        return Refusal("feature_missing", f"the owner's license does not include {feature}")
    return None
