"""Bridge tokens and pairing codes: format, hashing, and their lookup items (TradingTable).

A bridge token is `sosb_` + 43 URL-safe characters (32 random bytes), shown once. Only its
SHA-256 hex is stored:

    pk=BRIDGETOKEN#<sha256 hex> sk=TOKEN      account_id, user_id, revoked, created_at
                                              (a revoked token's item stays, with a TTL, so a
                                              stolen old token gets a clear 401)
    pk=BRIDGEPAIR#<sha256 of the code> sk=CODE   account_id, user_id, expires_at (TTL), used

A pairing code is 8 characters of Crockford base32 shown as `XXXX-XXXX` (40 bits), valid 10
minutes, single use; the `pair` route is rate limited per source address.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import Any

from signalos.common.clock import epoch_seconds, iso
from signalos.common.dynamo import ConditionFailed, Item, Table

TOKEN_PREFIX = "sosb_"
TOKEN_SK = "TOKEN"
PAIR_SK = "CODE"
PAIRING_TTL = timedelta(minutes=10)
REVOKED_TOKEN_TTL = timedelta(days=30)
_CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford: no I, L, O, U
# What people type for the letters Crockford leaves out.
_CODE_FOLD = str.maketrans({"I": "1", "L": "1", "O": "0", "U": "V"})


def generate_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def looks_like_token(value: str) -> bool:
    return value.startswith(TOKEN_PREFIX) and 30 <= len(value) <= 128


def hash_secret(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def token_pk(token_hash: str) -> str:
    return f"BRIDGETOKEN#{token_hash}"


def token_item(token_hash: str, *, account_id: str, user_id: str, now: datetime) -> Item:
    return {
        "pk": token_pk(token_hash),
        "sk": TOKEN_SK,
        "entity": "bridge_token",
        "token_hash": token_hash,
        "account_id": account_id,
        "user_id": user_id,
        "revoked": False,
        "created_at": iso(now),
    }


def find_token(raw: str, tbl: Table) -> Item | None:
    """The lookup item of a presented token (revoked ones included), or None."""
    if not looks_like_token(raw):
        return None
    token_hash = hash_secret(raw)
    item = tbl.get(token_pk(token_hash), TOKEN_SK)
    # The key is the hash already; compare again in constant time so a lookup bug cannot match.
    if item is None or not hmac.compare_digest(str(item.get("token_hash", "")), token_hash):
        return None
    return item


def revoke_operation(token_hash: str, now: datetime) -> dict[str, Any]:
    """A transaction entry marking a token revoked (kept for a while, then expired by TTL)."""
    return {
        "Update": {
            "Key": {"pk": token_pk(token_hash), "sk": TOKEN_SK},
            "UpdateExpression": "SET revoked = :t, revoked_at = :now, expires_at = :ttl",
            "ExpressionAttributeValues": {
                ":t": True,
                ":now": iso(now),
                ":ttl": epoch_seconds(now + REVOKED_TOKEN_TTL),
            },
        }
    }


# --- pairing codes ----------------------------------------------------------------------------


def generate_pairing_code() -> str:
    raw = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(8))
    return f"{raw[:4]}-{raw[4:]}"


def normalize_code(code: str) -> str | None:
    """`abcd efgh`, `ABCD-EFGH`, `abcdefgh` -> `ABCDEFGH`; None when it cannot be a code."""
    cleaned = "".join(ch for ch in code.upper() if ch.isalnum()).translate(_CODE_FOLD)
    if len(cleaned) != 8 or any(ch not in _CODE_ALPHABET for ch in cleaned):
        return None
    return cleaned


def pair_pk(normalized: str) -> str:
    return f"BRIDGEPAIR#{hash_secret(normalized)}"


def save_pairing_code(tbl: Table, code: str, *, account_id: str, user_id: str, now: datetime) -> datetime:
    normalized = normalize_code(code)
    assert normalized is not None
    expires = now + PAIRING_TTL
    tbl.put(
        {
            "pk": pair_pk(normalized),
            "sk": PAIR_SK,
            "entity": "pairing_code",
            "account_id": account_id,
            "user_id": user_id,
            "used": False,
            "created_at": iso(now),
            "expires_at_iso": iso(expires),
            "expires_at": epoch_seconds(expires),
        },
        if_absent=True,
    )
    return expires


def consume_pairing_code(tbl: Table, code: str, now: datetime) -> Item | None:
    """Mark a code used and return it; None when unknown, expired or already used."""
    normalized = normalize_code(code)
    if normalized is None:
        return None
    try:
        return tbl.update(
            pair_pk(normalized),
            PAIR_SK,
            set_values={"used": True, "used_at": iso(now)},
            condition="attribute_exists(pk) AND used = :f AND expires_at > :now",
            values={":f": False, ":now": epoch_seconds(now)},
        )
    except ConditionFailed:
        return None
