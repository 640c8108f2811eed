"""Fan-out: a parsed signal becomes orders (or management commands) on every subscribed account.

`dispatch_signal(event)` is called by the Telegram webhook and by the signals slow-path worker
once a signal is parsed. For each enabled subscription of the provider (gsi1, sparse) it loads
the subscriber's account (under the subscriber's own partition: the queue URL comes from there
and nowhere else), the last heartbeat and symbol spec, today's counters and, for edits, the
legs the signal opened before; runs the risk engine; writes the orders; sends them; and stores
every refusal with its reason. The first FANOUT_INLINE_MAX subscriptions are done inline; the
rest continue on FANOUT_QUEUE_URL (`fanout_worker`), a page at a time.

Idempotent per (signal_id, revision, subscription, setup, leg): ids are derived, writes are
conditional, so a retry resends what is still pending and never opens a second set of trades.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from signalos.common import settings
from signalos.common.clock import utc_now
from signalos.common.dynamo import Item, Table
from signalos.contracts.parse_result import OpenSetup
from signalos.contracts.signal_event import SignalEvent
from signalos.trading import counters, enqueue, fanout_plan, orders, policy, queues, subscriptions
from signalos.trading.risk import AccountState, SubscriptionRules, plan_orders

log = logging.getLogger(__name__)

DEFAULT_INLINE_MAX = 25
DEFAULT_PAGE_SIZE = 100
# How far back unexecuted orders are looked up for the open-trades / total-lots caps.
UNEXECUTED_WINDOW = timedelta(days=2)


@dataclass
class Outcome:
    subscription_id: str | None
    user_id: str
    account_id: str | None
    status: str  # enqueued | rejected | exists | modified | failed | skipped
    order_ids: list[str] = field(default_factory=list)
    command_ids: list[str] = field(default_factory=list)
    reason: str | None = None


@dataclass
class FanoutSummary:
    signal_id: str
    revision: int
    subscriptions: int = 0
    orders_enqueued: int = 0
    commands_enqueued: int = 0
    rejected: int = 0
    failed: int = 0
    continued: bool = False
    outcomes: list[Outcome] = field(default_factory=list)

    def add(self, outcome: Outcome) -> None:
        self.outcomes.append(outcome)
        if outcome.status == "enqueued":
            self.orders_enqueued += len(outcome.order_ids)
        self.commands_enqueued += len(outcome.command_ids)
        if outcome.status == "rejected":
            self.rejected += 1
        elif outcome.status == "failed":
            self.failed += 1


def inline_max() -> int:
    return max(0, settings.env_int("FANOUT_INLINE_MAX", DEFAULT_INLINE_MAX))


def page_size() -> int:
    return max(1, settings.env_int("FANOUT_PAGE_SIZE", DEFAULT_PAGE_SIZE))


def _accounts() -> Any:
    from signalos.bridge_api import accounts

    return accounts


def dispatch_signal(event: SignalEvent) -> FanoutSummary:
    """Fan a parsed signal out to the provider's subscriptions (see the module docstring)."""
    summary = FanoutSummary(signal_id=event.signal_id, revision=event.revision)
    if not event.provider_id:
        return summary
    now = utc_now()
    table = orders.trading_table()
    if event.parse.opens:
        limit = inline_max()
        if limit == 0:
            _continue(event, None, summary)
        else:
            page, cursor = subscriptions.enabled_for_provider_page(
                event.provider_id, limit=limit, table=table
            )
            for sub_item in page:
                summary.subscriptions += 1
                for outcome in process_subscription(event, sub_item, now=now, table=table):
                    summary.add(outcome)
            if cursor:
                _continue(event, cursor, summary)
    if event.parse.updates:
        from signalos.trading.management import dispatch_updates

        dispatch_updates(event, summary, now=now, table=table)
    log.info(
        "fan-out",
        extra={
            "signal_id": event.signal_id,
            "revision": event.revision,
            "subscriptions": summary.subscriptions,
            "orders": summary.orders_enqueued,
            "rejected": summary.rejected,
            "continued": summary.continued,
        },
    )
    return summary


def _continue(event: SignalEvent, cursor: dict[str, Any] | None, summary: FanoutSummary) -> None:
    queues.send_continuation({"kind": "opens", "event": event.model_dump(mode="json"), "cursor": cursor})
    summary.continued = True


def retry_later(event: SignalEvent) -> None:
    """Hand a whole fan-out to the worker (after an inline failure): it redoes what is missing."""
    queues.send_continuation({"kind": "dispatch", "event": event.model_dump(mode="json")})


def continue_page(event: SignalEvent, cursor: dict[str, Any] | None) -> FanoutSummary:
    """One page of a continued fan-out (the worker): hand on the next page first, then work."""
    summary = FanoutSummary(signal_id=event.signal_id, revision=event.revision)
    if not event.provider_id:
        return summary
    table = orders.trading_table()
    page, next_cursor = subscriptions.enabled_for_provider_page(
        event.provider_id, limit=page_size(), cursor=cursor, table=table
    )
    if next_cursor:
        _continue(event, next_cursor, summary)
    now = utc_now()
    for sub_item in page:
        summary.subscriptions += 1
        for outcome in process_subscription(event, sub_item, now=now, table=table):
            summary.add(outcome)
    return summary


# --- one subscription ---------------------------------------------------------------------------


def effective_rules(rules: SubscriptionRules, account: Any) -> SubscriptionRules:
    """The subscription's rules with the account's broker symbol mapping as the fallback."""
    account_map = dict(getattr(account, "symbol_map", None) or {})
    suffix = rules.symbol_suffix or (getattr(account, "symbol_suffix", None) or "")
    if not account_map and suffix == rules.symbol_suffix:
        return rules
    merged = {**{k.upper(): v for k, v in account_map.items()}, **rules.symbol_map}
    return rules.model_copy(update={"symbol_map": merged, "symbol_suffix": suffix})


def account_usable(account: Any) -> bool:
    return account is not None and str(getattr(account, "status", "active") or "active") == "active"


def process_subscription(event: SignalEvent, sub_item: Item, *, now: datetime, table: Table) -> list[Outcome]:
    """Every open setup of the event for one subscription. Never raises for one bad subscription."""
    user_id = str(sub_item.get("user_id"))
    sub_id = sub_item.get("subscription_id")
    try:
        sub = subscriptions.Subscription.from_item(sub_item)
    except Exception:
        log.exception("unreadable subscription", extra={"subscription_id": sub_id})
        return [
            Outcome(sub_id, user_id, sub_item.get("account_id"), "failed", reason="unreadable subscription")
        ]
    try:
        return _process(event, sub, now=now, table=table)
    except Exception as exc:
        log.exception("fan-out failed for a subscription", extra={"subscription_id": sub.subscription_id})
        return [
            Outcome(sub.subscription_id, sub.user_id, sub.account_id, "failed", reason=type(exc).__name__)
        ]


def _process(
    event: SignalEvent, sub: subscriptions.Subscription, *, now: datetime, table: Table
) -> list[Outcome]:
    # A post reaches here with no user token: check the subscriber now (disabled, unlicensed).
    refusal = policy.trading_refusal(sub.user_id)
    if refusal is not None:
        return _reject_every_setup(table, event, sub, *refusal, now)
    accounts = _accounts()
    account = accounts.get_account(sub.user_id, sub.account_id)
    if not account_usable(account):
        return _reject_every_setup(table, event, sub, *UNAVAILABLE_ACCOUNT, now)
    try:
        queue_url = enqueue.account_queue_url(account, sub.user_id, sub.account_id)
    except enqueue.QueueMismatch as exc:
        log.error("account queue mismatch", extra={"account_id": sub.account_id, "error": str(exc)})
        return _reject_every_setup(table, event, sub, *NO_QUEUE, now)
    settings = policy.global_settings()
    rules = policy.capped_rules(effective_rules(sub.rules, account), settings)
    existing = [
        o
        for o in table.query_all(
            f"SIGNAL#{event.signal_id}", index="gsi1", sk_prefix=f"ORDER#{sub.account_id}#"
        )
        if o.get("subscription_id") == sub.subscription_id
    ]
    loader = _AccountLoader(accounts, table, sub.user_id, sub.account_id, rules, now)
    loader.settings = settings
    outcomes: list[Outcome] = []
    for index, setup in enumerate(event.parse.opens):
        mine = [o for o in existing if int(o.get("setup_index", 0)) == index]
        outcomes.append(_one_setup(event, sub, rules, setup, index, mine, loader, queue_url, now, table))
    return outcomes


class _AccountLoader:
    """Loads the account's heartbeat, specs and counters once, and only when a plan needs them."""

    def __init__(
        self,
        accounts: Any,
        table: Table,
        user_id: str,
        account_id: str,
        rules: SubscriptionRules,
        now: datetime,
    ) -> None:
        self.accounts, self.table, self.user_id, self.account_id = accounts, table, user_id, account_id
        self.rules, self.now = rules, now
        self._heartbeat: Any = None
        self._loaded = False
        self._specs: dict[str, Any] = {}
        self.raw_counters: dict[str, Any] | None = None
        self.extra_orders = 0  # legs written by this invocation (before the counters show them)
        self.settings: Any = None  # the admin's global settings (policy.global_settings)

    def heartbeat(self) -> Any:
        if not self._loaded:
            self._heartbeat = self.accounts.latest_heartbeat(self.user_id, self.account_id)
            self._loaded = True
        return self._heartbeat

    def spec(self, symbol: str) -> Any:
        if symbol not in self._specs:
            self._specs[symbol] = self.accounts.symbol_spec(self.user_id, self.account_id, symbol)
        return self._specs[symbol]

    def counters(self, *, refresh: bool = False) -> dict[str, Any]:
        if self.raw_counters is None or refresh:
            self.raw_counters = counters.read_counters(self.table, self.user_id, self.account_id, self.now)
            self.extra_orders = 0
        return self.raw_counters

    def state(self) -> AccountState:
        hb = self.heartbeat()
        queued, lots = 0, 0.0
        if self.rules.max_open_trades is not None or self.rules.max_total_lots is not None:
            queued, lots = orders.unexecuted_load(
                self.user_id, self.account_id, since=self.now - UNEXECUTED_WINDOW, table=self.table
            )
        if hb is None:
            return AccountState(balance=0.0, open_trades=queued, open_lots=round(lots, 8))
        return AccountState.from_heartbeat(hb, queued_trades=queued, queued_lots=lots)


def _one_setup(
    event: SignalEvent,
    sub: subscriptions.Subscription,
    rules: SubscriptionRules,
    setup: OpenSetup,
    index: int,
    mine: list[Item],
    loader: _AccountLoader,
    queue_url: str,
    now: datetime,
    table: Table,
) -> Outcome:
    same = [o for o in mine if int(o.get("revision", 0)) == event.revision]
    newer = [o for o in mine if int(o.get("revision", 0)) > event.revision]
    older = [o for o in mine if int(o.get("revision", 0)) < event.revision]
    if newer:
        return Outcome(
            sub.subscription_id,
            sub.user_id,
            sub.account_id,
            "skipped",
            reason="a newer revision of the signal was already traded",
        )
    if same:
        return _resend_pending(table, queue_url, same, sub, now)
    if older:
        from signalos.trading.management import apply_edit

        return apply_edit(event, sub, setup, older, queue_url, now=now, table=table)
    return _plan_and_enqueue(event, sub, rules, setup, index, loader, queue_url, now, table)


def _plan_and_enqueue(
    event: SignalEvent,
    sub: subscriptions.Subscription,
    rules: SubscriptionRules,
    setup: OpenSetup,
    index: int,
    loader: _AccountLoader,
    queue_url: str,
    now: datetime,
    table: Table,
) -> Outcome:
    paused = policy.maintenance_refusal(loader.settings)
    if paused is not None:
        return _reject(table, event, sub, setup, index, *paused, now)
    ctx = fanout_plan.OrderContext(
        user_id=sub.user_id,
        account_id=sub.account_id,
        subscription_id=sub.subscription_id,
        provider_id=event.provider_id,
        signal_id=event.signal_id,
        revision=event.revision,
        setup_index=index,
        origin="signal",
        signal_time=event.signal_time,
        received_at=event.received_at,
        parsed_at=event.parsed_at,
    )
    for attempt in range(2):
        raw = loader.counters(refresh=attempt > 0)
        daily = counters.to_daily_counters({**raw, "orders": raw["orders"] + loader.extra_orders})
        hb = loader.heartbeat()
        decision = plan_orders(
            setup,
            rules,
            loader.state(),
            loader.spec(setup.symbol.upper()),
            None,
            daily,
            event.signal_time,
            now,
        )
        if not decision.accepted:
            return _reject(
                table,
                event,
                sub,
                setup,
                index,
                decision.reason_code or "REJECTED",
                decision.reason or "rejected by the risk rules",
                now,
                decision.warnings,
            )
        ids = [
            fanout_plan.order_id_for(event.signal_id, event.revision, sub.subscription_id, index, leg.leg)
            for leg in decision.legs
        ]
        group = fanout_plan.group_id_for(event.signal_id, event.revision, sub.subscription_id, index)
        open_orders = fanout_plan.open_orders_from_decision(
            decision, ctx, now=now, order_ids=ids, group_id=group
        )
        items = [fanout_plan.order_item(o, ctx) for o in open_orders]
        written = enqueue.write_orders(
            table,
            items,
            user_id=sub.user_id,
            account_id=sub.account_id,
            now=now,
            trades=1,
            max_orders=rules.max_daily_trades,
            day_start_balance=getattr(hb, "balance", None),
            max_per_minute=getattr(loader.settings, "max_orders_per_minute_per_account", None),
        )
        if written == enqueue.WRITTEN:
            loader.extra_orders += len(items)
            result = enqueue.EnqueueResult()
            enqueue.send_and_mark(table, queue_url, items, open_orders, now, result)
            # Legs SQS did not take stay pending: "failed" makes the caller retry (resending them).
            status = "failed" if result.error else "enqueued"
            return Outcome(
                sub.subscription_id,
                sub.user_id,
                sub.account_id,
                status,
                order_ids=result.sent,
                reason=result.error,
            )
        if written == enqueue.RATE_LIMIT:
            return _reject(
                table,
                event,
                sub,
                setup,
                index,
                "ORDER_RATE_LIMIT",
                "ORDER_RATE_LIMIT: the account reached the administrator's orders-per-minute cap",
                now,
            )
        # Refused: an earlier attempt wrote these orders (resend what is pending), or the day's
        # cap filled up since we read the counters (plan again with fresh counters).
        found = [i for i in (orders.get_order(sub.user_id, oid, table=table) for oid in ids) if i]
        if found:
            return _resend_pending(table, queue_url, found, sub, now)
    return _reject(
        table,
        event,
        sub,
        setup,
        index,
        "DAILY_TRADE_CAP",
        "DAILY_TRADE_CAP: the daily order cap was reached while this signal was placed",
        now,
    )


def _resend_pending(
    table: Table, queue_url: str, items: list[Item], sub: subscriptions.Subscription, now: datetime
) -> Outcome:
    pending = [i for i in items if i.get("state") == "pending"]
    result = enqueue.EnqueueResult(existing=[str(i["order_id"]) for i in items])
    if pending:
        enqueue.send_and_mark(
            table, queue_url, pending, [fanout_plan.open_order_from_item(i) for i in pending], now, result
        )
    return Outcome(
        sub.subscription_id,
        sub.user_id,
        sub.account_id,
        "failed" if result.error else "exists",
        order_ids=result.existing,
        reason=result.error,
    )


UNAVAILABLE_ACCOUNT = (
    "ACCOUNT_UNAVAILABLE",
    "ACCOUNT_UNAVAILABLE: the trading account is missing or disabled",
)
NO_QUEUE = ("ACCOUNT_UNAVAILABLE", "ACCOUNT_UNAVAILABLE: the account's order queue is not set up")


def _reject_every_setup(
    table: Table, event: SignalEvent, sub: subscriptions.Subscription, code: str, reason: str, now: datetime
) -> list[Outcome]:
    return [
        _reject(table, event, sub, setup, i, code, reason, now) for i, setup in enumerate(event.parse.opens)
    ]


def _reject(
    table: Table,
    event: SignalEvent,
    sub: subscriptions.Subscription,
    setup: OpenSetup,
    index: int,
    code: str,
    reason: str,
    now: datetime,
    warnings: list[str] | None = None,
) -> Outcome:
    item = fanout_plan.rejection_item(
        user_id=sub.user_id,
        account_id=sub.account_id,
        subscription_id=sub.subscription_id,
        event=event,
        setup=setup,
        setup_index=index,
        reason_code=code,
        reason=reason,
        now=now,
        warnings=warnings or [],
    )
    table.put(item)
    return Outcome(sub.subscription_id, sub.user_id, sub.account_id, "rejected", reason=reason)
