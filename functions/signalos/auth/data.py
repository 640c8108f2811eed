"""Users, sessions, devices and API keys in USERS_TABLE (through signalos.common.dynamo).

Items (pk / sk):
    USER#<uid>             PROFILE            the user: username, role, status, license, password_hash,
                                              lockout counters, device_count (gsi1: USERS / <created>#<uid>)
    USERNAME#<lowercase>   USERNAME           uniqueness lock -> user_id
    USER#<uid>             SESSION#<family>   a refresh-token family: current_jti, status (TTL expires_at)
    USER#<uid>             DEVICE#<dev_id>    a bound device
    USER#<uid>             APIKEY#<key_id>    an API key as its owner lists it (no secret, no hash)
    APIKEY#<sha256>        APIKEY             API key lookup (signalos.common.apikeys)
    STATS                  COUNTER#<name>     counters behind /metrics
Every write that must not race is conditional; a lost race surfaces as dynamo.ConditionFailed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from signalos.common import apikeys
from signalos.common.clock import iso
from signalos.common.dynamo import ConditionFailed, Item, Table

PROFILE = "PROFILE"
USERS_INDEX_PK = "USERS"


def table() -> Table:
    return Table.from_env("USERS_TABLE")


def user_pk(user_id: str) -> str:
    return f"USER#{user_id}"


def username_pk(username: str) -> str:
    return f"USERNAME#{username.strip().lower()}"


# --- users -----------------------------------------------------------------------------------

def create_user(user: Mapping[str, Any]) -> None:
    """Insert a user and claim its username atomically (ConditionFailed if the name is taken)."""
    uid, username = user["user_id"], user["username"]
    item = {"pk": user_pk(uid), "sk": PROFILE, "gsi1pk": USERS_INDEX_PK,
            "gsi1sk": f"{user['created_at']}#{uid}", **user}
    lock = {"pk": username_pk(username), "sk": "USERNAME", "user_id": uid, "created_at": user["created_at"]}
    table().transact_write([
        {"Put": {"Item": item, "ConditionExpression": "attribute_not_exists(pk)"}},
        {"Put": {"Item": lock, "ConditionExpression": "attribute_not_exists(pk)"}},
    ])


def get_user(user_id: str) -> Item | None:
    return table().get(user_pk(user_id), PROFILE)


def find_user_id(username: str) -> str | None:
    lock = table().get(username_pk(username), "USERNAME")
    return lock["user_id"] if lock else None


def update_user_fields(user_id: str, fields: Mapping[str, Any], *, remove: Iterable[str] = ()) -> Item:
    """SET fields on an existing user (ConditionFailed if the user does not exist)."""
    return table().update(user_pk(user_id), PROFILE, set_values={**fields, "updated_at": iso()},
                          remove=list(remove) or None, condition="attribute_exists(pk)")


def record_failed_login(user_id: str, *, failures: int, at: str, locked_until: str | None) -> Item:
    fields: dict[str, Any] = {"failed_logins": failures, "last_failed_at": at}
    if locked_until:
        fields["locked_until"] = locked_until
    return table().update(user_pk(user_id), PROFILE, set_values=fields, condition="attribute_exists(pk)")


def record_successful_login(user_id: str, *, at: str, password_hash: str | None = None) -> None:
    fields: dict[str, Any] = {"failed_logins": 0, "last_login_at": at}
    if password_hash:
        fields["password_hash"] = password_hash
    table().update(user_pk(user_id), PROFILE, set_values=fields, remove=["locked_until", "last_failed_at"],
                   condition="attribute_exists(pk)")


def list_users(*, limit: int, cursor: dict[str, Any] | None,
               search: str | None = None) -> tuple[list[Item], dict[str, Any] | None]:
    names: dict[str, str] = {}
    values: dict[str, Any] = {}
    filter_expression = None
    if search:
        names = {"#u": "username_lc"}
        values = {":q": search.strip().lower()}
        filter_expression = "contains(#u, :q)"
    return table().query_page(USERS_INDEX_PK, index="gsi1", limit=limit, cursor=cursor, newest_first=True,
                              filter_expression=filter_expression, names=names or None,
                              values=values or None)


# --- sessions (refresh-token families) -------------------------------------------------------

def session_sk(family_id: str) -> str:
    return f"SESSION#{family_id}"


def create_session(user_id: str, session: Mapping[str, Any]) -> None:
    table().put({"pk": user_pk(user_id), "sk": session_sk(session["family_id"]), **session}, if_absent=True)


def get_session(user_id: str, family_id: str) -> Item | None:
    return table().get(user_pk(user_id), session_sk(family_id))


def rotate_session(user_id: str, family_id: str, *, presented_jti: str, new_jti: str, at: str,
                   expires_at: int) -> Item:
    """Swap the family's current token id, only if the presented one is current and the family
    is active: of two concurrent refreshes with one token, exactly one wins."""
    return table().update(
        user_pk(user_id), session_sk(family_id),
        set_values={"current_jti": new_jti, "last_used_at": at, "expires_at": expires_at},
        add_values={"rotations": 1},
        condition="current_jti = :presented AND #st = :active",
        names={"#st": "status"}, values={":presented": presented_jti, ":active": "active"},
    )


def revoke_session(user_id: str, family_id: str, *, reason: str, at: str) -> bool:
    """Mark a family revoked; False if there is no such family."""
    try:
        table().update(user_pk(user_id), session_sk(family_id),
                       set_values={"status": "revoked", "revoked_reason": reason, "revoked_at": at},
                       condition="attribute_exists(pk)")
    except ConditionFailed:
        return False
    return True


def list_sessions(user_id: str) -> list[Item]:
    return list(table().query_all(user_pk(user_id), sk_prefix="SESSION#"))


# --- devices ---------------------------------------------------------------------------------

def device_sk(device_id: str) -> str:
    return f"DEVICE#{device_id}"


def get_device(user_id: str, device_id: str) -> Item | None:
    return table().get(user_pk(user_id), device_sk(device_id))


def bind_device(user_id: str, device: Mapping[str, Any], *, device_limit: int) -> None:
    """Add a device and count it against the limit in one transaction (ConditionFailed when the
    device exists already or the limit is reached; the caller tells which by reading)."""
    item = {"pk": user_pk(user_id), "sk": device_sk(device["device_id"]), **device}
    table().transact_write([
        {"Put": {"Item": item, "ConditionExpression": "attribute_not_exists(pk)"}},
        {"Update": {
            "Key": {"pk": user_pk(user_id), "sk": PROFILE},
            "UpdateExpression": "SET device_count = if_not_exists(device_count, :zero) + :one",
            "ConditionExpression": "attribute_exists(pk) AND "
                                   "(attribute_not_exists(device_count) OR device_count < :limit)",
            "ExpressionAttributeValues": {":zero": 0, ":one": 1, ":limit": device_limit},
        }},
    ])


def touch_device(user_id: str, device_id: str, at: str) -> None:
    table().update(user_pk(user_id), device_sk(device_id), set_values={"last_seen_at": at},
                   condition="attribute_exists(pk)")


def unbind_device(user_id: str, device_id: str) -> None:
    table().transact_write([
        {"Delete": {"Key": {"pk": user_pk(user_id), "sk": device_sk(device_id)},
                    "ConditionExpression": "attribute_exists(pk)"}},
        {"Update": {
            "Key": {"pk": user_pk(user_id), "sk": PROFILE},
            "UpdateExpression": "SET device_count = device_count - :one",
            "ConditionExpression": "device_count > :zero",
            "ExpressionAttributeValues": {":zero": 0, ":one": 1},
        }},
    ])


def list_devices(user_id: str) -> list[Item]:
    return list(table().query_all(user_pk(user_id), sk_prefix="DEVICE#"))


# --- API keys --------------------------------------------------------------------------------

def apikey_sk(key_id: str) -> str:
    return f"APIKEY#{key_id}"


def create_api_key(user_id: str, key: Mapping[str, Any], *, key_hash: str) -> None:
    """The owner's record and the hash lookup, written together."""
    listing = {"pk": user_pk(user_id), "sk": apikey_sk(key["key_id"]), **key}
    lookup = {"pk": apikeys.lookup_pk(key_hash), "sk": apikeys.LOOKUP_SK, "key_hash": key_hash,
              "user_id": user_id, "key_id": key["key_id"], "scopes": list(key["scopes"]),
              "expires_at_iso": key.get("expires_at_iso")}
    listing["key_hash"] = key_hash
    table().transact_write([
        {"Put": {"Item": listing, "ConditionExpression": "attribute_not_exists(pk)"}},
        {"Put": {"Item": lookup, "ConditionExpression": "attribute_not_exists(pk)"}},
    ])


def get_api_key(user_id: str, key_id: str) -> Item | None:
    return table().get(user_pk(user_id), apikey_sk(key_id))


def list_api_keys(user_id: str) -> list[Item]:
    return list(table().query_all(user_pk(user_id), sk_prefix="APIKEY#"))


def delete_api_key(user_id: str, key_id: str, key_hash: str) -> None:
    table().transact_write([
        {"Delete": {"Key": {"pk": user_pk(user_id), "sk": apikey_sk(key_id)},
                    "ConditionExpression": "attribute_exists(pk)"}},
        {"Delete": {"Key": {"pk": apikeys.lookup_pk(key_hash), "sk": apikeys.LOOKUP_SK}}},
    ])


# --- counters for /metrics -------------------------------------------------------------------

def increment(counter: str, by: int = 1) -> None:
    table().update("STATS", f"COUNTER#{counter}", add_values={"value": by})


def counters() -> dict[str, int]:
    return {item["sk"].removeprefix("COUNTER#"): int(item.get("value", 0))
            for item in table().query_all("STATS", sk_prefix="COUNTER#")}
