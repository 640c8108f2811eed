"""JWT access and refresh tokens (RFC 8725 rules; see reference/security.md). Pure: no AWS.

- HS256 only, decoded with an explicit algorithms list (never the token's own `alg`).
- Required claims: exp, iat, sub, iss, aud, typ, jti; small leeway for clock skew.
- `typ` is "access" or "refresh" and a token of one kind is refused where the other is expected.
- Access tokens are short (15 min) and carry what guards need (role, license tier, features,
  license expiry, session id) so authenticating a request needs no database read.
- Refresh tokens carry only the session family (`fam`) and their own id (`jti`); their state
  (single use, rotation, reuse detection) lives in the users table (signalos.auth.sessions).

PyJWT is imported on first use.
"""

from __future__ import annotations

import secrets as _random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from signalos.common import settings
from signalos.common.clock import utc_now

ALGORITHM = "HS256"
ALGORITHMS = [ALGORITHM]
ACCESS_TOKEN_SECONDS = 15 * 60
REFRESH_TOKEN_SECONDS = 30 * 24 * 3600
LEEWAY_SECONDS = 30
REQUIRED_CLAIMS = ["exp", "iat", "sub", "iss", "aud", "typ", "jti"]
ACCESS = "access"
REFRESH = "refresh"


class TokenError(Exception):
    """The token is not one we issued, or not usable here. `code` is safe to show."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def issuer() -> str:
    return settings.env("JWT_ISSUER") or f"signalos-{settings.stage()}"


def audience() -> str:
    return settings.env("JWT_AUDIENCE") or "signalos-api"


def new_jti() -> str:
    return _random.token_urlsafe(16)


@dataclass(frozen=True)
class IssuedToken:
    token: str
    claims: dict[str, Any]
    expires_in: int


def _encode(claims: dict[str, Any], key: str) -> str:
    import jwt

    return jwt.encode(claims, key, algorithm=ALGORITHM, headers={"typ": "JWT"})


def issue_access_token(key: str, *, user_id: str, username: str, role: str, license_tier: str,
                       features: Iterable[str], license_expires_at: int | None, session_id: str | None,
                       now: datetime | None = None, ttl: int = ACCESS_TOKEN_SECONDS) -> IssuedToken:
    iat = int((now or utc_now()).timestamp())
    claims: dict[str, Any] = {
        "iss": issuer(), "aud": audience(), "sub": user_id, "iat": iat, "nbf": iat, "exp": iat + ttl,
        "jti": new_jti(), "typ": ACCESS,
        "usr": username, "role": role, "tier": license_tier, "feat": sorted(set(features)),
        "lexp": license_expires_at, "sid": session_id,
    }
    return IssuedToken(_encode(claims, key), claims, ttl)


def issue_refresh_token(key: str, *, user_id: str, family_id: str, jti: str | None = None,
                        now: datetime | None = None, ttl: int = REFRESH_TOKEN_SECONDS) -> IssuedToken:
    iat = int((now or utc_now()).timestamp())
    claims = {
        "iss": issuer(), "aud": audience(), "sub": user_id, "iat": iat, "nbf": iat, "exp": iat + ttl,
        "jti": jti or new_jti(), "typ": REFRESH, "fam": family_id,
    }
    return IssuedToken(_encode(claims, key), claims, ttl)


def decode_token(token: str, key: str, *, expected_type: str) -> dict[str, Any]:
    """Verify signature, algorithm, required claims, issuer, audience, time and `typ`."""
    import jwt

    try:
        claims = jwt.decode(
            token, key, algorithms=ALGORITHMS, audience=audience(), issuer=issuer(),
            leeway=LEEWAY_SECONDS, options={"require": REQUIRED_CLAIMS, "verify_signature": True},
        )
    except jwt.ExpiredSignatureError as exc:
        raise TokenError("TOKEN_EXPIRED", "Token has expired") from exc
    except jwt.InvalidTokenError as exc:
        raise TokenError("INVALID_TOKEN", "Token is not valid") from exc
    if claims.get("typ") != expected_type:
        raise TokenError("WRONG_TOKEN_TYPE", f"An {expected_type} token is required here")
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise TokenError("INVALID_TOKEN", "Token is not valid")
    if expected_type == REFRESH and not isinstance(claims.get("fam"), str):
        raise TokenError("INVALID_TOKEN", "Token is not valid")
    return claims
