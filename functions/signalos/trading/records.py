"""Order/trade records in TradingTable and the order state machine (pure: no AWS here).

One item per order leg: a signal with three TPs becomes three order items for each subscribed
account; a manual trade from the trades API is one item. The analytics stream aggregator reads
closed trades from the TradingTable stream (NEW_AND_OLD_IMAGES): an item is a closed trade when
`entity == "order"` and its NEW image has `state == "closed"` while the OLD image did not.

Order item (TradingTable)
-------------------------
    pk                USER#<user_id>                    owner of the trading account
    sk                ORDER#<order_id>
    gsi1pk, gsi1sk    SIGNAL#<signal_id>, ORDER#<account_id>#<order_id>   (orders opened from a
                      signal, across subscribers: management commands find their targets here;
                      absent for manual trades)
    gsi2pk, gsi2sk    ORDERS#<user_id>, <created_at>#<order_id>           (history by time)
    entity            "order"
    order_id          deterministic (see fanout.order_id_for); the OpenOrder's id
    command_id        the OpenOrder's command_id (= order_id): the queue dedup id
    user_id, account_id
    subscription_id   str | None (None for manual trades)
    provider_id       str | None
    signal_id         str | None
    revision          int, the signal revision the order was planned from
    group_id          the legs of one signal on one account share it
    leg               1-based
    origin            "signal" | "manual"
    symbol            canonical (XAUUSD); broker_symbol: the subscription's mapping or null
    side              "buy" | "sell";  order_type: "market" | "limit" | "stop"
    volume            requested lots;  price: planned/limit price;  stop_loss, take_profit
    state             see OrderState below;  state_reason: why (rejections, expiries), else null
    order_expires_at  ISO time the bridge drops the command after (NOT `expires_at`, which is
                      the table's TTL attribute and would delete the item)
    -- stage timestamps (ISO 8601 UTC, ms, "Z"); null until the stage happens --
    signal_time       provider posted it (Telegram `date`), null for manual trades
    received_at       the webhook/API received it
    parsed_at         the parser finished
    created_at        the order item was written (state pending)
    enqueued_at       the command was put on the account's queue (state sent)
    executed_at       the broker answered (filled / placed / rejected / expired)
    opened_at         the position opened (= executed_at of the fill)
    closed_at         the position closed (state closed)
    updated_at
    -- execution (from the bridge's ExecutionReports) --
    ticket, retcode
    entry_price       fill price
    filled_volume     lots filled
    closed_volume     lots closed so far (partial closes add up)
    close_price       volume-weighted average close price over the closing deals
    profit, commission, swap   sums over the order's deals (each report carries its own deal's
                      figures: a partial close carries the profit of the closed part only)
    net_profit        profit + commission + swap
    pips              (close_price - entry_price) in pips, signed for the side; null when unknown
    close_reason      "tp" | "sl" | "manual" | "command" | "breakeven" | "stop_out" | "unknown"
    last_command_error {command_id, status, reason, at} of a refused management command
    transitions       [{"state", "at", "report_id"}] every state change, in order
    version           optimistic-concurrency counter (every report write checks and bumps it)

Other TradingTable items written by trading (all under the owner's partition):
    USER#<uid> / REPORT#<account_id>#<report_id>   applied-report marker (dedup, TTL 90 days)
    USER#<uid> / DAILY#<account_id>#<yyyy-mm-dd>   daily counters (see counters.py)
    USER#<uid> / RATE#<account_id>#<yyyy-mm-ddTHH:MM>  orders this minute (admin cap; TTL 1 hour)
    USER#<uid> / REJECTION#<rejection_id>          a setup that did not trade: entity "rejection",
        reason_code, reason, warnings, signal_id, revision, setup_index, subscription_id,
        account_id, provider_id, symbol, side, origin, signal_time, created_at; gsi2pk
        REJECTIONS#<uid>, gsi2sk <created_at>#<id>; TTL 90 days. The id is derived from
        (signal, revision, subscription, setup), so a retried fan-out rewrites the same item.
    USER#<uid> / SUBSCRIPTION#<subscription_id>    subscriptions (see subscriptions.py)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, get_args

from signalos.common.clock import iso
from signalos.contracts.execution import ExecutionReport

ENTITY_ORDER = "order"

OrderState = Literal[
    "pending",  # item written, command not yet on the queue
    "sent",  # command on the account's queue
    "placed",  # pending (limit/stop) order accepted by the broker
    "filled",  # position open
    "partially_closed",  # part of the position closed, the rest still open
    "closed",  # position closed (terminal; a trade for analytics)
    "rejected",  # refused by risk, bridge or broker (terminal)
    "expired",  # arrived after its expiry, or a pending order expired (terminal)
    "cancelled",  # pending order removed (terminal)
    "failed",  # the bridge gave up for a transient reason (terminal)
]
ORDER_STATES: frozenset[str] = frozenset(get_args(OrderState))
TERMINAL_STATES: frozenset[str] = frozenset({"closed", "rejected", "expired", "cancelled", "failed"})
# States in which a position or a broker-side pending order may exist (management targets these).
LIVE_STATES: frozenset[str] = frozenset({"pending", "sent", "placed", "filled", "partially_closed"})
OPEN_POSITION_STATES: frozenset[str] = frozenset({"filled", "partially_closed"})

# Legal moves. Skipping forward is allowed when a report says a later stage happened (a market
# order can be filled and stopped out before the "sent" mark or the "filled" report is applied:
# refusing the close would lose the trade). Moving backwards or out of a terminal state is not.
_ENDINGS = {"rejected", "expired", "cancelled", "failed"}
_BEFORE_FILL = {"placed", "filled", "partially_closed", "closed", *_ENDINGS}
TRANSITIONS: Mapping[str, frozenset[str]] = {
    "pending": frozenset({"sent"} | _BEFORE_FILL),
    "sent": frozenset(_BEFORE_FILL),
    "placed": frozenset({"filled", "partially_closed", "closed", *_ENDINGS}),
    "filled": frozenset({"partially_closed", "closed"}),
    "partially_closed": frozenset({"partially_closed", "closed"}),
    **{s: frozenset() for s in TERMINAL_STATES},
}
# A "modified" report (SL/TP changed) does not move the state; it is legal in these states.
MODIFIABLE_STATES: frozenset[str] = frozenset({"sent", "placed", "filled", "partially_closed"})

# Report statuses that only a management command can produce, and those only an open can.
_OPEN_ONLY = {"placed", "filled"}


class IllegalTransition(ValueError):
    """A state change the state machine refuses (the record is left as it was)."""


def can_transition(current: str, new: str) -> bool:
    return new in TRANSITIONS.get(current, frozenset())


def check_transition(current: str, new: str) -> None:
    if not can_transition(current, new):
        raise IllegalTransition(f"order in state {current!r} cannot become {new!r}")


@dataclass(frozen=True)
class OrderChange:
    """What one execution report does to one order item: attributes to set, counters to add."""

    set_values: dict[str, Any]
    new_state: str
    # Realised figures this report adds to the account's daily counters (closes only).
    realised_net: float = 0.0
    note: str | None = None
    transition: dict[str, Any] | None = field(default=None)


def _num(item: Mapping[str, Any], key: str) -> float:
    value = item.get(key)
    return float(value) if value is not None else 0.0


def pips_between(side: str, entry: float | None, close: float | None, pip_size: float | None) -> float | None:
    """Signed pips of a closed trade: positive when the price moved the trade's way."""
    if entry is None or close is None or not pip_size:
        return None
    direction = 1.0 if side == "buy" else -1.0
    return round((close - entry) * direction / pip_size, 1)


def transition_entry(state: str, at: str, report_id: str | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"state": state, "at": at}
    if report_id:
        entry["report_id"] = report_id
    return entry


def plan_report(
    order: Mapping[str, Any], report: ExecutionReport, *, now: datetime, pip_size: float | None = None
) -> OrderChange:
    """The change an execution report makes to an order item, or IllegalTransition.

    Pure: the caller writes `set_values` (conditionally on the item's version) together with
    the report's dedup marker in one transaction.
    """
    state = str(order["state"])
    executed = iso(report.executed_at)
    stamp = iso(now)
    is_open_command = report.command_id == order.get("command_id", order.get("order_id"))
    base: dict[str, Any] = {"updated_at": stamp, "last_report_id": report.report_id}

    if not is_open_command:
        # A management command's outcome: it acts on an existing position/pending order.
        if report.status in _OPEN_ONLY:
            raise IllegalTransition(f"a management command cannot report {report.status!r}")
        if report.status in {"rejected", "failed", "expired"}:
            # The command was refused; the order itself is unchanged, but the user sees why.
            base["last_command_error"] = {
                "command_id": report.command_id,
                "status": report.status,
                "reason": report.reason or report.status,
                "retcode": report.retcode,
                "at": executed,
            }
            return OrderChange(set_values=base, new_state=state, note="command refused")

    if report.status == "modified":
        if state not in MODIFIABLE_STATES:
            raise IllegalTransition(f"order in state {state!r} cannot be modified")
        if report.stop_loss is not None:
            base["stop_loss"] = report.stop_loss
        if report.take_profit is not None:
            base["take_profit"] = report.take_profit
        return OrderChange(set_values=base, new_state=state, note="modified")

    new_state = report.status
    if new_state == "failed" and state in OPEN_POSITION_STATES:
        raise IllegalTransition("an open position cannot fail; report a close instead")
    check_transition(state, new_state)
    values = dict(base)
    values["state"] = new_state
    if report.retcode is not None:
        values["retcode"] = report.retcode
    if report.ticket is not None:
        values["ticket"] = report.ticket
    if report.broker_symbol:
        values["broker_symbol_used"] = report.broker_symbol
    if report.stop_loss is not None:
        values["stop_loss"] = report.stop_loss
    if report.take_profit is not None:
        values["take_profit"] = report.take_profit

    realised = 0.0
    if new_state in {"placed", "filled", "rejected", "expired", "cancelled", "failed"}:
        values["executed_at"] = order.get("executed_at") or executed
        if new_state in {"rejected", "expired", "cancelled", "failed"}:
            values["state_reason"] = report.reason or new_state
    if new_state == "filled":
        values["executed_at"] = executed
        values["opened_at"] = executed
        if report.price is not None:
            values["entry_price"] = report.price
        if report.volume is not None:
            values["filled_volume"] = report.volume
    if new_state in {"partially_closed", "closed"}:
        values.update(_closing_values(order, report, pip_size))
        realised = (report.profit or 0.0) + (report.commission or 0.0) + (report.swap or 0.0)
        if state not in OPEN_POSITION_STATES:
            # Fill never reported (skipped forward): keep what we know.
            values.setdefault("opened_at", order.get("opened_at") or executed)
            values.setdefault("executed_at", order.get("executed_at") or executed)
        if new_state == "closed":
            values["closed_at"] = executed
            values["close_reason"] = report.close_reason or "unknown"
    values["transitions"] = [
        *list(order.get("transitions") or []),
        transition_entry(new_state, executed, report.report_id),
    ]
    return OrderChange(set_values=values, new_state=new_state, realised_net=realised)


def _closing_values(
    order: Mapping[str, Any], report: ExecutionReport, pip_size: float | None
) -> dict[str, Any]:
    """Accumulate a (partial) close: volumes, weighted close price, money, pips."""
    out: dict[str, Any] = {}
    prev_closed = _num(order, "closed_volume")
    filled = order.get("filled_volume") or order.get("volume")
    this_volume = report.volume
    if this_volume is None:
        # A final close without a volume closes whatever was left.
        this_volume = max(float(filled or 0.0) - prev_closed, 0.0)
    closed_total = round(prev_closed + this_volume, 8)
    out["closed_volume"] = closed_total
    if report.price is not None:
        prev_price = order.get("close_price")
        if prev_price is not None and prev_closed > 0 and closed_total > 0:
            out["close_price"] = (float(prev_price) * prev_closed + report.price * this_volume) / closed_total
        else:
            out["close_price"] = report.price
    profit = _num(order, "profit") + (report.profit or 0.0)
    commission = _num(order, "commission") + (report.commission or 0.0)
    swap = _num(order, "swap") + (report.swap or 0.0)
    out["profit"] = round(profit, 2)
    out["commission"] = round(commission, 2)
    out["swap"] = round(swap, 2)
    out["net_profit"] = round(profit + commission + swap, 2)
    entry = order.get("entry_price")
    close_price = out.get("close_price", order.get("close_price"))
    pips = pips_between(str(order["side"]), entry, close_price, pip_size)
    if pips is not None:
        out["pips"] = pips
    return out


def stage_latencies_ms(item: Mapping[str, Any]) -> dict[str, float]:
    """Milliseconds between consecutive stages that both happened (for latency reports)."""
    from signalos.common.clock import parse_iso

    stages = [
        ("signal_time", "received_at"),
        ("received_at", "parsed_at"),
        ("parsed_at", "enqueued_at"),
        ("enqueued_at", "executed_at"),
        ("received_at", "enqueued_at"),
        ("signal_time", "executed_at"),
    ]
    out: dict[str, float] = {}
    for start, end in stages:
        a, b = item.get(start), item.get(end)
        if a and b:
            out[f"{start}->{end}"] = round((parse_iso(b) - parse_iso(a)).total_seconds() * 1000, 1)
    return out


def public_order(item: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of an order item a user may see (no keys, no internals)."""
    keys = (
        "order_id",
        "account_id",
        "subscription_id",
        "provider_id",
        "signal_id",
        "revision",
        "group_id",
        "leg",
        "origin",
        "symbol",
        "broker_symbol",
        "side",
        "order_type",
        "volume",
        "price",
        "stop_loss",
        "take_profit",
        "state",
        "state_reason",
        "order_expires_at",
        "signal_time",
        "received_at",
        "parsed_at",
        "created_at",
        "enqueued_at",
        "executed_at",
        "opened_at",
        "closed_at",
        "updated_at",
        "ticket",
        "entry_price",
        "filled_volume",
        "closed_volume",
        "close_price",
        "profit",
        "commission",
        "swap",
        "net_profit",
        "pips",
        "close_reason",
        "last_command_error",
    )
    return {k: item.get(k) for k in keys}
