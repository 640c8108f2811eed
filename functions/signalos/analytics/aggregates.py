"""The aggregate records and the pure fold of a closed trade into them (no AWS here).

AnalyticsTable layout. Records are named here by a logical key; `physical_key` says where
each lives. Every partition key begins with the owner, `USER#<user_id>`:

    logical key                   pk / sk                               what
    DAY#<dim>#<yyyy-mm-dd>        USER#<uid>#AGG#<dim> / DAY#<day>      one day of one dimension: the
                                                                        summable fields of
                                                                        `metrics.DailyAggregate`, plus
                                                                        the signal/order counters of
                                                                        `signal_stats` (ALL and P#)
    TOTAL#<dim>                   USER#<uid> / TOTAL#<dim>              the same, all time (lists the
                                                                        providers/symbols cheaply)
    TRADE#<closed_at>#<oid>       USER#<uid>#TRADES / <closed_at>#<oid> ledger copy of the closed trade
                                                                        (PDF trade list by date range)
    MARK#ORDER#<order_id>         USER#<uid> / same                     what was applied for the order:
                                                                        trade figures, version, events
    MARK#SIGNAL#<signal_id>       USER#<uid> / same                     signal-level events counted

Each dimension's days have a partition of their own, so reading a period is one key range
query over that many days, whatever else the user has (markers and ledger grow with trades).

Dimensions `<dim>`: `ALL` (the user), `P#<provider_id>`, `S#<symbol>`, `A#<account_id>`.
Counters are kept with ADD only (commutative), so records are right whatever the order in
which the stream delivers trades; a counter that is missing reads as 0.

Folding is idempotent and self-correcting: `plan_close(previous, trade)` compares the trade
with what the marker says was applied. Same figures, or an older version of the item -> nothing
to do (a redelivered stream record). First time -> add its contribution. Newer, different
figures (a corrected close) -> add (new - old) to every affected record and move the ledger
copy. The aggregator writes the plan and the new marker in one transaction, conditional on the
marker it read, so concurrent or repeated deliveries can never count a trade twice.

Money is turned into Decimal through `repr` before any arithmetic, so the stored sums are the
exact decimal sums of the figures the trades carry, whatever the order of arrival.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from signalos.analytics.metrics import COUNTER_FIELDS, ClosedTrade, DailyAggregate
from signalos.common.clock import iso, parse_iso

ALL = "ALL"
DAY_PREFIX = "DAY#"
TOTAL_PREFIX = "TOTAL#"
TRADE_PREFIX = "TRADE#"
MARKER_PREFIX = "MARK#"

Counters = dict[str, Decimal]


def user_pk(user_id: str) -> str:
    return f"USER#{user_id}"


def provider_dim(provider_id: str) -> str:
    return f"P#{provider_id}"


def symbol_dim(symbol: str) -> str:
    return f"S#{symbol.upper()}"


def account_dim(account_id: str) -> str:
    return f"A#{account_id}"


def dimensions(trade: ClosedTrade) -> list[str]:
    dims = [ALL]
    if trade.provider_id:
        dims.append(provider_dim(trade.provider_id))
    if trade.symbol:
        dims.append(symbol_dim(trade.symbol))
    if trade.account_id:
        dims.append(account_dim(trade.account_id))
    return dims


def day_sk(dim: str, day: date) -> str:
    return f"{DAY_PREFIX}{dim}#{day.isoformat()}"


def dim_pk(user_id: str, dim: str) -> str:
    return f"{user_pk(user_id)}#AGG#{dim}"


def ledger_pk(user_id: str) -> str:
    return f"{user_pk(user_id)}#TRADES"


def day_range(start: date | None, end: date | None) -> tuple[str, str]:
    """Sort-key bounds, in a dimension's partition, of its days in [start, end] (open ends allowed)."""
    return (f"{DAY_PREFIX}{start.isoformat()}" if start else f"{DAY_PREFIX}0000",
            f"{DAY_PREFIX}{end.isoformat()}" if end else f"{DAY_PREFIX}9999")


def ledger_range(start: date | None, end: date | None) -> tuple[str, str]:
    """Sort-key bounds, in the ledger partition, of the trades closed in [start, end]."""
    return (start.isoformat() if start else "0000", f"{end.isoformat()}T99" if end else "9999")


def physical_key(user_id: str, logical: str) -> tuple[str, str]:
    """(pk, sk) of a record named by its logical key (see the table in the module docs)."""
    if logical.startswith(DAY_PREFIX):
        dim, day = logical[len(DAY_PREFIX):].rsplit("#", 1)
        return dim_pk(user_id, dim), f"{DAY_PREFIX}{day}"
    if logical.startswith(TRADE_PREFIX):
        return ledger_pk(user_id), logical[len(TRADE_PREFIX):]
    return user_pk(user_id), logical


def total_sk(dim: str) -> str:
    return f"{TOTAL_PREFIX}{dim}"


def ledger_sk(trade: ClosedTrade) -> str:
    return f"{TRADE_PREFIX}{iso(trade.closed_at)}#{trade.order_id}"


def marker_sk(order_id: str) -> str:
    return f"{MARKER_PREFIX}ORDER#{order_id}"


def signal_marker_sk(signal_id: str) -> str:
    return f"{MARKER_PREFIX}SIGNAL#{signal_id}"


def to_decimal(value: float | int) -> Decimal:
    return Decimal(value) if isinstance(value, int) else Decimal(repr(float(value)))


def contribution(trade: ClosedTrade) -> dict[str, Counters]:
    """What one trade adds: sort key -> counters, for its day and total in every dimension."""
    counters = {k: to_decimal(v) for k, v in DailyAggregate.from_trade(trade).counters().items()}
    out: dict[str, Counters] = {}
    for dim in dimensions(trade):
        out[day_sk(dim, trade.day)] = counters
        out[total_sk(dim)] = counters
    return out


# --- the trade as stored in the ledger and the marker ----------------------------------------

def trade_record(trade: ClosedTrade) -> dict[str, Any]:
    record = asdict(trade)
    record["closed_at"] = iso(trade.closed_at)
    record["opened_at"] = iso(trade.opened_at) if trade.opened_at else None
    return {k: v for k, v in record.items() if v is not None}


def trade_from_record(record: Mapping[str, Any]) -> ClosedTrade:
    values = {k: record.get(k) for k in ClosedTrade.__dataclass_fields__ if k in record}
    values["closed_at"] = parse_iso(str(record["closed_at"]))
    values["opened_at"] = parse_iso(str(record["opened_at"])) if record.get("opened_at") else None
    for money in ("profit", "commission", "swap", "volume"):
        values[money] = float(values.get(money) or 0.0)
    return ClosedTrade(**values)


def normalise(trade: ClosedTrade) -> ClosedTrade:
    return trade_from_record(trade_record(trade))


def _ms_between(start: Any, end: Any) -> float | None:
    if not start or not end:
        return None
    try:
        delta = (parse_iso(str(end)) - parse_iso(str(start))).total_seconds() * 1000
    except ValueError:
        return None
    return round(delta, 1) if delta >= 0 else None


def trade_from_order_item(item: Mapping[str, Any]) -> ClosedTrade | None:
    """A closed trade from a TradingTable order item (shape: signalos.trading.records), else None.

    Signal-to-execution latency = fill time (`opened_at`, else `executed_at`) - `signal_time`
    (when the provider posted it); unknown for manual trades.
    """
    if item.get("entity") != "order" or item.get("state") != "closed" or not item.get("closed_at"):
        return None
    try:
        closed_at = parse_iso(str(item["closed_at"]))
        opened_raw = item.get("opened_at")
        opened_at = parse_iso(str(opened_raw)) if opened_raw else None
    except ValueError:
        return None
    volume = item.get("closed_volume") or item.get("filled_volume") or item.get("volume") or 0.0
    return ClosedTrade(
        order_id=str(item["order_id"]),
        closed_at=closed_at,
        profit=float(item.get("profit") or 0.0),
        commission=float(item.get("commission") or 0.0),
        swap=float(item.get("swap") or 0.0),
        volume=float(volume),
        pips=float(item["pips"]) if item.get("pips") is not None else None,
        symbol=str(item.get("symbol") or "").upper(),
        provider_id=item.get("provider_id"),
        account_id=item.get("account_id"),
        opened_at=opened_at,
        signal_to_execution_ms=_ms_between(item.get("signal_time"), opened_raw or item.get("executed_at")),
        side=item.get("side"),
        open_price=float(item["entry_price"]) if item.get("entry_price") is not None else None,
        close_price=float(item["close_price"]) if item.get("close_price") is not None else None,
        close_reason=item.get("close_reason"),
        signal_id=item.get("signal_id"),
    )


# --- the fold ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class ClosePlan:
    """The writes that bring the aggregates from the applied figures to `trade`."""

    trade: ClosedTrade
    version: int | None
    deltas: dict[str, Counters]  # sort key -> counters to ADD (all-zero entries dropped)
    ledger_put: str  # sort key of the ledger copy to write
    ledger_delete: str | None  # the previous copy, when the close moved (corrected closed_at)


def plan_close(previous: ClosedTrade | None, trade: ClosedTrade, *, previous_version: int | None = None,
               version: int | None = None) -> ClosePlan | None:
    """The writes for a closed trade given what is applied, or None when there is nothing to do.

    `version` is the trade item's optimistic-concurrency counter: a record older than (or as
    old as) the applied one is a replay and changes nothing, so out-of-order redeliveries cannot
    roll a correction back. Without versions, identical figures mean a duplicate.
    """
    # Compare and add the trade as it will read back from storage (times to the millisecond),
    # so a redelivery can never look like a correction because of precision alone.
    trade = normalise(trade)
    if previous is not None:
        if version is not None and previous_version is not None and version <= previous_version:
            return None
        if normalise(previous) == trade:
            return None
    deltas: dict[str, Counters] = {sk: dict(c) for sk, c in contribution(trade).items()}
    if previous is not None:
        for sk, counters in contribution(normalise(previous)).items():
            target = deltas.setdefault(sk, {k: Decimal(0) for k in COUNTER_FIELDS})
            for key, value in counters.items():
                target[key] = target[key] - value
    # Zero counters are left out of the ADDs (a missing counter reads back as 0): smaller writes.
    deltas = {sk: {k: v for k, v in c.items() if v != 0} for sk, c in deltas.items()}
    deltas = {sk: c for sk, c in deltas.items() if c}
    old_ledger = ledger_sk(previous) if previous is not None else None
    new_ledger = ledger_sk(trade)
    return ClosePlan(trade, version, deltas, new_ledger, old_ledger if old_ledger != new_ledger else None)


def day_from_item(item: Mapping[str, Any]) -> DailyAggregate:
    """A stored DAY# record as a DailyAggregate (missing counters are zero)."""
    agg = DailyAggregate(day=date.fromisoformat(str(item["day"])))
    for name in COUNTER_FIELDS:
        value = item.get(name)
        if value is not None:
            setattr(agg, name, type(getattr(agg, name))(value))
    return agg


def dim_of(sk: str) -> str:
    """`DAY#P#prv_1#2026-11-02` -> `P#prv_1`; `TOTAL#S#XAUUSD` -> `S#XAUUSD`."""
    if sk.startswith(DAY_PREFIX):
        return sk[len(DAY_PREFIX):].rsplit("#", 1)[0]
    return sk[len(TOTAL_PREFIX):]


class MemoryAggregates:
    """The fold applied to a dict instead of a table: the reference the tests compare against,
    and what a backfill can run in memory before writing."""

    def __init__(self) -> None:
        self.records: dict[str, Counters] = {}
        self.markers: dict[str, tuple[ClosedTrade, int | None]] = {}
        self.ledger: dict[str, ClosedTrade] = {}

    def apply(self, trade: ClosedTrade, version: int | None = None) -> bool:
        applied = self.markers.get(trade.order_id)
        plan = plan_close(applied[0] if applied else None, trade, version=version,
                          previous_version=applied[1] if applied else None)
        if plan is None:
            return False
        for sk, counters in plan.deltas.items():
            record = self.records.setdefault(sk, {k: Decimal(0) for k in COUNTER_FIELDS})
            for key, value in counters.items():
                record[key] += value
        if plan.ledger_delete:
            self.ledger.pop(plan.ledger_delete, None)
        self.ledger[plan.ledger_put] = plan.trade
        self.markers[trade.order_id] = (plan.trade, version)
        return True

    def days(self, dim: str = ALL) -> list[DailyAggregate]:
        out = []
        for sk in sorted(self.records):
            if sk.startswith(DAY_PREFIX) and dim_of(sk) == dim:
                day = sk.rsplit("#", 1)[1]
                out.append(day_from_item({"day": day, **self.records[sk]}))
        return out


def fold_reference(trades: Iterable[ClosedTrade]) -> dict[str, Counters]:
    """From-scratch sums of a list of closed trades (each order_id counted once)."""
    records: dict[str, Counters] = {}
    for trade in trades:
        for sk, counters in contribution(normalise(trade)).items():
            record = records.setdefault(sk, {k: Decimal(0) for k in COUNTER_FIELDS})
            for key, value in counters.items():
                record[key] += value
    return records
