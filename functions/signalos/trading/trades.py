"""Trades API logic: manual trades through the same risk engine and queue as signals, management
commands on the caller's own orders, and the reads (status, history, account, symbol spec).

Everything is scoped to the caller: orders are read under `USER#<caller>`, accounts through the
accounts repository with the caller's id, and a command's queue is the account record's own.
Another user's order or account is a 404, never a 403.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from signalos.common.clock import iso, parse_iso, utc_now
from signalos.common.errors import (
    ApiError,
    BadRequest,
    Conflict,
    NotFound,
    ServiceUnavailable,
    TooManyRequests,
)
from signalos.common.ids import new_id
from signalos.common.pagination import decode_cursor, encode_cursor
from signalos.contracts.parse_result import OpenSetup, SignalUpdate
from signalos.trading import counters, enqueue, fanout_plan, orders, policy
from signalos.trading.fanout import effective_rules
from signalos.trading.models import OrderOut, TradeOpenIn
from signalos.trading.records import LIVE_STATES, public_order, stage_latencies_ms
from signalos.trading.risk import SubscriptionRules, plan_management, plan_orders

BULK_WINDOW = timedelta(days=30)


def _accounts() -> Any:
    from signalos.bridge_api import accounts

    return accounts


def order_out(item: Mapping[str, Any]) -> OrderOut:
    return OrderOut(**public_order(item), latency_ms=stage_latencies_ms(item))


def canonical_symbol(symbol: str) -> str:
    from signalos.instruments import lookup_instrument

    inst = lookup_instrument(symbol)
    return inst.symbol if inst is not None else symbol.strip().upper()


def usable_account(user_id: str, account_id: str) -> Any:
    account = _accounts().get_account(user_id, account_id)
    if account is None:
        raise NotFound("No such trading account", code="ACCOUNT_NOT_FOUND")
    if getattr(account, "status", "active") != "active":
        raise Conflict("This trading account is disabled", code="ACCOUNT_DISABLED")
    return account


def resolve_account_id(user_id: str, account_id: str | None) -> str:
    """The account named, or the caller's only account when none is named."""
    if account_id:
        return account_id
    accounts = _accounts().list_accounts(user_id)
    if len(accounts) == 1:
        return str(accounts[0].account_id)
    raise BadRequest(
        "Name the account: ?account_id=...", code="ACCOUNT_REQUIRED", details={"accounts": len(accounts)}
    )


# --- manual open ------------------------------------------------------------------------------


def manual_rules(body: TradeOpenIn, account: Any) -> SubscriptionRules:
    """The risk rules of a manual trade: the volume asked for, today's caps, no signal-age guard."""
    rules = SubscriptionRules(
        sizing_mode="fixed_lot",
        fixed_lot=body.volume,
        signal_max_age_seconds=None,
        min_confidence=0.0,
        tp_split="equal" if body.split_volume else "first_only",
        require_stop_loss=False,
    )
    return effective_rules(rules, account)


def open_trade(
    user_id: str, body: TradeOpenIn, *, now: datetime | None = None
) -> tuple[list[dict], list[str]]:
    """Plan, write and enqueue a manual trade; returns (order items, warnings).

    A refused trade is stored as a rejection and answered 422 RISK_REJECTED with the reason.
    The same `client_order_id` twice returns the first trade's orders (nothing opens twice).
    """
    now = now or utc_now()
    account = usable_account(user_id, body.account_id)
    queue_url = enqueue.account_queue_url(account, user_id, body.account_id)
    settings = policy.global_settings()
    paused = policy.maintenance_refusal(settings)
    if paused is not None:
        raise ServiceUnavailable(paused[1], code="MAINTENANCE")
    rules = policy.capped_rules(manual_rules(body, account), settings)
    symbol = canonical_symbol(body.symbol)
    setup = OpenSetup(
        symbol=symbol,
        side=body.side,
        order_type=body.order_type,
        entry=body.price,
        stop_loss=body.sl,
        take_profits=list(body.tp),
    )
    key = f"manual:{user_id}:{body.client_order_id}" if body.client_order_id else None
    accounts = _accounts()
    table = orders.trading_table()
    if key:
        existing = [
            o for o in table.query_all(f"SIGNAL#{key}", index="gsi1", sk_prefix=f"ORDER#{body.account_id}#")
        ]
        if existing:
            return existing, ["client_order_id seen before: these are the orders it opened"]
    hb = accounts.latest_heartbeat(user_id, body.account_id)
    from signalos.trading.risk import AccountState

    state = AccountState.from_heartbeat(hb) if hb is not None else AccountState(balance=0.0)
    raw = counters.read_counters(table, user_id, body.account_id, now)
    decision = plan_orders(
        setup,
        rules,
        state,
        accounts.symbol_spec(user_id, body.account_id, symbol),
        None,
        counters.to_daily_counters(raw),
        now,
        now,
    )
    if not decision.accepted:
        _refuse(
            table,
            user_id,
            body,
            setup,
            decision.reason_code or "REJECTED",
            decision.reason or "The trade was refused by the risk rules",
            decision.warnings,
            now,
        )
    if abs(decision.total_volume - body.volume) > 1e-9:
        # A manual trade is placed as asked or not at all: never silently resized.
        code = "VOLUME_NOT_PLACEABLE"
        _refuse(
            table,
            user_id,
            body,
            setup,
            code,
            f"{code}: {body.volume:g} lots cannot be placed as asked (the broker's limits allow "
            f"{decision.total_volume:g})",
            decision.warnings,
            now,
        )
    ctx = fanout_plan.OrderContext(
        user_id=user_id,
        account_id=body.account_id,
        subscription_id=None,
        provider_id=None,
        signal_id=None,
        revision=0,
        setup_index=0,
        origin="manual",
        signal_time=None,
        received_at=now,
        parsed_at=now,
    )
    if key:
        ids = [fanout_plan.order_id_for(key, 0, body.account_id, 0, leg.leg) for leg in decision.legs]
        group = fanout_plan.group_id_for(key, 0, body.account_id, 0)
    else:
        ids = [new_id("ord") for _ in decision.legs]
        group = new_id("grp")
    open_orders = fanout_plan.open_orders_from_decision(decision, ctx, now=now, order_ids=ids, group_id=group)
    items = [fanout_plan.order_item(o, ctx) for o in open_orders]
    if key:
        for item in items:  # the idempotency key is looked up like a signal's orders
            item["gsi1pk"], item["gsi1sk"] = f"SIGNAL#{key}", f"ORDER#{body.account_id}#{item['order_id']}"
    written = enqueue.write_orders(
        table,
        items,
        user_id=user_id,
        account_id=body.account_id,
        now=now,
        trades=1,
        max_orders=rules.max_daily_trades,
        day_start_balance=getattr(hb, "balance", None),
        max_per_minute=settings.max_orders_per_minute_per_account,
    )
    if written == enqueue.RATE_LIMIT:
        raise TooManyRequests(
            "This account reached the orders-per-minute cap; try again in a minute",
            code="ORDER_RATE_LIMIT",
            retry_after=60,
        )
    if written != enqueue.WRITTEN:
        found = [i for i in (orders.get_order(user_id, oid, table=table) for oid in ids) if i]
        if found:
            return found, ["client_order_id seen before: these are the orders it opened"]
        raise ApiError(
            422,
            "RISK_REJECTED",
            "DAILY_TRADE_CAP: the daily order cap was reached",
            {"reason_code": "DAILY_TRADE_CAP", "warnings": []},
        )
    result = enqueue.EnqueueResult()
    enqueue.send_and_mark(table, queue_url, items, open_orders, now, result)
    fresh = [
        orders.get_order(user_id, oid, table=table) or item for oid, item in zip(ids, items, strict=True)
    ]
    return fresh, list(decision.warnings)


def _refuse(
    table: Any,
    user_id: str,
    body: TradeOpenIn,
    setup: OpenSetup,
    code: str,
    reason: str,
    warnings: list[str],
    now: datetime,
) -> None:
    """Store the refusal (the user sees it under /trades/rejections) and answer 422."""
    table.put(
        fanout_plan.rejection_item(
            user_id=user_id,
            account_id=body.account_id,
            subscription_id=None,
            event=None,
            setup=setup,
            setup_index=0,
            reason_code=code,
            reason=reason,
            now=now,
            warnings=warnings,
            origin="manual",
            rejection_id=new_id("rej"),
        )
    )
    raise ApiError(422, "RISK_REJECTED", reason, {"reason_code": code, "warnings": warnings})


# --- management commands ----------------------------------------------------------------------


def _owned_orders(user_id: str, order_ids: list[str]) -> list[dict]:
    table = orders.trading_table()
    found = []
    for oid in order_ids:
        item = orders.get_order(user_id, oid, table=table)
        if item is None:
            raise NotFound("No such order", code="ORDER_NOT_FOUND", details={"order_id": oid})
        found.append(item)
    return found


def _send_plans(
    user_id: str,
    items: list[dict],
    update: SignalUpdate | None,
    *,
    now: datetime,
    modify: tuple[float | None, float | None] | None = None,
) -> dict[str, Any]:
    """Commands for the caller's orders grouped by account; returns the CommandsOut fields."""
    by_account: dict[str, list[dict]] = defaultdict(list)
    skipped: list[dict[str, str]] = []
    for item in items:
        if item.get("state") in LIVE_STATES:
            by_account[str(item["account_id"])].append(item)
        else:
            skipped.append({"order_id": str(item["order_id"]), "reason": f"order is {item.get('state')}"})
    command_ids: list[str] = []
    acted: list[str] = []
    for account_id, legs in sorted(by_account.items()):
        account = usable_account(user_id, account_id)
        queue_url = enqueue.account_queue_url(account, user_id, account_id)
        if modify is not None:
            plans = [
                fanout_plan.ManagePlan(
                    action="modify",
                    target_order_ids=[str(legs[0]["order_id"])],
                    stop_loss=modify[0],
                    take_profit=modify[1],
                )
            ]
        else:
            assert update is not None
            plans = plan_management(update, [fanout_plan.leg_state(i) for i in legs])
        if not plans:
            skipped += [
                {"order_id": str(i["order_id"]), "reason": "nothing to do in its state"} for i in legs
            ]
            continue
        # Derived from the orders' versions: a double click sends the same command id (the queue
        # drops it); after the bridge reports, the next click is a new command.
        parts = (
            "user",
            user_id,
            *sorted(f"{i['order_id']}@{i.get('version', 0)}" for i in legs),
            update.action if update else "modify",
            update.fraction if update else modify,
        )
        commands = fanout_plan.manage_commands(
            plans,
            account_id=account_id,
            user_id=user_id,
            signal_id=legs[0].get("signal_id"),
            symbol=legs[0].get("symbol"),
            now=now,
            id_parts=parts,
        )
        try:
            command_ids += enqueue.send_manage(queue_url, commands)
        except Exception as exc:
            raise ApiError(
                503, "QUEUE_UNAVAILABLE", "The account's order queue is unavailable; try again"
            ) from exc
        for plan in plans:
            acted += plan.target_order_ids
    return {"success": bool(command_ids), "command_ids": command_ids, "order_ids": acted, "skipped": skipped}


def close_trades(user_id: str, order_ids: list[str], fraction: float | None) -> dict[str, Any]:
    items = _owned_orders(user_id, order_ids)
    if fraction is not None and fraction < 1:
        update = SignalUpdate(action="close_partial", fraction=fraction)
    else:
        update = SignalUpdate(action="close_all")
    return _send_plans(user_id, items, update, now=utc_now())


def modify_trade(
    user_id: str, order_id: str, stop_loss: float | None, take_profit: float | None
) -> dict[str, Any]:
    items = _owned_orders(user_id, [order_id])
    return _send_plans(user_id, items, None, now=utc_now(), modify=(stop_loss, take_profit))


def bulk_close(
    user_id: str, *, account_id: str | None, symbol: str | None, signal_id: str | None
) -> dict[str, Any]:
    now = utc_now()
    wanted_symbol = canonical_symbol(symbol) if symbol else None
    items = [
        i
        for i in orders.trading_table().query_all(
            f"ORDERS#{user_id}",
            index="gsi2",
            sk_between=(iso(now - BULK_WINDOW), "9999~"),
            filter_expression="#st IN (:s0, :s1, :s2, :s3, :s4)",
            names={"#st": "state"},
            values={f":s{n}": s for n, s in enumerate(sorted(LIVE_STATES))},
        )
        if (account_id is None or i.get("account_id") == account_id)
        and (wanted_symbol is None or i.get("symbol") == wanted_symbol)
        and (signal_id is None or i.get("signal_id") == signal_id)
    ]
    if not items:
        return {"success": True, "command_ids": [], "order_ids": [], "skipped": []}
    return _send_plans(user_id, items, SignalUpdate(action="close_all"), now=now)


# --- reads ------------------------------------------------------------------------------------


def get_trade(user_id: str, order_id: str) -> OrderOut:
    item = orders.get_order(user_id, order_id)
    if item is None:
        raise NotFound("No such order", code="ORDER_NOT_FOUND")
    return order_out(item)


def _iso_bound(value: str | None, name: str) -> str | None:
    if value is None:
        return None
    try:
        return iso(parse_iso(value if "T" in value else value + "T00:00:00Z"))
    except ValueError as exc:
        raise BadRequest(
            f"{name} must be an ISO date or time", code="INVALID_DATE", details={name: value}
        ) from exc


def history(
    user_id: str,
    *,
    limit: int,
    cursor: str | None,
    account_id: str | None,
    symbol: str | None,
    status: str | None,
    since: str | None,
    until: str | None,
) -> tuple[list[OrderOut], str | None]:
    lo, hi = _iso_bound(since, "from"), _iso_bound(until, "to")
    if until is not None and "T" not in until and hi is not None:
        hi = hi[:10] + "T23:59:59.999Z"  # a date alone means the whole day
    start = decode_cursor(cursor, expect={"gsi2pk": f"ORDERS#{user_id}"})
    items, next_key = orders.list_orders(
        user_id,
        limit=limit,
        cursor=start,
        since=lo,
        until=hi,
        account_id=account_id,
        symbol=canonical_symbol(symbol) if symbol else None,
        state=status,
    )
    return [order_out(i) for i in items], encode_cursor(next_key)


def rejections(user_id: str, *, limit: int, cursor: str | None) -> tuple[list[dict], str | None]:
    start = decode_cursor(cursor, expect={"gsi2pk": f"REJECTIONS#{user_id}"})
    items, next_key = orders.trading_table().query_page(
        f"REJECTIONS#{user_id}", index="gsi2", limit=limit, cursor=start, newest_first=True
    )
    return items, encode_cursor(next_key)


def account_status(user_id: str, account_id: str | None) -> dict[str, Any]:
    account_id = resolve_account_id(user_id, account_id)
    accounts = _accounts()
    account = accounts.get_account(user_id, account_id)
    if account is None:
        raise NotFound("No such trading account", code="ACCOUNT_NOT_FOUND")
    out: dict[str, Any] = {
        "account_id": account.account_id,
        "name": account.name,
        "kind": account.kind,
        "status": account.status,
        "heartbeat": False,
    }
    today = counters.read_counters(orders.trading_table(), user_id, account_id)
    out["trades_today"], out["realised_today"] = today["orders"], today["realised_net"]
    hb = accounts.latest_heartbeat(user_id, account_id)
    if hb is None:
        return out
    received = accounts.heartbeat_received_at(user_id, account_id)
    out.update(
        heartbeat=True,
        sent_at=iso(hb.sent_at),
        received_at=received,
        age_seconds=round((utc_now() - parse_iso(received)).total_seconds(), 1) if received else None,
        currency=hb.currency,
        balance=hb.balance,
        equity=hb.equity,
        margin_free=hb.margin_free,
        leverage=hb.leverage,
        terminal_connected=hb.terminal_connected,
        trade_allowed=hb.trade_allowed,
        agent_version=hb.agent_version,
        broker=hb.broker,
        positions=[p.model_dump() for p in hb.positions],
    )
    return out


def symbol_spec(user_id: str, account_id: str | None, symbol: str) -> dict[str, Any]:
    account_id = resolve_account_id(user_id, account_id)
    if _accounts().get_account(user_id, account_id) is None:
        raise NotFound("No such trading account", code="ACCOUNT_NOT_FOUND")
    spec = _accounts().symbol_spec(user_id, account_id, canonical_symbol(symbol))
    if spec is None:
        raise NotFound(
            "The bridge has not reported this symbol yet",
            code="SYMBOL_NOT_REPORTED",
            details={"symbol": canonical_symbol(symbol)},
        )
    return {"account_id": account_id, **spec.model_dump()}
