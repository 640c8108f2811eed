"""Telegram's items in SignalsTable (all through `signalos.common.dynamo.Table`).

update dedup   pk `TGUPDATE#<update_id>`  sk `UPDATE`   state processing|done, claimed_at,
               expires_at (TTL 7 days). A claim older than CLAIM_LEASE is taken over (the
               invocation that held it died), so a crash never drops an update for good.
link code      pk `TGLINKCODE#<code>`  sk `CODE`   user_id, provider_id, chat_id (when bound
               to a chat), expires_at (TTL; also checked on use: TTL deletion is lazy).
               Single use: consumed by a conditional delete in the linking transaction.
link           on the provider item (SIGNALS' shape, pk `USER#<uid>` sk `PROVIDER#<pid>`):
               `telegram` = {chat_id, title, linked_at}, gsi2pk `TGCHAT#<chat_id>`,
               gsi2sk `USER#<uid>#PROVIDER#<pid>` (chat -> providers is one gsi2 query).
message index  pk `TGMSG#<chat_id>#<message_id>`  sk `<uid>#<pid>`   signal_id, symbols,
               has_open (TTL 30 days): replies and edits find the signal a message became.
latest open    pk `TGCHAT#<chat_id>`  sk `LATEST#<uid>#<pid>#<symbol|*>`   signal_id: the
               chat's latest open signal per symbol (and `*` for any), the target of a
               management message that is not a reply (TTL 30 days).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from signalos.common.clock import epoch_seconds, iso
from signalos.common.dynamo import ConditionFailed, Item, Table

UPDATE_TTL = timedelta(days=7)
CLAIM_LEASE = timedelta(seconds=90)
INDEX_TTL = timedelta(days=30)
CODE_TTL = timedelta(minutes=10)
_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"  # no 0/O, 1/I/L: read aloud and typed by hand


def table() -> Table:
    return Table.from_env("SIGNALS_TABLE")


# --- update dedup ------------------------------------------------------------------------------


def claim_update(update_id: int, now: datetime, *, tbl: Table | None = None) -> bool:
    """True when this invocation should process the update; False for a redelivery."""
    tbl = tbl or table()
    try:
        tbl.put(
            {
                "pk": f"TGUPDATE#{update_id}",
                "sk": "UPDATE",
                "state": "processing",
                "claimed_at": iso(now),
                "expires_at": epoch_seconds(now + UPDATE_TTL),
            },
            condition="attribute_not_exists(pk) OR (#st = :processing AND claimed_at < :stale)",
            names={"#st": "state"},
            values={":processing": "processing", ":stale": iso(now - CLAIM_LEASE)},
        )
    except ConditionFailed:
        return False
    return True


def finish_update(update_id: int, outcome: str, now: datetime, *, tbl: Table | None = None) -> None:
    (tbl or table()).update(
        f"TGUPDATE#{update_id}",
        "UPDATE",
        set_values={"state": "done", "outcome": outcome[:200], "done_at": iso(now)},
    )


# --- link codes --------------------------------------------------------------------------------


def new_code() -> str:
    raw = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(8))
    return f"{raw[:4]}-{raw[4:]}"


def normalize_code(code: str) -> str:
    raw = code.strip().upper().replace("-", "")
    return f"{raw[:4]}-{raw[4:]}" if len(raw) == 8 else code.strip().upper()


def create_code(
    user_id: str, provider_id: str, chat_id: int | None, now: datetime, *, tbl: Table | None = None
) -> tuple[str, datetime]:
    tbl = tbl or table()
    expires = now + CODE_TTL
    for _ in range(5):
        code = new_code()
        try:
            tbl.put(
                {
                    "pk": f"TGLINKCODE#{code}",
                    "sk": "CODE",
                    "user_id": user_id,
                    "provider_id": provider_id,
                    "chat_id": chat_id,
                    "created_at": iso(now),
                    "expires_at": epoch_seconds(expires),
                },
                if_absent=True,
            )
            return code, expires
        except ConditionFailed:
            continue
    raise RuntimeError("could not allocate a link code")


@dataclass(frozen=True)
class LinkResult:
    ok: bool
    message: str
    user_id: str | None = None
    provider_id: str | None = None


def consume_code(
    code: str, chat_id: int, chat_title: str | None, now: datetime, *, tbl: Table | None = None
) -> LinkResult:
    """Link the chat to the code's provider: the code is deleted and the provider item updated
    in one transaction (a code links once; an expired or foreign-chat code links nothing)."""
    tbl = tbl or table()
    code = normalize_code(code)
    item = tbl.get(f"TGLINKCODE#{code}", "CODE")
    invalid = LinkResult(False, "That link code is not valid or has expired. Create a new one in SignalOS.")
    if item is None or int(item.get("expires_at", 0)) <= epoch_seconds(now):
        return invalid
    if item.get("chat_id") is not None and int(item["chat_id"]) != chat_id:
        return invalid
    user_id, provider_id = str(item["user_id"]), str(item["provider_id"])
    try:
        tbl.transact_write(
            [
                {
                    "Delete": {
                        "Key": {"pk": f"TGLINKCODE#{code}", "sk": "CODE"},
                        "ConditionExpression": "attribute_exists(pk)",
                    }
                },
                {
                    "Update": {
                        "Key": {"pk": f"USER#{user_id}", "sk": f"PROVIDER#{provider_id}"},
                        "UpdateExpression": "SET telegram = :tg, gsi2pk = :g2pk, gsi2sk = :g2sk",
                        "ConditionExpression": "attribute_exists(pk)",
                        "ExpressionAttributeValues": {
                            ":tg": {"chat_id": chat_id, "title": chat_title, "linked_at": iso(now)},
                            ":g2pk": f"TGCHAT#{chat_id}",
                            ":g2sk": f"USER#{user_id}#PROVIDER#{provider_id}",
                        },
                    }
                },
            ]
        )
    except ConditionFailed:
        return invalid  # used meanwhile, or the provider was deleted
    return LinkResult(
        True, "Linked: posts in this chat now reach your SignalOS provider.", user_id, provider_id
    )


# --- links on providers ------------------------------------------------------------------------


def linked_providers(chat_id: int, *, tbl: Table | None = None) -> list[Item]:
    """The provider items linked to a chat (any owner): one gsi2 key query."""
    return [
        i
        for i in (tbl or table()).query_all(f"TGCHAT#{chat_id}", index="gsi2", sk_prefix="USER#")
        if i.get("type") == "provider"
    ]


def list_links(user_id: str, *, tbl: Table | None = None) -> list[Item]:
    """The caller's providers that have a chat linked."""
    return [
        i
        for i in (tbl or table()).query_all(f"USER#{user_id}", sk_prefix="PROVIDER#")
        if isinstance(i.get("telegram"), dict)
    ]


def get_provider_item(user_id: str, provider_id: str, *, tbl: Table | None = None) -> Item | None:
    item = (tbl or table()).get(f"USER#{user_id}", f"PROVIDER#{provider_id}")
    return item if item and item.get("type", "provider") == "provider" else None


def unlink(user_id: str, provider_id: str, *, tbl: Table | None = None) -> bool:
    try:
        (tbl or table()).update(
            f"USER#{user_id}",
            f"PROVIDER#{provider_id}",
            remove=["telegram", "gsi2pk", "gsi2sk"],
            condition="attribute_exists(pk) AND attribute_exists(telegram)",
        )
    except ConditionFailed:
        return False
    return True


# --- message index and latest open signal ------------------------------------------------------


def remember_message(
    chat_id: int,
    message_id: int,
    user_id: str,
    provider_id: str,
    signal_id: str,
    symbols: list[str],
    has_open: bool,
    now: datetime,
    *,
    tbl: Table | None = None,
) -> None:
    (tbl or table()).put(
        {
            "pk": f"TGMSG#{chat_id}#{message_id}",
            "sk": f"{user_id}#{provider_id}",
            "signal_id": signal_id,
            "symbols": symbols,
            "has_open": has_open,
            "updated_at": iso(now),
            "expires_at": epoch_seconds(now + INDEX_TTL),
        }
    )


def message_signal(
    chat_id: int, message_id: int, user_id: str, provider_id: str, *, tbl: Table | None = None
) -> str | None:
    item = (tbl or table()).get(f"TGMSG#{chat_id}#{message_id}", f"{user_id}#{provider_id}")
    return str(item["signal_id"]) if item else None


def set_latest_open(
    chat_id: int,
    user_id: str,
    provider_id: str,
    symbols: list[str],
    signal_id: str,
    now: datetime,
    *,
    tbl: Table | None = None,
) -> None:
    tbl = tbl or table()
    for symbol in [*symbols, "*"]:
        tbl.put(
            {
                "pk": f"TGCHAT#{chat_id}",
                "sk": f"LATEST#{user_id}#{provider_id}#{symbol}",
                "signal_id": signal_id,
                "updated_at": iso(now),
                "expires_at": epoch_seconds(now + INDEX_TTL),
            }
        )


def latest_open(
    chat_id: int, user_id: str, provider_id: str, symbol: str | None, *, tbl: Table | None = None
) -> str | None:
    item = (tbl or table()).get(f"TGCHAT#{chat_id}", f"LATEST#{user_id}#{provider_id}#{symbol or '*'}")
    return str(item["signal_id"]) if item else None
