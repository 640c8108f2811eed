"""Write orders, then put them on the account's queue, then mark them sent (shared by fan-out
and the trades API).

Order of writes, and why: the order items (state pending) and the day's counter ADD are written
first in one transaction, so an order on a queue always has a record a report can be applied
to; then the commands are sent (FIFO, group = account, dedup id = command id); then each item
is marked sent. A crash between the steps leaves `pending` items that a retry re-sends (same
ids: the queue drops a duplicate within five minutes, the bridge's journal after that).
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlparse

from signalos.common.clock import iso
from signalos.common.dynamo import ConditionFailed, Item, Table, serialize
from signalos.contracts.orders import ManageCommand, OpenOrder
from signalos.trading import counters, queues
from signalos.trading.records import transition_entry

log = logging.getLogger(__name__)


class QueueMismatch(RuntimeError):
    """An account record whose queue URL is not that account's queue: never send to it."""


@dataclass
class EnqueueResult:
    sent: list[str] = field(default_factory=list)  # order ids now on the queue
    existing: list[str] = field(default_factory=list)  # already written by an earlier attempt
    failed: list[str] = field(default_factory=list)
    error: str | None = None
    cap_race: bool = False  # the day's order cap was reached between planning and writing


def account_queue_url(account: Any, user_id: str, account_id: str) -> str:
    """The queue of this account, from its own record, after checking the record is that account.

    The URL's last path segment must be `<ORDER_QUEUE_PREFIX><account_id>.fifo`: an account
    record pointing anywhere else (corrupt, or tampered) never receives an order.
    """
    if getattr(account, "user_id", None) != user_id or getattr(account, "account_id", None) != account_id:
        raise QueueMismatch(f"account record {account_id} does not belong to {user_id}")
    url = getattr(account, "queue_url", None)
    if not url:
        raise QueueMismatch(f"account {account_id} has no queue")
    name = urlparse(str(url)).path.rsplit("/", 1)[-1]
    prefix = os.environ.get("ORDER_QUEUE_PREFIX", "")
    if name != f"{prefix}{account_id}.fifo":
        raise QueueMismatch(f"queue {name!r} is not the queue of account {account_id}")
    return str(url)


WRITTEN, EXISTS, DAILY_CAP, RATE_LIMIT = "written", "exists", "daily_cap", "rate_limit"


def write_orders(
    table: Table,
    items: Sequence[Item],
    *,
    user_id: str,
    account_id: str,
    now: datetime,
    trades: int,
    max_orders: int | None,
    day_start_balance: float | None,
    max_per_minute: int | None = None,
) -> str:
    """Put the pending order items and add to the day's (and minute's) counters, atomically.

    Returns WRITTEN, or why the transaction was refused: EXISTS (an earlier attempt wrote these
    orders), DAILY_CAP (the day's order cap filled up meanwhile), RATE_LIMIT (the admin's orders
    per minute per account). Nothing is written when refused.
    """
    ops: list[dict[str, Any]] = [
        {"Put": {"Item": dict(item), "ConditionExpression": "attribute_not_exists(pk)"}} for item in items
    ]
    ops.append(
        counters.add_operation(
            table.name,
            user_id,
            account_id,
            now,
            trades=trades,
            orders=len(items),
            max_orders=max_orders,
            day_start_balance=day_start_balance,
        )
    )
    if max_per_minute is not None:
        from signalos.trading.policy import minute_rate_operation

        ops.append(minute_rate_operation(table.name, user_id, account_id, now, len(items), max_per_minute))
    try:
        table.transact_write(ops)
    except ConditionFailed as exc:
        failed = _failed_operations(exc)
        if any(i < len(items) for i in failed) or not failed:
            return EXISTS  # unknown reasons: the caller looks the orders up before anything else
        return DAILY_CAP if len(items) in failed else RATE_LIMIT
    return WRITTEN


def _failed_operations(exc: BaseException) -> set[int]:
    """Indexes of the operations DynamoDB's CancellationReasons name as failed (empty if unknown)."""
    response = getattr(exc.__cause__, "response", None) or {}
    reasons = response.get("CancellationReasons") or []
    return {i for i, r in enumerate(reasons) if isinstance(r, dict) and r.get("Code") not in (None, "None")}


def mark_sent(table: Table, item: Item, now: datetime) -> None:
    """pending -> sent with enqueued_at; a report that got there first wins (no-op)."""
    stamp = iso(now)
    try:
        table.client.update_item(
            TableName=table.name,
            Key=serialize({"pk": item["pk"], "sk": item["sk"]}),
            UpdateExpression="SET #st = :sent, enqueued_at = :t, updated_at = :t, "
            "transitions = list_append(if_not_exists(transitions, :empty), :tr) ADD version :one",
            ConditionExpression="#st = :pending",
            ExpressionAttributeNames={"#st": "state"},
            ExpressionAttributeValues=serialize(
                {
                    ":sent": "sent",
                    ":pending": "pending",
                    ":t": stamp,
                    ":empty": [],
                    ":one": 1,
                    ":tr": [transition_entry("sent", stamp)],
                }
            ),
        )
    except table.client.exceptions.ConditionalCheckFailedException:
        log.info(
            "order moved past pending before it was marked sent", extra={"order_id": item.get("order_id")}
        )


def close_pending(table: Table, item: Item, now: datetime, state: str, reason: str) -> bool:
    """pending -> `state` (failed/expired) with the reason; False when it already moved on."""
    stamp = iso(now)
    try:
        table.client.update_item(
            TableName=table.name,
            Key=serialize({"pk": item["pk"], "sk": item["sk"]}),
            UpdateExpression="SET #st = :new, state_reason = :r, updated_at = :t, "
            "transitions = list_append(if_not_exists(transitions, :empty), :tr) ADD version :one",
            ConditionExpression="#st = :pending",
            ExpressionAttributeNames={"#st": "state"},
            ExpressionAttributeValues=serialize(
                {
                    ":new": state,
                    ":pending": "pending",
                    ":r": reason[:500],
                    ":t": stamp,
                    ":empty": [],
                    ":one": 1,
                    ":tr": [transition_entry(state, stamp)],
                }
            ),
        )
    except table.client.exceptions.ConditionalCheckFailedException:
        return False
    return True


def note_not_enqueued(table: Table, item: Item, now: datetime, reason: str) -> None:
    """Keep the order pending (a retry resends it) and say why it is still pending."""
    with contextlib.suppress(ConditionFailed):  # a report moved it on meanwhile: nothing to say
        table.update(
            item["pk"],
            item["sk"],
            set_values={"state_reason": reason[:500], "updated_at": iso(now)},
            condition="#st = :pending",
            names={"#st": "state"},
            values={":pending": "pending"},
        )


def send_and_mark(
    table: Table,
    queue_url: str,
    items: Sequence[Item],
    orders: Sequence[OpenOrder],
    now: datetime,
    result: EnqueueResult,
) -> None:
    """Send the commands of pending items and mark them sent.

    Orders past their expiry are closed as expired instead of sent. Orders SQS did not take stay
    pending with the reason (the caller hands the fan-out to the worker, whose retry resends
    them: same command ids, so nothing is delivered twice).
    """
    live_items, live_orders = [], []
    for item, order in zip(items, orders, strict=True):
        if order.is_expired(now):
            close_pending(table, item, now, "expired", "expired before it could be enqueued")
            result.failed.append(order.order_id)
        else:
            live_items.append(item)
            live_orders.append(order)
    items, orders = live_items, live_orders
    if not orders:
        return
    try:
        queues.send_commands(queue_url, orders)
    except Exception as exc:
        log.exception("enqueue failed", extra={"queue_url": queue_url})
        bad = set(exc.failed) if isinstance(exc, queues.EnqueueError) else {o.command_id for o in orders}
        for item, order in zip(items, orders, strict=True):
            if order.command_id in bad:
                note_not_enqueued(table, item, now, "not on the queue yet (queue unavailable): retrying")
                result.failed.append(order.order_id)
            else:
                mark_sent(table, item, now)
                result.sent.append(order.order_id)
        result.error = f"order queue unavailable: {type(exc).__name__}"
        return
    for item, order in zip(items, orders, strict=True):
        mark_sent(table, item, now)
        result.sent.append(order.order_id)


def send_manage(queue_url: str, commands: Sequence[ManageCommand]) -> list[str]:
    if not commands:
        return []
    return queues.send_commands(queue_url, commands)
