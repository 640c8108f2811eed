"""Platform counters: histogram percentiles and what an order image adds."""

from __future__ import annotations

from signalos.analytics.platform import bucket_of, counters_for, percentile, stage_ms, summarize
from signalos.analytics.signal_stats import events_for_item

IMAGE = {
    "entity": "order", "order_id": "o1", "user_id": "u1", "provider_id": "p1", "signal_id": "s1",
    "state": "filled", "signal_time": "2026-11-22T10:00:00.000Z", "received_at": "2026-11-22T10:00:00.400Z",
    "created_at": "2026-11-22T10:00:00.450Z", "enqueued_at": "2026-11-22T10:00:00.500Z",
    "executed_at": "2026-11-22T10:00:01.700Z", "opened_at": "2026-11-22T10:00:01.700Z",
}


def test_stage_latencies_and_buckets():
    assert stage_ms(IMAGE) == {"signal_to_fill": 1700.0, "receive_to_queue": 100.0, "queue_to_broker": 1200.0}
    assert bucket_of(250) == "le_250" and bucket_of(251) == "le_500" and bucket_of(10**6) == "gt_max"


def test_an_image_adds_orders_signals_and_latency():
    adds = counters_for(IMAGE, events_for_item(IMAGE))
    day = adds["2026-11-22"]
    assert day["orders_filled"] == 1 and day["signals_traded"] == 1 and day["signals_planned"] == 1
    assert day["lat_signal_to_fill_le_2000"] == 1 and day["lat_signal_to_fill_sum"] == 1700.0


def test_percentiles_from_buckets():
    # 100 fills: 90 within 500 ms, 6 within 2 s, 4 within 10 s -> p50 <= 500, p95 <= 2000
    counts = {"lat_signal_to_fill_le_500": 90, "lat_signal_to_fill_le_2000": 6,
              "lat_signal_to_fill_le_10000": 4, "lat_signal_to_fill_n": 100, "lat_signal_to_fill_sum": 60_000}
    assert percentile(counts, "signal_to_fill", 0.50) == 500
    assert percentile(counts, "signal_to_fill", 0.95) == 2000
    assert percentile(counts, "signal_to_fill", 0.99) == 10000
    assert percentile({}, "signal_to_fill", 0.95) is None
    out = summarize([{**counts, "pk": "PLATFORM", "sk": "DAY#x#1", "orders_closed": 3}])
    assert out["latency"]["signal_to_fill"] == {"count": 100, "avg_ms": 600.0, "p50_ms_at_most": 500,
                                                 "p95_ms_at_most": 2000}
    assert out["trades_closed"] == 3 and out["orders_by_state"] == {"closed": 3}


def test_signal_outcome_metric_is_emf_with_parser_and_outcome(capsys):
    import json

    from signalos.analytics.platform import signal_outcome_metric

    signal_outcome_metric(parser="rules", outcome="parsed", latency_ms=0.8)
    blobs = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    parsed = next(b for b in blobs if "SignalsParsed" in b)
    assert parsed["parser"] == "rules" and parsed["outcome"] == "parsed" and parsed["SignalsParsed"] == [1.0]
    assert parsed["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "SignalOS"
    assert next(b for b in blobs if "SignalDecisionLatency" in b)["SignalDecisionLatency"] == [0.8]
