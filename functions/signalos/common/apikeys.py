"""API keys: format, hashing and the lookup item every function's guard reads.

A key is `sos_` + 43 random URL-safe characters (256 bits), shown once at creation. Only its
SHA-256 hex is stored. Items in USERS_TABLE (written by signalos.auth.apikeys):

    pk=USER#<uid>        sk=APIKEY#<key_id>   the owner's listing (name, scopes, prefix, expiry)
    pk=APIKEY#<sha256>   sk=APIKEY            the lookup: user_id, key_id, scopes, expires_at_iso
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from signalos.common.dynamo import Table

PREFIX = "sos_"
SCOPES = ("read", "write", "admin")
DEFAULT_SCOPES = ("read", "write")
LOOKUP_SK = "APIKEY"


def generate() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def looks_like_key(value: str) -> bool:
    return value.startswith(PREFIX) and 20 <= len(value) <= 128


def hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def display_prefix(raw: str) -> str:
    """What lists show so a user can tell keys apart: `sos_AbCd1234`."""
    return raw[: len(PREFIX) + 8]


def lookup_pk(key_hash: str) -> str:
    return f"APIKEY#{key_hash}"


def find_key(raw: str) -> dict[str, Any] | None:
    """The lookup item of a presented key, or None (unknown or revoked keys are deleted)."""
    key_hash = hash_key(raw)
    item = Table.from_env("USERS_TABLE").get(lookup_pk(key_hash), LOOKUP_SK)
    if item is None or not hmac.compare_digest(str(item.get("key_hash", "")), key_hash):
        return None
    return item
