"""What became of each provider's signals: counted from the trading stream, exactly once.

Pure: which stat events an item's new image carries. The aggregator ADDs each new event's
counters to the same `DAY#<dim>#<day>` and `TOTAL#<dim>` records as the trade figures (dims
`ALL` and `P#<provider_id>`), in the same transaction as the marker that says the event was
counted (`MARK#ORDER#<order_id>` for order events, `MARK#SIGNAL#<signal_id>` for signal ones).

Counters:
    signals_planned     distinct signals that reached this user's accounts (first order or
                        refused setup of a signal_id)
    signals_traded      distinct signals with at least one filled leg
    orders_filled       legs that opened (also when the fill report was skipped: sent -> closed)
    orders_<state>      legs that ended closed / rejected / expired / cancelled / failed
    rejected_setups     setups the risk engine refused for a subscription (REJECTION# items)
    reason#<CODE>       why: the reason code of each rejected/expired/failed/cancelled leg or
                        refused setup

A day is the UTC day of the event (opened_at for fills, closed_at for closes, executed_at for
the other ends, created_at for planning and refusals).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from signalos.analytics.aggregates import ALL, provider_dim
from signalos.common.clock import parse_iso

COUNTED_STATES = ("filled", "closed", "rejected", "expired", "cancelled", "failed")
REASONED_STATES = frozenset({"rejected", "expired", "failed", "cancelled"})
REASON_PREFIX = "reason#"
STAT_PREFIXES = ("signals_", "orders_", "rejected_", REASON_PREFIX)
_CODE = re.compile(r"^\s*([A-Z][A-Z0-9_]{2,47})\b")
_SLUG = re.compile(r"[^A-Za-z]+")


def reason_code(reason: str | None, fallback: str) -> str:
    """A short, bounded code for a free-text reason: a leading UPPER_CODE when there is one,
    else the words before the first colon or digit ("price moved 30 pips" -> PRICE_MOVED)."""
    if not reason:
        return fallback.upper()
    match = _CODE.match(reason)
    if match:
        return match.group(1)
    head = re.split(r"[:\d]", reason, maxsplit=1)[0]
    slug = _SLUG.sub("_", head).strip("_").upper()[:40].rstrip("_")
    return slug or fallback.upper()


@dataclass(frozen=True)
class StatEvent:
    """One countable event of an order (`scope="order"`) or a signal (`scope="signal"`)."""

    scope: Literal["order", "signal"]
    scope_id: str
    name: str  # unique within its scope: the marker remembers it
    provider_id: str | None
    day: str  # yyyy-mm-dd
    counters: dict[str, int] = field(default_factory=dict)

    def dims(self) -> list[str]:
        return [ALL, provider_dim(self.provider_id)] if self.provider_id else [ALL]


def _day(item: Mapping[str, Any], *keys: str) -> str | None:
    for key in keys:
        value = item.get(key)
        if value:
            try:
                return parse_iso(str(value)).strftime("%Y-%m-%d")
            except ValueError:
                continue
    return None


def events_for_item(new: Mapping[str, Any] | None) -> list[StatEvent]:
    """The countable events an item's new image carries (each counted once via its marker)."""
    if not new:
        return []
    if new.get("entity") == "order":
        return _order_events(new)
    if new.get("entity") == "rejection":
        return _rejection_events(new)
    return []


def _order_events(item: Mapping[str, Any]) -> list[StatEvent]:
    order_id, state = item.get("order_id"), item.get("state")
    if not order_id:
        return []
    order_id = str(order_id)
    provider = item.get("provider_id")
    signal_id = item.get("signal_id")
    events: list[StatEvent] = []
    created_day = _day(item, "created_at", "updated_at")
    if signal_id and created_day:
        events.append(StatEvent("signal", str(signal_id), "planned", provider, created_day,
                                {"signals_planned": 1}))
    opened = state in {"filled", "partially_closed", "closed"} or bool(item.get("opened_at"))
    if opened:
        day = _day(item, "opened_at", "executed_at", "updated_at")
        if day:
            events.append(StatEvent("order", order_id, "filled", provider, day, {"orders_filled": 1}))
            if signal_id:
                events.append(StatEvent("signal", str(signal_id), "traded", provider, day,
                                        {"signals_traded": 1}))
    if state in COUNTED_STATES and state != "filled":
        day = _day(item, "closed_at" if state == "closed" else "executed_at", "updated_at", "created_at")
        if day:
            counters = {f"orders_{state}": 1}
            if state in REASONED_STATES:
                counters[REASON_PREFIX + reason_code(item.get("state_reason"), str(state))] = 1
            events.append(StatEvent("order", order_id, str(state), provider, day, counters))
    return events


def _rejection_events(item: Mapping[str, Any]) -> list[StatEvent]:
    """A refused setup (TradingTable `entity = "rejection"`, see trading.fanout_plan)."""
    rejection_id = item.get("rejection_id") or str(item.get("sk", "")).removeprefix("REJECTION#")
    day = _day(item, "created_at")
    if not rejection_id or not day:
        return []
    provider = item.get("provider_id")
    reason = item.get("reason_code") or item.get("reason")
    counters = {"rejected_setups": 1, REASON_PREFIX + reason_code(reason, "rejected"): 1}
    signal_id = item.get("signal_id")
    if not signal_id:  # a manual trade refused: counted once by its own id
        return [StatEvent("order", str(rejection_id), "refused", provider, day, counters)]
    return [
        StatEvent("signal", str(signal_id), "planned", provider, day, {"signals_planned": 1}),
        StatEvent("signal", str(signal_id), f"refused#{rejection_id}", provider, day, counters),
    ]


def summarize(items: list[Mapping[str, Any]]) -> dict[str, Any]:
    """Sum SIGDAY records into the `signals` block of the provider analytics."""
    totals: dict[str, int] = {}
    for item in items:
        for key, value in item.items():
            if key.startswith(STAT_PREFIXES) and isinstance(value, int | float):
                totals[key] = totals.get(key, 0) + int(value)
    reasons = {k[len(REASON_PREFIX):]: v for k, v in totals.items() if k.startswith(REASON_PREFIX) and v}
    planned = totals.get("signals_planned", 0)
    traded = totals.get("signals_traded", 0)
    return {
        "signals_planned": planned,
        "signals_traded": traded,
        "signals_not_traded": max(0, planned - traded),
        "rejected_setups": totals.get("rejected_setups", 0),
        "orders": {state: totals.get(f"orders_{state}", 0) for state in COUNTED_STATES},
        "rejection_reasons": dict(sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))),
    }
