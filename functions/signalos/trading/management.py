"""Management of trades already opened from a signal: provider updates and signal edits.

- An update ("move SL to BE", "close half", a "close now" reply) is aimed at the positions the
  original signal opened (`event.reply_to_signal_id`: the reply target, or the channel's latest
  open signal for that symbol, which the webhook resolves). Its orders are found on gsi1
  (`SIGNAL#<signal_id>`), grouped by account, turned into ManageCommands by the risk engine's
  `plan_management`, and sent to each account's own queue.
- An edit of a signal that already traded (revision > 0) updates those legs (`apply_edit`):
  ManageCommand modify for legs that left, in-place for legs still pending. It never opens
  a second set of trades.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime
from typing import TYPE_CHECKING, Any

from signalos.common.clock import iso
from signalos.common.dynamo import ConditionFailed, Item, Table
from signalos.contracts.parse_result import OpenSetup
from signalos.contracts.signal_event import SignalEvent
from signalos.trading import enqueue, fanout_plan, queues
from signalos.trading.records import LIVE_STATES
from signalos.trading.risk import plan_management

if TYPE_CHECKING:
    from signalos.trading.fanout import FanoutSummary, Outcome
    from signalos.trading.subscriptions import Subscription

log = logging.getLogger(__name__)


def _fanout() -> Any:
    from signalos.trading import fanout

    return fanout


def target_orders(
    signal_id: str, provider_id: str | None, *, table: Table, account_id: str | None = None
) -> list[Item]:
    """The live orders a signal opened (optionally on one account), from the same provider."""
    prefix = f"ORDER#{account_id}#" if account_id else "ORDER#"
    return [
        o
        for o in table.query_all(f"SIGNAL#{signal_id}", index="gsi1", sk_prefix=prefix)
        if o.get("state") in LIVE_STATES and o.get("provider_id") == provider_id
    ]


def dispatch_updates(event: SignalEvent, summary: FanoutSummary, *, now: datetime, table: Table) -> None:
    """Send the event's management updates to every account holding legs of the target signal."""
    target = event.reply_to_signal_id
    if not target:
        log.info("update without a target signal: nothing to manage", extra={"signal_id": event.signal_id})
        return
    groups: dict[tuple[str, str], list[Item]] = defaultdict(list)
    for order in target_orders(target, event.provider_id, table=table):
        groups[(str(order["user_id"]), str(order["account_id"]))].append(order)
    keys = sorted(groups)
    inline = _fanout().inline_max()
    for user_id, account_id in keys[:inline]:
        summary.add(
            manage_account(
                event, target, user_id, account_id, groups[(user_id, account_id)], now=now, table=table
            )
        )
    rest = keys[inline:]
    for start in range(0, len(rest), max(inline, 1)):
        chunk = rest[start : start + max(inline, 1)]
        queues.send_continuation(
            {
                "kind": "manage",
                "event": event.model_dump(mode="json"),
                "accounts": [{"user_id": u, "account_id": a} for u, a in chunk],
            }
        )
        summary.continued = True


def manage_account(
    event: SignalEvent,
    target_signal_id: str,
    user_id: str,
    account_id: str,
    legs: list[Item] | None,
    *,
    now: datetime,
    table: Table,
) -> Outcome:
    """Plan and send one account's commands for the event's updates (legs re-read when None)."""
    fanout = _fanout()
    if legs is None:
        legs = [
            o
            for o in target_orders(target_signal_id, event.provider_id, table=table, account_id=account_id)
            if o.get("user_id") == user_id
        ]
    sub_id = legs[0].get("subscription_id") if legs else None
    states = [fanout_plan.leg_state(o) for o in legs]
    commands = []
    for u, update in enumerate(event.parse.updates):
        plans = plan_management(update, states)
        commands += fanout_plan.manage_commands(
            plans,
            account_id=account_id,
            user_id=user_id,
            signal_id=target_signal_id,
            symbol=update.symbol or (legs[0].get("symbol") if legs else None),
            now=now,
            id_parts=(event.signal_id, event.revision, u),
        )
    if not commands:
        return fanout.Outcome(sub_id, user_id, account_id, "skipped", reason="nothing to manage")
    try:
        account = fanout._accounts().get_account(user_id, account_id)
        if not fanout.account_usable(account):
            return fanout.Outcome(sub_id, user_id, account_id, "failed", reason="account unavailable")
        queue_url = enqueue.account_queue_url(account, user_id, account_id)
        sent = enqueue.send_manage(queue_url, commands)
    except Exception as exc:
        log.exception("management commands not sent", extra={"account_id": account_id})
        return fanout.Outcome(sub_id, user_id, account_id, "failed", reason=type(exc).__name__)
    return fanout.Outcome(sub_id, user_id, account_id, "modified", command_ids=sent)


def apply_edit(
    event: SignalEvent,
    sub: Subscription,
    setup: OpenSetup,
    older: list[Item],
    queue_url: str,
    *,
    now: datetime,
    table: Table,
) -> Outcome:
    """An edited signal updates the legs its earlier revision opened on this subscription."""
    fanout = _fanout()
    plan = fanout_plan.plan_edit(setup, older)
    index = int(older[0].get("setup_index", 0))
    if plan.conflict:
        return fanout._reject(table, event, sub, setup, index, "EDIT_CONFLICT", plan.conflict, now)
    result = enqueue.EnqueueResult()
    replanned: list[Item] = []
    for order_id, changes in plan.replan:
        item = next(o for o in older if o["order_id"] == order_id)
        try:
            updated = table.update(
                item["pk"],
                item["sk"],
                set_values={**changes, "updated_at": iso(now)},
                add_values={"version": 1},
                condition="#st = :pending",
                names={"#st": "state"},
                values={":pending": "pending"},
            )
            replanned.append(updated)
        except ConditionFailed:
            # It left meanwhile: modify it on the queue instead.
            plan.modify.append(
                fanout_plan.ManagePlan(
                    action="modify",
                    target_order_ids=[order_id],
                    stop_loss=changes.get("stop_loss"),
                    take_profit=changes.get("take_profit"),
                )
            )
    if replanned:
        enqueue.send_and_mark(
            table, queue_url, replanned, [fanout_plan.open_order_from_item(i) for i in replanned], now, result
        )
    commands = fanout_plan.manage_commands(
        plan.modify,
        account_id=sub.account_id,
        user_id=sub.user_id,
        signal_id=event.signal_id,
        symbol=setup.symbol,
        now=now,
        id_parts=(event.signal_id, event.revision, "edit", index),
    )
    try:
        sent = enqueue.send_manage(queue_url, commands)
    except Exception as exc:
        log.exception("edit commands not sent", extra={"account_id": sub.account_id})
        return fanout.Outcome(
            sub.subscription_id,
            sub.user_id,
            sub.account_id,
            "failed",
            order_ids=result.sent,
            reason=type(exc).__name__,
        )
    return fanout.Outcome(
        sub.subscription_id,
        sub.user_id,
        sub.account_id,
        "modified",
        order_ids=[str(o["order_id"]) for o in older],
        command_ids=sent,
    )
