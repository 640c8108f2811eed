"""The pure half of fan-out: ids, order items, commands and rejections (no AWS here).

Ids are derived, not random, so a retried fan-out (a redelivered worker message, a webhook
retried after a timeout) produces the same order ids and command ids: the conditional put of
the order item and the queue's deduplication id then stop it from trading twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from signalos.common.clock import epoch_seconds, iso, parse_iso
from signalos.contracts.orders import ManageCommand, OpenOrder, TradeManagement
from signalos.contracts.parse_result import OpenSetup
from signalos.contracts.signal_event import SignalEvent
from signalos.trading.records import ENTITY_ORDER, transition_entry
from signalos.trading.risk import ManagePlan, OpenLegState, RiskDecision

REJECTION_TTL = timedelta(days=90)
MANAGE_EXPIRY = timedelta(minutes=15)

_LEG_STATE = {
    "pending": "queued",
    "sent": "queued",
    "placed": "placed",
    "filled": "open",
    "partially_closed": "open",
}


def _digest(*parts: object, length: int = 24) -> str:
    raw = "|".join(str(p) for p in parts).encode()
    return hashlib.sha256(raw).hexdigest()[:length]


def order_id_for(signal_id: str, revision: int, subscription_id: str, setup_index: int, leg: int) -> str:
    return "ord_" + _digest("open", signal_id, revision, subscription_id, setup_index, leg)


def group_id_for(signal_id: str, revision: int, subscription_id: str, setup_index: int) -> str:
    return "grp_" + _digest("group", signal_id, revision, subscription_id, setup_index, length=20)


def manage_command_id(*parts: object) -> str:
    return "cmd_" + _digest("manage", *parts)


@dataclass(frozen=True)
class OrderContext:
    """Who an order is for and where it came from (the parts of an item not in the command)."""

    user_id: str
    account_id: str
    subscription_id: str | None
    provider_id: str | None
    signal_id: str | None
    revision: int
    setup_index: int
    origin: str  # "signal" | "manual"
    signal_time: datetime | None
    received_at: datetime | None
    parsed_at: datetime | None


def open_orders_from_decision(
    decision: RiskDecision, ctx: OrderContext, *, now: datetime, order_ids: Sequence[str], group_id: str
) -> list[OpenOrder]:
    """One OpenOrder per planned leg (decision must be accepted)."""
    expires_at = decision.expires_at or now + timedelta(minutes=2)
    return [
        OpenOrder(
            command_id=order_id,
            order_id=order_id,
            account_id=ctx.account_id,
            user_id=ctx.user_id,
            created_at=now,
            expires_at=expires_at,
            signal_id=ctx.signal_id,
            group_id=group_id,
            leg=leg.leg,
            symbol=decision.symbol,
            broker_symbol=decision.broker_symbol,
            symbol_suffix=decision.symbol_suffix,
            side=decision.side,
            order_type=leg.order_type,
            volume=leg.volume,
            price=leg.price,
            stop_loss=leg.stop_loss,
            take_profit=leg.take_profit,
            max_spread_points=decision.max_spread_points,
            max_price_distance=decision.max_price_distance if leg.order_type == "market" else None,
            management=decision.management,
        )
        for leg, order_id in zip(decision.legs, order_ids, strict=True)
    ]


def order_item(order: OpenOrder, ctx: OrderContext) -> dict[str, Any]:
    """The TradingTable item (state pending) for an OpenOrder; shape in signalos.trading.records."""
    created = iso(order.created_at)
    item: dict[str, Any] = {
        "pk": f"USER#{ctx.user_id}",
        "sk": f"ORDER#{order.order_id}",
        "gsi2pk": f"ORDERS#{ctx.user_id}",
        "gsi2sk": f"{created}#{order.order_id}",
        "entity": ENTITY_ORDER,
        "order_id": order.order_id,
        "command_id": order.command_id,
        "user_id": ctx.user_id,
        "account_id": ctx.account_id,
        "subscription_id": ctx.subscription_id,
        "provider_id": ctx.provider_id,
        "signal_id": ctx.signal_id,
        "revision": ctx.revision,
        "setup_index": ctx.setup_index,
        "group_id": order.group_id,
        "leg": order.leg,
        "origin": ctx.origin,
        "symbol": order.symbol,
        "broker_symbol": order.broker_symbol,
        "symbol_suffix": order.symbol_suffix,
        "side": order.side,
        "order_type": order.order_type,
        "volume": order.volume,
        "price": order.price,
        "stop_loss": order.stop_loss,
        "take_profit": order.take_profit,
        "max_spread_points": order.max_spread_points,
        "max_price_distance": order.max_price_distance,
        "deviation_points": order.deviation_points,
        "management": order.management.model_dump(mode="json"),
        "state": "pending",
        "order_expires_at": iso(order.expires_at),
        "signal_time": iso(ctx.signal_time) if ctx.signal_time else None,
        "received_at": iso(ctx.received_at) if ctx.received_at else None,
        "parsed_at": iso(ctx.parsed_at) if ctx.parsed_at else None,
        "created_at": created,
        "updated_at": created,
        "version": 0,
        "transitions": [transition_entry("pending", created)],
    }
    if ctx.signal_id:
        item["gsi1pk"] = f"SIGNAL#{ctx.signal_id}"
        item["gsi1sk"] = f"ORDER#{ctx.account_id}#{order.order_id}"
    return item


def open_order_from_item(item: Mapping[str, Any]) -> OpenOrder:
    """Rebuild the queue command from a stored order (a resend sends exactly what was planned)."""
    return OpenOrder(
        command_id=item["command_id"],
        order_id=item["order_id"],
        account_id=item["account_id"],
        user_id=item["user_id"],
        created_at=parse_iso(item["created_at"]),
        expires_at=parse_iso(item["order_expires_at"]),
        signal_id=item.get("signal_id"),
        group_id=item["group_id"],
        leg=int(item.get("leg", 1)),
        symbol=item["symbol"],
        broker_symbol=item.get("broker_symbol"),
        symbol_suffix=item.get("symbol_suffix") or "",
        side=item["side"],
        order_type=item["order_type"],
        volume=float(item["volume"]),
        price=item.get("price"),
        stop_loss=item.get("stop_loss"),
        take_profit=item.get("take_profit"),
        max_spread_points=item.get("max_spread_points"),
        max_price_distance=item.get("max_price_distance"),
        deviation_points=int(item.get("deviation_points", 20)),
        management=TradeManagement.model_validate(item.get("management") or {}),
    )


def rejection_item(
    *,
    user_id: str,
    account_id: str | None,
    subscription_id: str | None,
    event: SignalEvent | None,
    setup: OpenSetup | None,
    setup_index: int,
    reason_code: str,
    reason: str,
    now: datetime,
    warnings: Iterable[str] = (),
    origin: str = "signal",
    rejection_id: str | None = None,
) -> dict[str, Any]:
    """A setup that did not trade for one subscription, with the reason the user is shown."""
    signal_id = event.signal_id if event else None
    revision = event.revision if event else 0
    rid = rejection_id or "rej_" + _digest("rejection", signal_id, revision, subscription_id, setup_index)
    created = iso(now)
    return {
        "pk": f"USER#{user_id}",
        "sk": f"REJECTION#{rid}",
        "gsi2pk": f"REJECTIONS#{user_id}",
        "gsi2sk": f"{created}#{rid}",
        "entity": "rejection",
        "rejection_id": rid,
        "user_id": user_id,
        "account_id": account_id,
        "subscription_id": subscription_id,
        "provider_id": event.provider_id if event else None,
        "signal_id": signal_id,
        "revision": revision,
        "setup_index": setup_index,
        "origin": origin,
        "symbol": setup.symbol if setup else None,
        "side": setup.side if setup else None,
        "reason_code": reason_code,
        "reason": reason,
        "warnings": list(warnings),
        "signal_time": iso(event.signal_time) if event else None,
        "created_at": created,
        "expires_at": epoch_seconds(now + REJECTION_TTL),
    }


def leg_state(item: Mapping[str, Any]) -> OpenLegState:
    """An order item as the risk engine's management planner sees it."""
    return OpenLegState(
        order_id=item["order_id"],
        leg=int(item.get("leg", 1)),
        state=_LEG_STATE.get(str(item.get("state")), "closed"),  # type: ignore[arg-type]
        order_type=item.get("order_type", "market"),
        symbol=item.get("symbol"),
        side=item.get("side"),
        volume=item.get("volume"),
        entry_price=item.get("entry_price"),
        stop_loss=item.get("stop_loss"),
        take_profit=item.get("take_profit"),
    )


def manage_commands(
    plans: Sequence[ManagePlan],
    *,
    account_id: str,
    user_id: str,
    signal_id: str | None,
    symbol: str | None,
    now: datetime,
    id_parts: Sequence[object],
    expiry: timedelta = MANAGE_EXPIRY,
) -> list[ManageCommand]:
    return [
        plan.to_command(
            command_id=manage_command_id(*id_parts, account_id, i, plan.action),
            account_id=account_id,
            user_id=user_id,
            created_at=now,
            expires_at=now + expiry,
            signal_id=signal_id,
            symbol=symbol,
        )
        for i, plan in enumerate(plans)
    ]


def take_profit_for_leg(setup: OpenSetup, leg: int) -> float | None:
    """The TP an edited signal gives leg `leg` (1-based TP index); the last TP when it has fewer."""
    if not setup.take_profits:
        return None
    return setup.take_profits[min(leg, len(setup.take_profits)) - 1]


@dataclass(frozen=True)
class EditPlan:
    """What an edited signal changes on one account's existing legs of one setup."""

    modify: list[ManagePlan]  # legs already on the queue or at the broker
    replan: list[tuple[str, dict[str, Any]]]  # (order_id, new values) for legs still pending
    conflict: str | None = None  # the edit changed symbol or side: nothing is changed


def plan_edit(setup: OpenSetup, legs: Sequence[Mapping[str, Any]]) -> EditPlan:
    """An edit that completes an earlier signal ("XAUUSD SELL NOW", then SL and TPs) updates the
    legs it opened: new SL/TP by ManageCommand where the command already left, in place where
    it has not. It never opens more trades. A changed symbol or side is a conflict."""
    live = [leg for leg in legs if leg.get("state") in _LEG_STATE]
    if not live:
        return EditPlan([], [])
    first = live[0]
    if str(first.get("symbol")) != setup.symbol.upper() or first.get("side") != setup.side:
        return EditPlan(
            [],
            [],
            conflict=(
                f"EDIT_CONFLICT: the edit changes {first.get('symbol')} {first.get('side')} to "
                f"{setup.symbol} {setup.side}; the orders already placed were left unchanged"
            ),
        )
    modify: list[ManagePlan] = []
    replan: list[tuple[str, dict[str, Any]]] = []
    for leg in sorted(live, key=lambda x: (int(x.get("leg", 1)), str(x["order_id"]))):
        new_sl = setup.stop_loss if setup.stop_loss is not None else leg.get("stop_loss")
        new_tp = take_profit_for_leg(setup, int(leg.get("leg", 1)))
        if new_tp is None:
            new_tp = leg.get("take_profit")
        changes: dict[str, Any] = {}
        if new_sl is not None and new_sl != leg.get("stop_loss"):
            changes["stop_loss"] = new_sl
        if new_tp is not None and new_tp != leg.get("take_profit"):
            changes["take_profit"] = new_tp
        if not changes:
            continue
        if leg.get("state") == "pending":
            replan.append((str(leg["order_id"]), changes))
        else:
            modify.append(
                ManagePlan(
                    action="modify",
                    target_order_ids=[str(leg["order_id"])],
                    stop_loss=changes.get("stop_loss"),
                    take_profit=changes.get("take_profit"),
                )
            )
    return EditPlan(modify, replan)
