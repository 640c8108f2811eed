"""Subscriptions: a provider's signals traded on one of the subscriber's accounts, with rules.

TradingTable items:
    subscription  pk `USER#<uid>`  sk `SUBSCRIPTION#<subscription_id>`
                  gsi1pk `PROVIDER#<provider_id>`  gsi1sk `SUB#<uid>#<subscription_id>`
                  (only while enabled: the index is sparse, so fan-out reads enabled ones only)
                  fields: entity "subscription", subscription_id, user_id, provider_id,
                  provider_owner_id, account_id, name, enabled, rules (SubscriptionRules JSON),
                  created_at, updated_at, version
    uniqueness    pk `USER#<uid>`  sk `SUBKEY#<provider_id>#<account_id>`: one subscription per
                  (provider, account), so one signal can never be traded twice on one account
                  by two subscriptions. Written and deleted in the same transaction as the
                  subscription.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from signalos.common.clock import iso, parse_iso
from signalos.common.dynamo import ConditionFailed, Item, Table
from signalos.trading.risk.models import SubscriptionRules

ENTITY = "subscription"


class DuplicateSubscription(Exception):
    """The account already subscribes to this provider."""


class StaleSubscription(Exception):
    """The subscription changed (or went away) since it was read."""


class Subscription(BaseModel):
    model_config = ConfigDict(extra="ignore")

    subscription_id: str
    user_id: str
    provider_id: str
    provider_owner_id: str
    account_id: str
    name: str | None = None
    enabled: bool = True
    rules: SubscriptionRules = Field(default_factory=SubscriptionRules)
    created_at: datetime
    updated_at: datetime
    version: int = 1

    def to_item(self) -> Item:
        item: Item = {
            "pk": f"USER#{self.user_id}",
            "sk": f"SUBSCRIPTION#{self.subscription_id}",
            "entity": ENTITY,
            **self.model_dump(mode="json", exclude_none=True),
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
        }
        if self.enabled:
            item["gsi1pk"] = f"PROVIDER#{self.provider_id}"
            item["gsi1sk"] = f"SUB#{self.user_id}#{self.subscription_id}"
        return item

    @classmethod
    def from_item(cls, item: Item) -> Subscription:
        data = {k: v for k, v in item.items() if k not in {"pk", "sk", "gsi1pk", "gsi1sk", "entity"}}
        for name in ("created_at", "updated_at"):
            if isinstance(data.get(name), str):
                data[name] = parse_iso(data[name])
        return cls.model_validate(data)


def _table() -> Table:
    return Table.from_env("TRADING_TABLE")


def _unique_key(user_id: str, provider_id: str, account_id: str) -> dict[str, str]:
    return {"pk": f"USER#{user_id}", "sk": f"SUBKEY#{provider_id}#{account_id}"}


def create(sub: Subscription, *, table: Table | None = None) -> Subscription:
    table = table or _table()
    unique = {
        **_unique_key(sub.user_id, sub.provider_id, sub.account_id),
        "entity": "subscription_key",
        "subscription_id": sub.subscription_id,
    }
    try:
        table.transact_write(
            [
                {"Put": {"Item": unique, "ConditionExpression": "attribute_not_exists(pk)"}},
                {"Put": {"Item": sub.to_item(), "ConditionExpression": "attribute_not_exists(pk)"}},
            ]
        )
    except ConditionFailed as exc:
        raise DuplicateSubscription(sub.provider_id) from exc
    return sub


def get(user_id: str, subscription_id: str, *, table: Table | None = None) -> Subscription | None:
    item = (table or _table()).get(f"USER#{user_id}", f"SUBSCRIPTION#{subscription_id}")
    return Subscription.from_item(item) if item and item.get("entity") == ENTITY else None


def list_for_user(
    user_id: str, *, limit: int = 50, cursor: dict[str, Any] | None = None, table: Table | None = None
) -> tuple[list[Subscription], dict[str, Any] | None]:
    items, next_cursor = (table or _table()).query_page(
        f"USER#{user_id}", sk_prefix="SUBSCRIPTION#", limit=limit, cursor=cursor
    )
    return [Subscription.from_item(i) for i in items], next_cursor


def replace(updated: Subscription, *, expected_version: int, table: Table | None = None) -> Subscription:
    """Write a changed subscription if nobody else changed it since `expected_version`."""
    table = table or _table()
    try:
        table.put(
            updated.to_item(),
            condition="attribute_exists(pk) AND #ver = :v",
            names={"#ver": "version"},
            values={":v": expected_version},
        )
    except ConditionFailed as exc:
        raise StaleSubscription(updated.subscription_id) from exc
    return updated


def delete(sub: Subscription, *, table: Table | None = None) -> None:
    table = table or _table()
    try:
        table.transact_write(
            [
                {
                    "Delete": {
                        "Key": {"pk": f"USER#{sub.user_id}", "sk": f"SUBSCRIPTION#{sub.subscription_id}"},
                        "ConditionExpression": "attribute_exists(pk)",
                    }
                },
                {"Delete": {"Key": _unique_key(sub.user_id, sub.provider_id, sub.account_id)}},
            ]
        )
    except ConditionFailed as exc:
        raise StaleSubscription(sub.subscription_id) from exc


def enabled_for_provider_page(
    provider_id: str, *, limit: int, cursor: dict[str, Any] | None = None, table: Table | None = None
) -> tuple[list[Item], dict[str, Any] | None]:
    """One page of the enabled subscriptions of a provider (gsi1, sparse: enabled only)."""
    return (table or _table()).query_page(
        f"PROVIDER#{provider_id}", index="gsi1", sk_prefix="SUB#", limit=limit, cursor=cursor
    )


def enabled_for_provider(provider_id: str, *, table: Table | None = None) -> Iterator[Item]:
    yield from (table or _table()).query_all(f"PROVIDER#{provider_id}", index="gsi1", sk_prefix="SUB#")
