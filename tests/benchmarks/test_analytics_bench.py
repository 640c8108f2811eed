"""Analytics benchmarks (run with `make bench`; figures are printed, not asserted on time).

1. `summary` and `chart` handler time (in-process Lambda handler on moto, call_api) for an
   account with 1,000 and with 100,000 closed trades over the same year. The aggregates are
   seeded by folding the trades with the real fold (MemoryAggregates) and writing the records,
   so the reads are exactly what production reads: O(days), whatever the number of trades.
   The ratio 100k/1k should stay near 1. Printed beside it: the items the handler read, and
   the time of our own code (metrics + shaping on the records read) - moto's Query is
   O(partition size) in Python and dominates the handler time here; DynamoDB's is not.
2. PDF report for a year of trades (2,500: ten a trading day): POST /report/pdf end to end
   (aggregates read, ledger read, build, S3 put, presign) and the pure build alone.
"""

from __future__ import annotations

import random
import statistics
import time
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from signalos.analytics.aggregates import MemoryAggregates, physical_key, trade_record
from signalos.analytics.data import descriptive_attributes
from signalos.analytics.metrics import ClosedTrade

pytestmark = pytest.mark.usefixtures("aws_module")
A = "/api/v1/analytics"
START = date(2025, 11, 3)
END = date(2026, 11, 2)
RUNS = 7


def trades(n: int, seed: int) -> list[ClosedTrade]:
    rng = random.Random(seed)
    span = (END - START).days * 86_400
    t0 = datetime.combine(START, datetime.min.time(), tzinfo=UTC)
    out = []
    for i in range(n):
        closed = t0 + timedelta(seconds=rng.randrange(span))
        out.append(ClosedTrade(
            order_id=f"ord_{seed}_{i}", closed_at=closed, profit=round(rng.gauss(4, 60), 2), commission=-0.7,
            swap=round(rng.uniform(-1, 0.5), 2), volume=rng.choice([0.01, 0.05, 0.1]),
            pips=round(rng.gauss(3, 30), 1),
            symbol=rng.choice(["XAUUSD", "EURUSD", "GBPJPY", "US30", "BTCUSD"]),
            provider_id=rng.choice(["prv_gold", "prv_fx", "prv_scalp", "prv_swing"]), account_id="acc_bench",
            opened_at=closed - timedelta(minutes=rng.randrange(1, 600)),
            signal_to_execution_ms=round(rng.uniform(300, 2500), 1), side=rng.choice(["buy", "sell"]),
            open_price=1950.0, close_price=1951.0, close_reason="tp"))
    return out


def seed(aws, user_id: str, closed: list[ClosedTrade], *, ledger: bool = False) -> tuple[float, int]:
    """Fold the trades with the real fold and write the records; returns (fold seconds, records)."""
    started = time.perf_counter()
    store = MemoryAggregates()
    for trade in closed:
        store.apply(trade, 1)
    fold_seconds = time.perf_counter() - started
    items = []
    for logical, c in store.records.items():
        pk, sk = physical_key(user_id, logical)
        counters = {k: v for k, v in c.items() if v != 0}
        items.append({"pk": pk, "sk": sk, **descriptive_attributes(logical), **counters})
    if ledger:
        for logical, t in store.ledger.items():
            pk, sk = physical_key(user_id, logical)
            items.append({"pk": pk, "sk": sk, "kind": "trade", **trade_record(t)})
    from signalos.common.dynamo import serialize

    client = aws.client("dynamodb")
    table = aws.ref("AnalyticsTable")
    for i in range(0, len(items), 25):
        batch = [{"PutRequest": {"Item": serialize(item)}} for item in items[i:i + 25]]
        client.batch_write_item(RequestItems={table: batch})
    return fold_seconds, len(store.records)


def new_user(call_api) -> tuple[str, dict]:
    name, pw = f"bench_{uuid.uuid4().hex[:8]}", "correct horse battery"
    assert call_api("POST", "/api/v1/auth/register", json={"username": name, "password": pw})[0] == 201
    _, _, tokens = call_api("POST", "/api/v1/auth/login", json={"username": name, "password": pw})
    return tokens["user"]["id"], {"Authorization": f"Bearer {tokens['access_token']}"}


def timed(call_api, path: str, headers: dict, query: dict) -> tuple[float, float, dict]:
    samples, body = [], None
    for _ in range(RUNS):
        started = time.perf_counter()
        status, _, body = call_api("GET", path, headers=headers, query=query)
        samples.append((time.perf_counter() - started) * 1000)
        assert status == 200, body
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1], body


def own_code_ms(user_id: str) -> tuple[int, float]:
    """(day records a summary reads, ms of metrics + shaping on them), median of RUNS."""
    from signalos.analytics import data, service
    from signalos.analytics.metrics import compute_metrics

    days = data.read_days(user_id, "ALL")
    base = service.Base(days, START, END, 50_000.0, "request")
    samples = []
    for _ in range(RUNS):
        started = time.perf_counter()
        m = compute_metrics([d for d in days if START <= d.day <= END], 50_000.0, start=START, end=END)
        service.summary_out(m, base)
        service.chart_out(m, base)
        samples.append((time.perf_counter() - started) * 1000)
    return len(days), statistics.median(samples)


def test_summary_and_chart_cost_does_not_grow_with_trades(aws_module, call_api):
    query = {"start": START.isoformat(), "end": END.isoformat(), "starting_equity": "50000"}
    results = {}
    for n in (1_000, 100_000):
        uid, headers = new_user(call_api)
        fold_s, records = seed(aws_module, uid, trades(n, seed=n))
        s_med, s_p95, summary = timed(call_api, f"{A}/summary", headers, query)
        c_med, c_p95, chart = timed(call_api, f"{A}/chart", headers, query)
        assert summary["total_trades"] == n and len(chart["equity_curve"]) == summary["period"]["days"]
        results[n] = (s_med, c_med)
        read, ours_ms = own_code_ms(uid)
        print(f"\n[analytics] {n:>7,} trades: fold {fold_s:6.2f} s -> {records:,} aggregate records; "
              f"summary median {s_med:6.1f} ms (p95 {s_p95:6.1f}); chart median {c_med:6.1f} ms "
              f"(p95 {c_p95:6.1f}); {summary['period']['days']} days; items read {read}; "
              f"our code {ours_ms:.2f} ms")
    print(f"[analytics] ratio 100k/1k: summary {results[100_000][0] / results[1_000][0]:.2f}, "
          f"chart {results[100_000][1] / results[1_000][1]:.2f}")


def test_pdf_for_a_year_of_trades(aws_module, call_api):
    from signalos.analytics.metrics import metrics_from_trades
    from signalos.analytics.pdf import ReportData, build_pdf

    year = sorted(trades(2_500, seed=7), key=lambda t: t.closed_at)
    uid, headers = new_user(call_api)
    seed(aws_module, uid, year, ledger=True)
    started = time.perf_counter()
    body = {"start": START.isoformat(), "end": END.isoformat(), "starting_equity": 50000}
    status, _, report = call_api("POST", f"{A}/report/pdf", headers=headers, json=body)
    endpoint_s = time.perf_counter() - started
    assert status == 201, report
    assert report["trades"] == 2_500
    metrics = metrics_from_trades(year, 50_000, start=START, end=END)
    started = time.perf_counter()
    built = build_pdf(ReportData("rpt_bench", "bench", "All accounts", START, END, datetime.now(UTC), metrics,
                                 "request", trades=year))
    build_s = time.perf_counter() - started
    print(f"\n[analytics] PDF, a year of trades (2,500): POST /report/pdf {endpoint_s:.2f} s end to end; "
          f"build alone {build_s:.2f} s; {built.pages} pages, {len(built.content) / 1024:.0f} KiB")
