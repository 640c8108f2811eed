"""The stream aggregator against DynamoDB (moto): exactly-once folding under redelivery."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from signalos.analytics import aggregator
from signalos.analytics.aggregates import (
    ALL,
    dim_pk,
    fold_reference,
    provider_dim,
    trade_from_order_item,
    user_pk,
)
from signalos.analytics.data import counters_of, iter_ledger, read_days, read_totals
from signalos.analytics.metrics import compute_metrics, metrics_from_trades
from signalos.common.clock import iso
from signalos.common.dynamo import Table, serialize

BASE = datetime(2026, 10, 5, tzinfo=UTC)


def order_item(rng: random.Random, user: str, n: int, state: str = "closed", version: int = 7) -> dict:
    opened = BASE + timedelta(minutes=rng.randrange(0, 60 * 24 * 30))
    closed = opened + timedelta(minutes=rng.randrange(1, 900))
    profit = round(rng.uniform(-250, 300), 2)
    item = {
        "pk": user_pk(user), "sk": f"ORDER#ord_{n}", "entity": "order", "order_id": f"ord_{n}",
        "user_id": user, "account_id": rng.choice(["acc_1", "acc_2"]),
        "provider_id": rng.choice(["prv_a", "prv_b"]),
        "signal_id": f"sig_{n // 2}", "symbol": rng.choice(["XAUUSD", "EURUSD"]), "side": "buy",
        "volume": 0.1, "filled_volume": 0.1, "state": state, "version": version,
        "signal_time": iso(opened - timedelta(seconds=2)), "created_at": iso(opened - timedelta(seconds=1)),
        "executed_at": iso(opened), "opened_at": iso(opened), "entry_price": 1950.0,
    }
    if state == "closed":
        item.update({"closed_at": iso(closed), "closed_volume": 0.1, "close_price": 1951.0, "profit": profit,
                     "commission": -0.7, "swap": round(rng.uniform(-2, 1), 2), "pips": 10.0,
                     "close_reason": "tp"})
    if state == "rejected":
        item.update({"state_reason": "MAX_SPREAD: spread 45 points above 30", "opened_at": None})
    return item


def stream_record(item: dict, seq: int, event_name: str = "MODIFY") -> dict:
    return {"eventID": f"e{seq}", "eventName": event_name, "eventSource": "aws:dynamodb",
            "dynamodb": {"Keys": serialize({"pk": item["pk"], "sk": item["sk"]}),
                         "NewImage": serialize(item), "SequenceNumber": str(100 + seq),
                         "StreamViewType": "NEW_AND_OLD_IMAGES"}}


def test_aggregates_equal_recomputation_after_duplicates_and_corrections(aws):
    rng = random.Random(42)
    final: dict[str, dict] = {}
    records: list[dict] = []
    for n in range(10):
        item = order_item(rng, "usr_a", n)
        records.append(item)
        if rng.random() < 0.25:  # a corrected close arrives later with a newer version
            corrected = {**order_item(rng, "usr_a", n, version=9), "provider_id": item["provider_id"]}
            records.append(corrected)
            item = corrected
        final[item["order_id"]] = item
    records += [rng.choice(records) for _ in range(6)]  # redeliveries, in any order
    records.insert(5, order_item(rng, "usr_a", 999, state="filled"))  # not closed: no trade
    stream = [stream_record(item, i) for i, item in enumerate(records)]
    for start in range(0, len(stream), 10):  # batches, as the event source mapping sends them
        result = aggregator.process_batch({"Records": stream[start:start + 10]}, None)
        assert result == {"batchItemFailures": []}

    trades = [trade_from_order_item(i) for i in final.values()]
    reference = fold_reference(trades)
    table = Table.from_env("ANALYTICS_TABLE")
    # Every stored record, found by key queries: the totals, then each dimension's days.
    totals = [i for i in table.query_all(user_pk("usr_a"), sk_prefix="TOTAL#")]
    stored = {i["sk"]: counters_of(i) for i in totals}
    for total in totals:
        for day in table.query_all(dim_pk("usr_a", total["dim"])):
            stored[f"DAY#{total['dim']}#{day['day']}"] = counters_of(day)
    stored = {k: v for k, v in stored.items() if any(v.values())}
    expected = {sk: {k: float(v) for k, v in c.items()} for sk, c in reference.items()}
    assert stored.keys() == expected.keys()
    for sk, counters in expected.items():
        assert stored[sk] == pytest.approx(counters), sk

    metrics = compute_metrics(read_days("usr_a", ALL), 20_000)
    assert metrics.total_trades == 10
    assert metrics.total_pnl == pytest.approx(metrics_from_trades(trades, 20_000).total_pnl)
    assert len(list(iter_ledger("usr_a"))) == 10
    providers = {t["dim"]: t for t in read_totals("usr_a", "P#")}
    assert set(providers) == {provider_dim("prv_a"), provider_dim("prv_b")}
    assert sum(int(p["trades"]) for p in providers.values()) == 10


def test_stats_count_each_event_once(aws):
    rng = random.Random(3)
    rejected = order_item(rng, "usr_b", 1, state="rejected")
    filled = order_item(rng, "usr_b", 2, state="filled")
    filled["signal_id"] = rejected["signal_id"] = "sig_x"
    closed = {**filled, "state": "closed", **{k: v for k, v in order_item(rng, "usr_b", 2).items()
                                              if k in ("closed_at", "profit", "commission", "swap")}}
    batch = [stream_record(x, i) for i, x in enumerate([rejected, filled, filled, closed, rejected, closed])]
    assert aggregator.process_batch({"Records": batch}, None) == {"batchItemFailures": []}
    table = Table.from_env("ANALYTICS_TABLE")
    total = table.get(user_pk("usr_b"), "TOTAL#ALL")
    assert total["signals_planned"] == 1 and total["signals_traded"] == 1
    assert total["orders_rejected"] == 1 and total["orders_filled"] == 1 and total["orders_closed"] == 1
    assert total["reason#MAX_SPREAD"] == 1


def test_refused_setups_are_counted_with_their_reason(aws):
    rejection = {
        "pk": "USER#usr_e", "sk": "REJECTION#rej_1", "entity": "rejection", "rejection_id": "rej_1",
        "user_id": "usr_e", "provider_id": "prv_z", "signal_id": "sig_9", "reason_code": "DAILY_LOSS_CAP",
        "reason": "daily loss cap reached", "created_at": "2026-11-20T08:00:00.000Z",
    }
    batch = [stream_record(rejection, 1, "INSERT"), stream_record(rejection, 2, "INSERT")]
    assert aggregator.process_batch({"Records": batch}, None) == {"batchItemFailures": []}
    total = Table.from_env("ANALYTICS_TABLE").get(user_pk("usr_e"), "TOTAL#P#prv_z")
    assert total["rejected_setups"] == 1 and total["signals_planned"] == 1
    assert total["reason#DAILY_LOSS_CAP"] == 1


def test_the_template_stream_trigger_feeds_the_aggregator(aws):
    """Order items written to TradingTable reach the aggregator through the template's stream."""
    rng = random.Random(8)
    trading = Table.from_env("TRADING_TABLE")
    item = order_item(rng, "usr_f", 1, state="filled")
    trading.put(item)
    closed = {**order_item(rng, "usr_f", 1), "version": 8}
    trading.put(closed)
    assert aws.drain() >= 2
    days = read_days("usr_f", ALL)
    assert sum(d.trades for d in days) == 1
    assert sum(d.net_pnl for d in days) == pytest.approx(trade_from_order_item(closed).net)


def test_remove_records_and_other_items_are_ignored(aws):
    rng = random.Random(5)
    item = order_item(rng, "usr_c", 1)
    other = {"pk": "USER#usr_c", "sk": "SUBSCRIPTION#s1", "entity": "subscription"}
    batch = [stream_record(item, 1, "REMOVE"), stream_record(other, 2, "INSERT")]
    assert aggregator.process_batch({"Records": batch}, None) == {"batchItemFailures": []}
    assert list(Table.from_env("ANALYTICS_TABLE").query_all(user_pk("usr_c"))) == []


def test_a_failing_record_is_reported_for_retry(aws, monkeypatch):
    rng = random.Random(6)
    good, bad = order_item(rng, "usr_d", 1), order_item(rng, "usr_d", 2)

    real = aggregator.apply_image

    def flaky(image, **kwargs):
        if image["order_id"] == "ord_2":
            raise RuntimeError("throttled")
        return real(image, **kwargs)

    monkeypatch.setattr(aggregator, "apply_image", flaky)
    result = aggregator.process_batch({"Records": [stream_record(good, 1), stream_record(bad, 2)]}, None)
    assert result == {"batchItemFailures": [{"itemIdentifier": "102"}]}
    assert len(read_days("usr_d", ALL)) == 1


def test_platform_counters_reach_status_metrics_and_cloudwatch(aws, call_api, capsys):
    """Fills and closes of today show in /api/v1/status/metrics (admin) and as EMF metrics."""
    from signalos.auth.bootstrap import seed_admin
    from signalos.common.clock import utc_now

    now = utc_now().replace(microsecond=0)
    filled = {
        "pk": "USER#usr_p", "sk": "ORDER#ord_p", "entity": "order", "order_id": "ord_p", "user_id": "usr_p",
        "provider_id": "prv_p", "signal_id": "sig_p", "symbol": "XAUUSD", "side": "buy", "state": "filled",
        "version": 3, "signal_time": iso(now - timedelta(seconds=3)),
        "received_at": iso(now - timedelta(seconds=2)),
        "created_at": iso(now - timedelta(seconds=2)), "enqueued_at": iso(now - timedelta(seconds=1)),
        "executed_at": iso(now), "opened_at": iso(now), "entry_price": 1950.0, "filled_volume": 0.1,
    }
    closed = {**filled, "state": "closed", "version": 4, "closed_at": iso(now), "profit": 12.5,
              "commission": -0.5}
    event = {"Records": [stream_record(filled, 1), stream_record(closed, 2), stream_record(closed, 3)]}
    assert aggregator.lambda_handler(event, None) == {"batchItemFailures": []}
    emitted = capsys.readouterr().out
    assert '"SignalToFillLatency"' in emitted and '"OrdersClosed"' in emitted

    assert seed_admin("metrics_admin", "correct horse battery")
    _, _, tokens = call_api("POST", "/api/v1/auth/login",
                            json={"username": "metrics_admin", "password": "correct horse battery"})
    status, _, body = call_api("GET", "/api/v1/status/metrics",
                               headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert status == 200, body
    today = body["providers"]["analytics"]["today"]
    assert today["orders_by_state"] == {"closed": 1, "filled": 1} and today["trades_closed"] == 1
    assert today["signals_traded"] == 1
    assert today["latency"]["signal_to_fill"] == {"count": 1, "avg_ms": 3000.0, "p50_ms_at_most": 5000,
                                                  "p95_ms_at_most": 5000}
