"""Test users as the platform knows them: a stored profile and an access JWT signed by the stack's key.

Tests that act for a user without going through /auth/register use these, so the user exists
where the code looks (bridge sessions and fan-out read the owner's current license and status).
"""

from __future__ import annotations

from collections.abc import Iterable

ALL_FEATURES = ("signal_parsing", "auto_trading", "telegram_integration", "multi_account")


def create_profile(user_id: str, *, tier: str = "trial", status: str = "active", role: str = "user") -> None:
    from signalos.auth import data as auth_data
    from signalos.auth.licenses import license_for_tier
    from signalos.common.clock import iso

    auth_data.create_user({"user_id": user_id, "username": user_id, "role": role, "status": status,
                           "license": license_for_tier(tier), "created_at": iso()})


def user_headers(user_id: str, features: Iterable[str] = ALL_FEATURES, tier: str = "trial") -> dict[str, str]:
    """`Authorization: Bearer <access JWT>` as /auth/login would issue it for this user."""
    from signalos.common.secrets import jwt_signing_key
    from signalos.common.tokens import issue_access_token

    token = issue_access_token(
        jwt_signing_key(),
        user_id=user_id,
        username=user_id,
        role="user",
        license_tier=tier,
        features=tuple(features),
        license_expires_at=None,
        session_id=None,
    ).token
    return {"Authorization": f"Bearer {token}"}
