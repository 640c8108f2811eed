"""Subscriptions API logic: validation that the provider and account are the caller's to use."""

from __future__ import annotations

from typing import Any

from signalos.common.clock import iso, utc_now
from signalos.common.dynamo import Table
from signalos.common.errors import Conflict, NotFound
from signalos.common.ids import new_id
from signalos.common.pagination import decode_cursor, encode_cursor
from signalos.trading import subscriptions
from signalos.trading.models import SubscriptionIn, SubscriptionOut, SubscriptionPatch
from signalos.trading.subscriptions import Subscription


def _accounts() -> Any:
    from signalos.bridge_api import accounts

    return accounts


def find_provider(user_id: str, provider_id: str) -> tuple[str, str] | None:
    """(owner user_id, provider_id) of the caller's own provider or of a public one, else None."""
    signals = Table.from_env("SIGNALS_TABLE")
    own = signals.get(f"USER#{user_id}", f"PROVIDER#{provider_id}")
    if own is not None:
        return user_id, provider_id
    # Public providers are listed on SignalsTable gsi1 (`PROVIDERS#PUBLIC`, SIGNALS' shape); the
    # partition holds public providers only, so this filter reads that list, never user data.
    for item in signals.query_all(
        "PROVIDERS#PUBLIC",
        index="gsi1",
        filter_expression="provider_id = :pid",
        values={":pid": provider_id},
    ):
        if item.get("visibility") == "public":
            return str(item["user_id"]), provider_id
    return None


def to_out(sub: Subscription) -> SubscriptionOut:
    return SubscriptionOut(
        subscription_id=sub.subscription_id,
        provider_id=sub.provider_id,
        account_id=sub.account_id,
        name=sub.name,
        enabled=sub.enabled,
        rules=sub.rules,
        created_at=iso(sub.created_at),
        updated_at=iso(sub.updated_at),
    )


def create_subscription(user_id: str, body: SubscriptionIn) -> Subscription:
    account = _accounts().get_account(user_id, body.account_id)
    if account is None:
        raise NotFound("No such trading account", code="ACCOUNT_NOT_FOUND")
    found = find_provider(user_id, body.provider_id)
    if found is None:
        raise NotFound("No such provider (yours or a public one)", code="PROVIDER_NOT_FOUND")
    now = utc_now()
    sub = Subscription(
        subscription_id=new_id("sub"),
        user_id=user_id,
        provider_id=body.provider_id,
        provider_owner_id=found[0],
        account_id=body.account_id,
        name=body.name,
        enabled=body.enabled,
        rules=body.rules,
        created_at=now,
        updated_at=now,
    )
    try:
        return subscriptions.create(sub)
    except subscriptions.DuplicateSubscription as exc:
        raise Conflict(
            "This account already subscribes to that provider",
            code="SUBSCRIPTION_EXISTS",
            details={"provider_id": body.provider_id, "account_id": body.account_id},
        ) from exc


def get_subscription(user_id: str, subscription_id: str) -> Subscription:
    sub = subscriptions.get(user_id, subscription_id)
    if sub is None:
        raise NotFound("No such subscription", code="SUBSCRIPTION_NOT_FOUND")
    return sub


def list_subscriptions(
    user_id: str, *, limit: int, cursor: str | None
) -> tuple[list[Subscription], str | None]:
    start = decode_cursor(cursor, expect={"pk": f"USER#{user_id}"})
    subs, next_key = subscriptions.list_for_user(user_id, limit=limit, cursor=start)
    return subs, encode_cursor(next_key)


def patch_subscription(user_id: str, subscription_id: str, body: SubscriptionPatch) -> Subscription:
    sub = get_subscription(user_id, subscription_id)
    changes: dict[str, Any] = body.model_dump(exclude_unset=True)
    if "rules" in changes and body.rules is not None:
        changes["rules"] = body.rules
    if changes.get("enabled") is None:
        changes.pop("enabled", None)
    updated = sub.model_copy(update={**changes, "updated_at": utc_now(), "version": sub.version + 1})
    try:
        return subscriptions.replace(updated, expected_version=sub.version)
    except subscriptions.StaleSubscription as exc:
        raise Conflict(
            "The subscription changed meanwhile; read it again", code="STALE_SUBSCRIPTION"
        ) from exc


def delete_subscription(user_id: str, subscription_id: str) -> None:
    sub = get_subscription(user_id, subscription_id)
    try:
        subscriptions.delete(sub)
    except subscriptions.StaleSubscription as exc:
        raise NotFound("No such subscription", code="SUBSCRIPTION_NOT_FOUND") from exc
