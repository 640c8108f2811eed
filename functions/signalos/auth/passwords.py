"""Password hashing with Argon2id (argon2-cffi), OWASP parameters, rehash when they change. Pure.

argon2 is imported on first use so routes that never hash (profile, API keys) do not load it.
"""

from __future__ import annotations

import secrets
from functools import lru_cache
from typing import Any

# OWASP minimum for Argon2id: m=19 MiB, t=2, p=1. Raising these makes check_needs_rehash true for
# old hashes, and the next successful login re-hashes with the new parameters.
TIME_COST = 2
MEMORY_COST_KIB = 19 * 1024
PARALLELISM = 1
MIN_LENGTH = 8
MAX_LENGTH = 128  # bounds hashing work per request (and no one types more)


@lru_cache(maxsize=1)
def _hasher() -> Any:
    from argon2 import PasswordHasher, Type

    return PasswordHasher(time_cost=TIME_COST, memory_cost=MEMORY_COST_KIB, parallelism=PARALLELISM,
                          hash_len=32, salt_len=16, type=Type.ID)


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    """True when `password` matches; never raises for a wrong password or a malformed hash."""
    from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

    try:
        return bool(_hasher().verify(stored_hash, password))
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    try:
        return bool(_hasher().check_needs_rehash(stored_hash))
    except Exception:
        return True


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))


def burn_time() -> None:
    """Verify against a throwaway hash so an unknown username takes as long as a wrong password."""
    verify_password(_dummy_hash(), secrets.token_urlsafe(16))


def policy_problem(password: str, username: str | None = None) -> str | None:
    """Why a new password is refused, or None. Length rules follow NIST 800-63B."""
    if len(password) < MIN_LENGTH:
        return f"must be at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"must be at most {MAX_LENGTH} characters"
    if not password.strip():
        return "must not be blank"
    if username and password.strip().lower() == username.strip().lower():
        return "must not be the same as the username"
    return None
