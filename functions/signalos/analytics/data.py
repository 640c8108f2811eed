"""AnalyticsTable access: applying a stream image exactly once, reading with key queries only.

Item layout: see signalos.analytics.aggregates (DAY#, TOTAL#, TRADE#, MARK#). Reports:
`REPORT#<report_id>` (see signalos.analytics.reports).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from signalos.analytics.aggregates import (
    DAY_PREFIX,
    TOTAL_PREFIX,
    ClosePlan,
    day_from_item,
    day_range,
    day_sk,
    dim_pk,
    ledger_pk,
    ledger_range,
    marker_sk,
    physical_key,
    plan_close,
    signal_marker_sk,
    total_sk,
    trade_from_order_item,
    trade_from_record,
    trade_record,
    user_pk,
)
from signalos.analytics.metrics import COUNTER_FIELDS, ClosedTrade, DailyAggregate
from signalos.analytics.signal_stats import StatEvent, events_for_item
from signalos.common.clock import iso
from signalos.common.dynamo import ConditionFailed, Item, Table

_MAX_RACE_RETRIES = 6


def analytics_table() -> Table:
    return Table.from_env("ANALYTICS_TABLE")


def add_operation(table_name: str, pk: str, sk: str, adds: Mapping[str, Any],
                  sets: Mapping[str, Any]) -> dict[str, Any]:
    """A TransactItems `Update` that ADDs counters and SETs descriptive attributes."""
    names: dict[str, str] = {}
    values: dict[str, Any] = {}
    add_parts, set_parts = [], []
    for i, (key, value) in enumerate(adds.items()):
        names[f"#a{i}"], values[f":a{i}"] = key, value
        add_parts.append(f"#a{i} :a{i}")
    for i, (key, value) in enumerate(sets.items()):
        names[f"#s{i}"], values[f":s{i}"] = key, value
        set_parts.append(f"#s{i} = :s{i}")
    expression = "ADD " + ", ".join(add_parts)
    if set_parts:
        expression += " SET " + ", ".join(set_parts)
    return {"Update": {"TableName": table_name, "Key": {"pk": pk, "sk": sk}, "UpdateExpression": expression,
                       "ExpressionAttributeNames": names, "ExpressionAttributeValues": values}}


def descriptive_attributes(sk: str) -> dict[str, Any]:
    """`dim` (and `day` for day records) stored beside the counters, so items read back alone."""
    if sk.startswith(DAY_PREFIX):
        dim, day = sk[len(DAY_PREFIX):].rsplit("#", 1)
        return {"kind": "agg_day", "dim": dim, "day": day}
    return {"kind": "agg_total", "dim": sk[len(TOTAL_PREFIX):]}


# --- applying one stream image -----------------------------------------------------------------

@dataclass(frozen=True)
class ImageOutcome:
    trade: str | None  # "applied" | "duplicate" | None (not a closed trade)
    events: int  # stat events counted now


def _marker_put(pk: str, sk: str, read: Item | None, body: dict[str, Any]) -> dict[str, Any]:
    """Replace a marker, conditional on it being as read (absent, or the same `seq`)."""
    seq = int(read.get("seq", 0)) if read else 0
    item = {**(read or {}), **body, "pk": pk, "sk": sk, "seq": seq + 1, "updated_at": iso()}
    if read is None:
        return {"Put": {"Item": item, "ConditionExpression": "attribute_not_exists(pk)"}}
    return {"Put": {"Item": item, "ConditionExpression": "seq = :seq",
                    "ExpressionAttributeValues": {":seq": seq}}}


def _add(into: dict[str, dict[str, Decimal]], sk: str, counters: Mapping[str, Any]) -> None:
    target = into.setdefault(sk, {})
    for key, value in counters.items():
        target[key] = target.get(key, Decimal(0)) + Decimal(value)


def _events_of(marker: Item | None) -> set[str]:
    return set((marker or {}).get("events") or [])


@dataclass
class _Markers:
    order_id: str | None
    order: Item | None
    signals: dict[str, Item | None]

    def seen(self, event: StatEvent) -> bool:
        marker = self.order if event.scope == "order" else self.signals.get(event.scope_id)
        return event.name in _events_of(marker)


def _plan_image(user_id: str, trade: ClosedTrade | None, version: int | None, events: list[StatEvent],
                markers: _Markers, table_name: str) -> tuple[list[dict[str, Any]], bool, list[StatEvent]]:
    """(transaction ops, trade applied?, events newly counted) for one image given the markers read."""
    pk = user_pk(user_id)
    plan: ClosePlan | None = None
    if trade is not None:
        applied = markers.order.get("trade") if markers.order else None
        previous = trade_from_record(applied) if applied else None
        previous_version = markers.order.get("version") if markers.order and previous else None
        plan = plan_close(previous, trade, previous_version=previous_version, version=version)
    new_events = [e for e in events if not markers.seen(e)]
    if plan is None and not new_events:
        return [], False, []
    counters: dict[str, dict[str, Decimal]] = {}
    ops: list[dict[str, Any]] = []
    if plan is not None:
        for sk, delta in plan.deltas.items():
            _add(counters, sk, delta)
        ledger_pk, ledger_sk = physical_key(user_id, plan.ledger_put)
        ledger = {"pk": ledger_pk, "sk": ledger_sk, "kind": "trade", **trade_record(plan.trade)}
        ops.append({"Put": {"Item": ledger}})
        if plan.ledger_delete:
            old_pk, old_sk = physical_key(user_id, plan.ledger_delete)
            ops.append({"Delete": {"Key": {"pk": old_pk, "sk": old_sk}}})
    for event in new_events:
        for dim in event.dims():
            _add(counters, day_sk(dim, date.fromisoformat(event.day)), event.counters)
            _add(counters, total_sk(dim), event.counters)
    order_events = {e.name for e in new_events if e.scope == "order"}
    if plan is not None or order_events:
        counted = sorted(_events_of(markers.order) | order_events)
        body: dict[str, Any] = {"kind": "order_marker", "events": counted}
        if plan is not None:
            body.update(trade=trade_record(plan.trade), version=plan.version, ledger_sk=plan.ledger_put)
        ops.append(_marker_put(pk, marker_sk(str(markers.order_id)), markers.order, body))
    for signal_id in sorted({e.scope_id for e in new_events if e.scope == "signal"}):
        read = markers.signals.get(signal_id)
        names = {e.name for e in new_events if e.scope == "signal" and e.scope_id == signal_id}
        body = {"kind": "signal_marker", "events": sorted(_events_of(read) | names)}
        ops.append(_marker_put(pk, signal_marker_sk(signal_id), read, body))
    now = iso()
    for logical, adds in counters.items():
        adds = {k: v for k, v in adds.items() if v != 0}
        if adds:
            record_pk, record_sk = physical_key(user_id, logical)
            ops.append(add_operation(table_name, record_pk, record_sk, adds,
                                     {**descriptive_attributes(logical), "updated_at": now}))
    return ops, plan is not None, new_events


def apply_image(image: Mapping[str, Any], *, table: Table | None = None) -> ImageOutcome:
    """Fold one TradingTable item's new image into its owner's analytics, exactly once.

    Reads the markers, plans, and writes everything in ONE transaction conditional on the
    markers as read; if another delivery got there first, the transaction fails and this one
    re-reads and re-plans (finding nothing left to do when it was the same record).
    """
    table = table or analytics_table()
    trade = trade_from_order_item(image)
    events = events_for_item(image)
    user_id = image.get("user_id") or str(image.get("pk", "")).removeprefix("USER#")
    if (trade is None and not events) or not user_id:
        return ImageOutcome(None, 0)
    pk = user_pk(str(user_id))
    raw_version = image.get("version")
    version = int(raw_version) if raw_version is not None else None
    order_id = trade.order_id if trade is not None else next(
        (e.scope_id for e in events if e.scope == "order"), None)
    signal_ids = sorted({e.scope_id for e in events if e.scope == "signal"})
    for _ in range(_MAX_RACE_RETRIES):
        markers = _Markers(order_id, table.get(pk, marker_sk(order_id)) if order_id else None,
                           {sid: table.get(pk, signal_marker_sk(sid)) for sid in signal_ids})
        ops, trade_applied, counted = _plan_image(str(user_id), trade, version, events, markers, table.name)
        if not ops:
            break
        try:
            table.transact_write(ops)
        except ConditionFailed:
            continue  # a concurrent delivery changed a marker: re-read and re-plan
        if counted:
            from signalos.analytics import platform

            platform.record(str(user_id), image, counted, table=table)
        trade_outcome = None if trade is None else ("applied" if trade_applied else "duplicate")
        return ImageOutcome(trade_outcome, len(counted))
    else:
        raise RuntimeError(f"could not apply the image of {order_id or user_id}: markers kept changing")
    return ImageOutcome("duplicate" if trade is not None else None, 0)


# --- reading -------------------------------------------------------------------------------------

def read_days(user_id: str, dim: str, start: date | None = None, end: date | None = None, *,
              table: Table | None = None) -> list[DailyAggregate]:
    """A dimension's daily records in [start, end]: one key query, O(days)."""
    table = table or analytics_table()
    items = table.query_all(dim_pk(user_id, dim), sk_between=day_range(start, end), limit=1000)
    return [day_from_item(item) for item in items]


def read_totals(user_id: str, dim_prefix: str, *, table: Table | None = None) -> list[Item]:
    """All-time totals of every member of a dimension (`P#`, `S#`, `A#`): one key query."""
    table = table or analytics_table()
    return list(table.query_all(user_pk(user_id), sk_prefix=f"{TOTAL_PREFIX}{dim_prefix}", limit=1000))


def read_total(user_id: str, dim: str, *, table: Table | None = None) -> Item | None:
    return (table or analytics_table()).get(user_pk(user_id), f"{TOTAL_PREFIX}{dim}", consistent=False)


def counters_of(item: Mapping[str, Any]) -> dict[str, float]:
    return {name: float(item.get(name) or 0) for name in COUNTER_FIELDS}


def iter_ledger(user_id: str, start: date | None = None, end: date | None = None, *,
                table: Table | None = None) -> Iterator[ClosedTrade]:
    """Closed trades of [start, end] by close time, from the ledger copies (a key range query)."""
    table = table or analytics_table()
    for item in table.query_all(ledger_pk(user_id), sk_between=ledger_range(start, end), limit=1000):
        yield trade_from_record(item)


def read_day_items(user_id: str, dim: str, start: date | None = None, end: date | None = None, *,
                   table: Table | None = None) -> list[Item]:
    """The raw DAY records of a dimension (trade counters and the signal/order stat counters)."""
    table = table or analytics_table()
    return list(table.query_all(dim_pk(user_id, dim), sk_between=day_range(start, end), limit=1000))
