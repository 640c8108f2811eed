"""Trading accounts, their latest heartbeat and symbol specs: the repository (TradingTable).

Items (all under the owner's partition, so every read is scoped to the caller):

    pk=USER#<uid> sk=ACCOUNT#<aid>                  the account
        gsi1pk=ACCOUNT#<aid> gsi1sk=ACCOUNT         lookup by id (the bridge token knows only the id)
        gsi2pk=ACCOUNTS#<uid> gsi2sk=<created_at>#<aid>   the owner's list without reading specs
        entity "account", account_id, user_id, name, kind, broker_server, login, queue_url, queue_arn,
        dlq_url, dlq_arn, symbol_map, symbol_suffix, status (active|disabled), created_at,
        updated_at, token_hash (SHA-256 of the current bridge token; never returned),
        token_created_at, dlq_alarm (name of the CloudWatch alarm on the DLQ; absent while it
        could not be created: retried, see service.ensure_dlq_alarm)
    pk=USER#<uid> sk=ACCOUNT#<aid>#HEARTBEAT        latest heartbeat: balances, positions, and the
        last bid/ask/spread per symbol (`quotes`), plus a digest of each stored spec
    pk=USER#<uid> sk=ACCOUNT#<aid>#SPEC#<symbol>    the broker's static symbol facts, rewritten
        only when they change (bid/ask/spread come from the heartbeat's `quotes`)
    pk=USER#<uid> sk=ACCOUNTS                       active account counter (the license limit)

Used by trading (fan-out, trades API): get_account, get_account_by_id, list_accounts,
latest_heartbeat, symbol_spec.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from signalos.common import settings
from signalos.common.clock import iso, parse_iso, utc_now
from signalos.common.dynamo import ConditionFailed, Item, Table, serialize
from signalos.contracts.execution import Heartbeat, PositionSnapshot, SymbolSpec

AccountKind = Literal["live", "demo", "paper"]
AccountStatus = Literal["active", "disabled"]
ENTITY_ACCOUNT = "account"
# Fields of a spec that move with the market: kept in the heartbeat item, not the spec item.
_VOLATILE_SPEC_FIELDS = ("bid", "ask", "spread")
DEFAULT_QUOTE_MAX_AGE_SECONDS = 120


class Account(BaseModel):
    model_config = ConfigDict(extra="ignore")

    account_id: str
    user_id: str
    name: str
    kind: AccountKind
    broker_server: str | None = None
    login: int | None = None
    queue_url: str
    queue_arn: str
    dlq_url: str | None = None
    dlq_arn: str | None = None
    symbol_map: dict[str, str] = Field(default_factory=dict)
    symbol_suffix: str | None = None
    status: AccountStatus = "active"
    created_at: str
    updated_at: str | None = None
    token_hash: str | None = None
    token_created_at: str | None = None
    disabled_at: str | None = None
    dlq_alarm: str | None = None

    @property
    def active(self) -> bool:
        return self.status == "active"


def table() -> Table:
    return Table.from_env("TRADING_TABLE")


def user_pk(user_id: str) -> str:
    return f"USER#{user_id}"


def account_sk(account_id: str) -> str:
    return f"ACCOUNT#{account_id}"


def heartbeat_sk(account_id: str) -> str:
    return f"ACCOUNT#{account_id}#HEARTBEAT"


def spec_sk(account_id: str, symbol: str) -> str:
    return f"ACCOUNT#{account_id}#SPEC#{symbol.upper()}"


COUNTER_SK = "ACCOUNTS"


def account_item(account: Account) -> Item:
    return {
        **account.model_dump(),
        "pk": user_pk(account.user_id),
        "sk": account_sk(account.account_id),
        "entity": ENTITY_ACCOUNT,
        "gsi1pk": f"ACCOUNT#{account.account_id}",
        "gsi1sk": "ACCOUNT",
        "gsi2pk": f"ACCOUNTS#{account.user_id}",
        "gsi2sk": f"{account.created_at}#{account.account_id}",
    }


def _account(item: Item | None) -> Account | None:
    if item is None or item.get("entity") != ENTITY_ACCOUNT:
        return None
    return Account.model_validate(item)


# --- reads (the interface trading uses) -------------------------------------------------------


def get_account(user_id: str, account_id: str) -> Account | None:
    """The caller's account, or None (also when the id is someone else's)."""
    if not user_id or not account_id:
        return None
    return _account(table().get(user_pk(user_id), account_sk(account_id)))


def get_account_by_id(account_id: str) -> Account | None:
    """An account by id alone (the bridge token lookup gives only the id): one gsi1 key query."""
    if not account_id:
        return None
    items, _ = table().query_page(f"ACCOUNT#{account_id}", index="gsi1", limit=1)
    if not items:
        return None
    # The index is eventually consistent: re-read the item itself for the current state.
    item = items[0]
    return get_account(str(item["user_id"]), account_id)


def list_accounts(user_id: str) -> list[Account]:
    """Every account of the user, oldest first (bounded by the license's account limit)."""
    return [a for a in (_account(i) for i in table().query_all(f"ACCOUNTS#{user_id}", index="gsi2")) if a]


def list_accounts_page(
    user_id: str, *, limit: int, cursor: dict[str, Any] | None
) -> tuple[list[Account], dict[str, Any] | None]:
    items, next_cursor = table().query_page(f"ACCOUNTS#{user_id}", index="gsi2", limit=limit, cursor=cursor)
    return [a for a in (_account(i) for i in items) if a], next_cursor


def latest_heartbeat(user_id: str, account_id: str) -> Heartbeat | None:
    """The last heartbeat (balances and positions; `symbols` is empty: see symbol_spec)."""
    item = table().get(user_pk(user_id), heartbeat_sk(account_id))
    if item is None:
        return None
    fields = {k: item[k] for k in Heartbeat.model_fields if k in item and k != "symbols"}
    fields["positions"] = [PositionSnapshot.model_validate(p) for p in item.get("positions", [])]
    return Heartbeat.model_validate(fields)


def heartbeat_received_at(user_id: str, account_id: str) -> str | None:
    item = table().get(user_pk(user_id), heartbeat_sk(account_id))
    return str(item["received_at"]) if item and item.get("received_at") else None


def quote_max_age_seconds() -> int:
    return settings.env_int("BRIDGE_QUOTE_MAX_AGE_SECONDS", DEFAULT_QUOTE_MAX_AGE_SECONDS)


def symbol_spec(
    user_id: str, account_id: str, symbol: str, *, now: datetime | None = None
) -> SymbolSpec | None:
    """The broker's spec of a canonical symbol as last reported.

    bid/ask/spread are those of the latest heartbeat, and only while it is recent (see
    BRIDGE_QUOTE_MAX_AGE_SECONDS): the risk engine must not judge price distance or spread from
    the market of an agent that went quiet ten minutes ago.
    """
    tbl = table()
    item = tbl.get(user_pk(user_id), spec_sk(account_id, symbol))
    if item is None:
        return None
    fields = {k: item[k] for k in SymbolSpec.model_fields if k in item}
    hb = tbl.get(user_pk(user_id), heartbeat_sk(account_id)) or {}
    quote = (hb.get("quotes") or {}).get(symbol.upper())
    received = hb.get("received_at")
    fresh = (
        received is not None
        and ((now or utc_now()) - parse_iso(str(received))).total_seconds() <= quote_max_age_seconds()
    )
    if quote and fresh:
        fields.update({k: quote.get(k) for k in _VOLATILE_SPEC_FIELDS})
    return SymbolSpec.model_validate(fields)


# --- writes -----------------------------------------------------------------------------------


def spec_digest(spec: SymbolSpec) -> str:
    static = spec.model_dump(mode="json", exclude=set(_VOLATILE_SPEC_FIELDS))
    return hashlib.sha256(json.dumps(static, sort_keys=True).encode()).hexdigest()[:16]


def save_heartbeat(account: Account, hb: Heartbeat, *, received_at: datetime) -> bool:
    """Store a heartbeat unless a newer one is already stored; returns False for a stale one.

    Specs whose static facts did not change since the last heartbeat are not rewritten: a bridge
    reporting 500 symbols every few seconds costs one write, not 501.
    """
    tbl = table()
    pk = user_pk(account.user_id)
    sent_at = iso(hb.sent_at.astimezone(UTC))
    previous = tbl.get(pk, heartbeat_sk(account.account_id)) or {}
    if str(previous.get("sent_at", "")) > sent_at:
        return False
    old_digests: dict[str, str] = previous.get("spec_digests") or {}
    specs = {s.symbol.upper(): s.model_copy(update={"symbol": s.symbol.upper()}) for s in hb.symbols}
    digests = {sym: spec_digest(spec) for sym, spec in specs.items()}
    changed = [spec for sym, spec in specs.items() if old_digests.get(sym) != digests[sym]]
    # Specs first: the digests stored below must only name specs that are really written.
    _put_specs(tbl, account, changed, received_at)
    item: Item = {
        **hb.model_dump(mode="json", exclude={"symbols", "sent_at"}),
        "pk": pk,
        "sk": heartbeat_sk(account.account_id),
        "entity": "heartbeat",
        "user_id": account.user_id,
        "sent_at": sent_at,
        "received_at": iso(received_at),
        "quotes": {
            sym: {k: getattr(spec, k) for k in _VOLATILE_SPEC_FIELDS if getattr(spec, k) is not None}
            for sym, spec in specs.items()
        },
        # Keep digests of specs this heartbeat did not mention (a bridge may report a subset).
        "spec_digests": {**old_digests, **digests},
    }
    try:
        tbl.put(item, condition="attribute_not_exists(pk) OR sent_at <= :sent", values={":sent": sent_at})
    except ConditionFailed:
        return False  # a newer heartbeat landed meanwhile
    return True


def _put_specs(tbl: Table, account: Account, specs: list[SymbolSpec], received_at: datetime) -> None:
    items = [
        {
            **spec.model_dump(mode="json", exclude=set(_VOLATILE_SPEC_FIELDS)),
            "pk": user_pk(account.user_id),
            "sk": spec_sk(account.account_id, spec.symbol),
            "entity": "symbol_spec",
            "account_id": account.account_id,
            "updated_at": iso(received_at),
        }
        for spec in specs
    ]
    for start in range(0, len(items), 25):  # BatchWriteItem takes 25 items
        requests = [{"PutRequest": {"Item": serialize(i)}} for i in items[start : start + 25]]
        pending: dict[str, Any] = {tbl.name: requests}
        for _ in range(5):
            resp = tbl.client.batch_write_item(RequestItems=pending)
            pending = resp.get("UnprocessedItems") or {}
            if not pending:
                break
        if pending:
            raise RuntimeError("DynamoDB did not accept every symbol spec; the bridge will resend them")
