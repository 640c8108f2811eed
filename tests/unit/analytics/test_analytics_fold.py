"""The pure fold: idempotent under redelivery, self-correcting, equal to a from-scratch sum."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from signalos.analytics.aggregates import (
    ALL,
    MemoryAggregates,
    contribution,
    day_from_item,
    dim_of,
    fold_reference,
    physical_key,
    plan_close,
    provider_dim,
    symbol_dim,
    trade_from_order_item,
)
from signalos.analytics.metrics import ClosedTrade, compute_metrics, metrics_from_trades

BASE = datetime(2026, 10, 1, tzinfo=UTC)


def random_trade(rng: random.Random, order_id: str) -> ClosedTrade:
    closed = BASE + timedelta(minutes=rng.randrange(0, 60 * 24 * 40), microseconds=rng.randrange(1_000_000))
    return ClosedTrade(
        order_id=order_id, closed_at=closed, profit=round(rng.uniform(-300, 300), 2),
        commission=-round(rng.uniform(0, 7), 2), swap=round(rng.uniform(-3, 3), 2),
        volume=round(rng.choice([0.01, 0.1, 0.25, 1.0]), 2), pips=round(rng.uniform(-80, 80), 1),
        symbol=rng.choice(["XAUUSD", "EURUSD", "GBPJPY"]), provider_id=rng.choice(["prv_a", "prv_b", None]),
        account_id=rng.choice(["acc_1", "acc_2"]),
        opened_at=closed - timedelta(minutes=rng.randrange(1, 600)),
        signal_to_execution_ms=rng.choice([None, round(rng.uniform(50, 3000), 1)]),
    )


def deliveries(seed: int, n_orders: int) -> tuple[list[tuple[ClosedTrade, int]], dict[str, ClosedTrade]]:
    """A stream of (trade, version) records: duplicates, replays out of order, corrections."""
    rng = random.Random(seed)
    versions: dict[str, list[ClosedTrade]] = {}
    stream: list[tuple[ClosedTrade, int]] = []
    for i in range(n_orders):
        oid = f"ord_{i}"
        versions[oid] = [random_trade(rng, oid)]
        if rng.random() < 0.2:  # a corrected close (new figures, maybe another day)
            versions[oid].append(random_trade(rng, oid))
    for vs in versions.values():
        for v, trade in enumerate(vs, start=1):
            stream.append((trade, v))
    rng.shuffle(stream)
    stream += [rng.choice(stream) for _ in range(n_orders // 2)]  # redeliveries, anywhere
    final = {oid: vs[-1] for oid, vs in versions.items()}
    return stream, final


def _as_float(records):
    return {sk: {k: float(v) for k, v in c.items()} for sk, c in records.items()}


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n_orders=st.integers(1, 40))
def test_fold_equals_recomputation_whatever_the_delivery_order(seed, n_orders):
    stream, final = deliveries(seed, n_orders)
    store = MemoryAggregates()
    for trade, version in stream:
        store.apply(trade, version)
    reference = fold_reference(final.values())
    # Records that went back to all-zero after a correction moved a trade away may remain.
    kept = {sk: c for sk, c in store.records.items() if any(v != 0 for v in c.values())}
    assert kept == {sk: c for sk, c in reference.items()}
    assert len(store.ledger) == len(final)


def test_metrics_from_aggregates_equal_metrics_from_trades():
    stream, final = deliveries(7, 300)
    store = MemoryAggregates()
    for trade, version in stream:
        store.apply(trade, version)
    from_aggregates = compute_metrics(store.days(ALL), 25_000)
    from_trades = metrics_from_trades(final.values(), 25_000)
    assert from_aggregates.total_trades == from_trades.total_trades == 300
    for name in ("total_pnl", "profit_factor", "sharpe_ratio", "sortino_ratio", "calmar_ratio",
                 "max_drawdown_amount", "max_drawdown_pct", "average_latency_ms", "expectancy"):
        assert getattr(from_aggregates, name) == pytest.approx(getattr(from_trades, name), rel=1e-9), name
    provider = [t for t in final.values() if t.provider_id == "prv_a"]
    assert compute_metrics(store.days(provider_dim("prv_a")), 25_000).total_pnl == pytest.approx(
        metrics_from_trades(provider, 25_000).total_pnl)


def test_duplicate_and_stale_records_change_nothing():
    rng = random.Random(1)
    first, corrected = random_trade(rng, "o1"), random_trade(rng, "o1")
    assert plan_close(None, first) is not None
    assert plan_close(first, first) is None  # same figures, no versions
    assert plan_close(first, first, previous_version=1, version=1) is None
    assert plan_close(corrected, first, previous_version=2, version=1) is None  # a stale replay
    plan = plan_close(first, corrected, previous_version=1, version=2)
    assert plan is not None and plan.ledger_delete is not None


def test_precision_alone_is_not_a_correction():
    trade = ClosedTrade("o1", datetime(2026, 11, 2, 10, 0, 0, 123456, tzinfo=UTC), 10.0)
    plan = plan_close(None, trade)
    assert plan_close(plan.trade, trade) is None


def test_contribution_keys_and_values():
    trade = ClosedTrade("o1", datetime(2026, 11, 2, 23, 59, tzinfo=UTC), 120.0, -5.0, 0.0, volume=0.5,
                        symbol="xauusd", provider_id="prv_1", account_id="acc_1")
    c = contribution(trade)
    assert set(c) == {
        "DAY#ALL#2026-11-02", "TOTAL#ALL", "DAY#P#prv_1#2026-11-02", "TOTAL#P#prv_1",
        "DAY#S#XAUUSD#2026-11-02", "TOTAL#S#XAUUSD", "DAY#A#acc_1#2026-11-02", "TOTAL#A#acc_1",
    }
    day = c["DAY#ALL#2026-11-02"]
    assert day["gross_profit"] == Decimal("115.0") and day["wins"] == 1 and day["volume"] == Decimal("0.5")
    assert dim_of("DAY#P#prv_1#2026-11-02") == provider_dim("prv_1")
    assert dim_of("TOTAL#S#XAUUSD") == symbol_dim("XAUUSD")
    assert physical_key("u1", "DAY#P#prv_1#2026-11-02") == ("USER#u1#AGG#P#prv_1", "DAY#2026-11-02")
    assert physical_key("u1", "TOTAL#ALL") == ("USER#u1", "TOTAL#ALL")
    assert physical_key("u1", "TRADE#2026-11-02T10:00:00.000Z#o1") == ("USER#u1#TRADES",
                                                                       "2026-11-02T10:00:00.000Z#o1")
    agg = day_from_item({"day": "2026-11-02", **day})
    assert agg.net_pnl == 115.0 and agg.trades == 1


ORDER_ITEM = {
    "pk": "USER#u1", "sk": "ORDER#ord_1", "entity": "order", "order_id": "ord_1", "user_id": "u1",
    "account_id": "acc_1", "provider_id": "prv_1", "signal_id": "sig_1", "symbol": "XAUUSD", "side": "buy",
    "volume": 0.2, "filled_volume": 0.2, "closed_volume": 0.2, "state": "closed",
    "signal_time": "2026-11-02T10:00:00.000Z", "opened_at": "2026-11-02T10:00:01.250Z",
    "executed_at": "2026-11-02T10:00:01.250Z", "closed_at": "2026-11-02T14:00:00.000Z",
    "entry_price": 1950.0, "close_price": 1960.0, "profit": 200.0, "commission": -1.4, "swap": 0,
    "net_profit": 198.6, "pips": 100.0, "close_reason": "tp", "version": 5,
}


def test_trade_from_order_item():
    trade = trade_from_order_item(ORDER_ITEM)
    assert trade is not None
    assert trade.net == pytest.approx(198.6) and trade.signal_to_execution_ms == 1250.0
    assert trade.hold_seconds == 4 * 3600 - 1.25 and trade.volume == 0.2 and trade.close_reason == "tp"
    assert trade_from_order_item({**ORDER_ITEM, "state": "filled"}) is None
    assert trade_from_order_item({**ORDER_ITEM, "entity": "subscription"}) is None
    manual = trade_from_order_item({**ORDER_ITEM, "signal_time": None, "provider_id": None})
    assert manual.signal_to_execution_ms is None and manual.provider_id is None
