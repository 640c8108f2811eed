"""Platform-wide trading counters: for `/api/v1/status/metrics` and CloudWatch.

The aggregator calls `observe(image, events)` after an image's transaction committed new stat
events. Two outputs:
- AnalyticsTable `pk = PLATFORM`, `sk = DAY#<yyyy-mm-dd>#<shard>` (8 shards by user, so busy
  days do not make one hot item): orders by state, trades closed, signals planned/traded,
  refused setups, and latency histograms. Written with a plain ADD after the transaction, so a
  crash in between can lose one count but never count twice (operational figures, not money).
- CloudWatch (Powertools Metrics, EMF, namespace SignalOS): `OrdersFilled`, `OrdersClosed`,
  `OrdersRejected`, `OrdersExpired`, `OrdersCancelled`, `OrdersFailed` (counts), and
  `SignalToFillLatency` / `QueueToBrokerLatency` in milliseconds, one sample per filled order
  (CloudWatch computes p95 from the samples).

Latency stages, from the order item's stage timestamps:
    signal_to_fill     signal_time (provider posted) -> opened_at (position filled)
    receive_to_queue   received_at (webhook/API) -> enqueued_at (on the account's queue)
    queue_to_broker    enqueued_at -> executed_at (bridge received, broker answered)
Histogram buckets (ms): 250, 500, 1000, 2000, 5000, 10000, 30000, 60000, 300000, and above;
a percentile is reported as the upper edge of the bucket it falls in (so "p95 <= 2000 ms").
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

from signalos.analytics.signal_stats import REASON_PREFIX, StatEvent
from signalos.common.clock import parse_iso, utc_now
from signalos.common.dynamo import Table

PLATFORM_PK = "PLATFORM"
SHARDS = 8
BUCKETS_MS: tuple[int, ...] = (250, 500, 1_000, 2_000, 5_000, 10_000, 30_000, 60_000, 300_000)
STAGES = {
    "signal_to_fill": ("signal_time", "opened_at"),
    "receive_to_queue": ("received_at", "enqueued_at"),
    "queue_to_broker": ("enqueued_at", "executed_at"),
}


def shard_of(user_id: str) -> int:
    return zlib.crc32(user_id.encode()) % SHARDS


def bucket_of(ms: float) -> str:
    for edge in BUCKETS_MS:
        if ms <= edge:
            return f"le_{edge}"
    return "gt_max"


def stage_ms(image: Mapping[str, Any]) -> dict[str, float]:
    out: dict[str, float] = {}
    for name, (start, end) in STAGES.items():
        a, b = image.get(start), image.get(end)
        if not a or not b:
            continue
        try:
            ms = (parse_iso(str(b)) - parse_iso(str(a))).total_seconds() * 1000
        except ValueError:
            continue
        if ms >= 0:
            out[name] = round(ms, 1)
    return out


def counters_for(image: Mapping[str, Any], events: Iterable[StatEvent]) -> dict[str, dict[str, float]]:
    """day -> counters this image's newly counted events add to the platform records."""
    by_day: dict[str, dict[str, float]] = {}
    for event in events:
        day = by_day.setdefault(event.day, {})
        for key, value in event.counters.items():
            if not key.startswith(REASON_PREFIX):
                day[key] = day.get(key, 0) + value
        if event.scope == "order" and event.name == "filled":
            for stage, ms in stage_ms(image).items():
                for key, value in ((f"lat_{stage}_n", 1), (f"lat_{stage}_sum", ms),
                                   (f"lat_{stage}_{bucket_of(ms)}", 1)):
                    day[key] = day.get(key, 0) + value
    return by_day


def record(user_id: str, image: Mapping[str, Any], events: list[StatEvent], *,
           table: Table | None = None) -> None:
    from signalos.analytics.data import analytics_table

    table = table or analytics_table()
    shard = shard_of(user_id)
    for day, adds in counters_for(image, events).items():
        if adds:
            table.update(PLATFORM_PK, f"DAY#{day}#{shard}", add_values=adds, set_values={"day": day})
    _emit(image, events)


def _emit(image: Mapping[str, Any], events: list[StatEvent]) -> None:
    from aws_lambda_powertools.metrics import MetricUnit

    from signalos.common.observability import metrics

    m = metrics()
    for event in events:
        if event.scope == "order":
            for key in event.counters:
                if key.startswith("orders_"):
                    name = "Orders" + key.removeprefix("orders_").capitalize()
                    m.add_metric(name=name, unit=MetricUnit.Count, value=1)
            if event.name == "filled":
                stages = stage_ms(image)
                if "signal_to_fill" in stages:
                    m.add_metric(name="SignalToFillLatency", unit=MetricUnit.Milliseconds,
                                 value=stages["signal_to_fill"])
                if "queue_to_broker" in stages:
                    m.add_metric(name="QueueToBrokerLatency", unit=MetricUnit.Milliseconds,
                                 value=stages["queue_to_broker"])


# --- reading ---------------------------------------------------------------------------------

def percentile(counts: Mapping[str, float], stage: str, q: float) -> int | None:
    """Upper bucket edge (ms) under which a fraction q of the stage's samples fall."""
    total = sum(counts.get(f"lat_{stage}_{bucket_of(edge)}", 0) for edge in BUCKETS_MS)
    total += counts.get(f"lat_{stage}_gt_max", 0)
    if not total:
        return None
    running = 0.0
    for edge in BUCKETS_MS:
        running += counts.get(f"lat_{stage}_le_{edge}", 0)
        if running >= q * total:
            return edge
    return None  # beyond the last bucket


def summarize(items: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    total: dict[str, float] = {}
    for item in items:
        for key, value in item.items():
            if key not in ("pk", "sk", "day") and isinstance(value, int | float):
                total[key] = total.get(key, 0) + value
    latency = {}
    for stage in STAGES:
        n = int(total.get(f"lat_{stage}_n", 0))
        latency[stage] = {
            "count": n,
            "avg_ms": round(total.get(f"lat_{stage}_sum", 0) / n, 1) if n else None,
            "p50_ms_at_most": percentile(total, stage, 0.50),
            "p95_ms_at_most": percentile(total, stage, 0.95),
        }
    orders = {k.removeprefix("orders_"): int(v) for k, v in total.items() if k.startswith("orders_")}
    return {
        "orders_by_state": dict(sorted(orders.items())),
        "trades_closed": int(total.get("orders_closed", 0)),
        "signals_planned": int(total.get("signals_planned", 0)),
        "signals_traded": int(total.get("signals_traded", 0)),
        "rejected_setups": int(total.get("rejected_setups", 0)),
        "latency": latency,
    }


def read_days(days: int = 1, *, table: Table | None = None) -> list[dict[str, Any]]:
    """The platform records of the last `days` UTC days (one key query, <= days x SHARDS items)."""
    from signalos.analytics.data import analytics_table

    table = table or analytics_table()
    today = utc_now().date()
    first = today - timedelta(days=days - 1)
    bounds = (f"DAY#{first.isoformat()}", f"DAY#{today.isoformat()}#~")
    return list(table.query_all(PLATFORM_PK, sk_between=bounds))


def signal_outcome_metric(*, parser: str | None, outcome: str, latency_ms: float | None = None) -> None:
    """CloudWatch `SignalsParsed` (dimensions `parser`, `outcome`) and `SignalDecisionLatency` (ms).

    For the signals side to call when a signal reaches its outcome (parsed / ignored / failed);
    EMF goes to the function's log, so it needs no permission and no AWS call.
    """
    from aws_lambda_powertools.metrics import MetricUnit, single_metric

    from signalos.common import settings

    namespace = settings.env("POWERTOOLS_METRICS_NAMESPACE", "SignalOS") or "SignalOS"
    with single_metric(name="SignalsParsed", unit=MetricUnit.Count, value=1, namespace=namespace) as metric:
        metric.add_dimension(name="parser", value=parser or "none")
        metric.add_dimension(name="outcome", value=outcome)
    if latency_ms is not None:
        with single_metric(name="SignalDecisionLatency", unit=MetricUnit.Milliseconds, value=latency_ms,
                           namespace=namespace) as metric:
            metric.add_dimension(name="parser", value=parser or "none")
