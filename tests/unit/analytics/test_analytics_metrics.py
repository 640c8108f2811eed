"""Metric definitions against values computed by hand on a fixed trade list.

Starting equity 10,000. Nets are profit + commission + swap:

  day         trade  profit  comm  swap  net   day PnL  end-of-day equity
  Mon 11-02   t1      120    -5     0    115
              t2      -40    -5     0    -45      70     10,070
  Tue 11-03   t3     -200    -5    -5   -210    -210      9,860
  Wed 11-04   (no trade: a weekday, PnL 0)         0      9,860
  Thu 11-05   t4      300    -5     5    300
              t5        5    -5     0      0     300     10,160
  Fri 11-06   t6     -100     0     0   -100    -100     10,060
  Sat 11-07   t7       50     0     0     50      50     10,110   (weekend day with a close counts)
  Sun 11-08   (no trade, weekend: not a day of the series)
  Mon 11-09   t8       60   -10     0     50      50     10,160
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

import pytest
from signalos.analytics.metrics import ClosedTrade, compute_metrics, fold_days, metrics_from_trades


def _t(order_id: str, day: int, profit: float, commission: float = 0.0, swap: float = 0.0,
       latency: float | None = None, hour: int = 12) -> ClosedTrade:
    closed = datetime(2026, 11, day, hour, 0, tzinfo=UTC)
    return ClosedTrade(order_id=order_id, closed_at=closed, profit=profit, commission=commission, swap=swap,
                       volume=0.1, pips=profit / 10, symbol="XAUUSD", provider_id="prv_1",
                       opened_at=closed - timedelta(hours=1), signal_to_execution_ms=latency)


TRADES = [
    _t("t1", 2, 120, -5, latency=800),
    _t("t2", 2, -40, -5, latency=1200),
    _t("t3", 3, -200, -5, -5),
    _t("t4", 5, 300, -5, 5, latency=400),
    _t("t5", 5, 5, -5),
    _t("t6", 6, -100),
    _t("t7", 7, 50),
    _t("t8", 9, 60, -10),
]


@pytest.fixture(scope="module")
def m():
    return metrics_from_trades(TRADES, 10_000)


def test_counts_and_win_rate(m):
    assert (m.total_trades, m.winning_trades, m.losing_trades, m.breakeven_trades) == (8, 4, 3, 1)
    assert m.win_rate == 50.0  # 4 / 8 * 100


def test_pnl_profit_factor_expectancy(m):
    assert m.gross_profit == pytest.approx(515)  # 115 + 300 + 50 + 50
    assert m.gross_loss == pytest.approx(-355)  # -45 - 210 - 100
    assert m.total_pnl == pytest.approx(160)
    assert m.total_pnl_percentage == pytest.approx(1.6)  # 160 / 10,000 * 100
    assert m.profit_factor == pytest.approx(1.4507042253521127)  # 515 / 355
    assert m.expectancy == pytest.approx(20)  # 160 / 8
    assert m.average_win == pytest.approx(128.75)  # 515 / 4
    assert m.average_loss == pytest.approx(-118.33333333)  # -355 / 3
    assert m.commission == pytest.approx(-35) and m.swap == pytest.approx(0)  # 5 x -5 + -10; -5 + 5
    assert m.average_latency_ms == pytest.approx(800)  # (800 + 1200 + 400) / 3, trades without it ignored
    assert m.average_hold_seconds == pytest.approx(3600)


def test_equity_curve_days(m):
    assert [p.day for p in m.curve] == [date(2026, 11, d) for d in (2, 3, 4, 5, 6, 7, 9)]
    assert [p.equity for p in m.curve] == pytest.approx([10070, 9860, 9860, 10160, 10060, 10110, 10160])
    assert m.ending_equity == pytest.approx(10160) and m.days == 7


def test_max_drawdown(m):
    # Peak 10,070 (Mon) -> trough 9,860 (Tue): 210, and 210 / 10,070 * 100 = 2.0854021847 %.
    # The second dip, 10,160 -> 10,060, is 100 (0.98 %), smaller on both counts.
    assert m.max_drawdown_amount == pytest.approx(210)
    assert m.max_drawdown_pct == pytest.approx(2.0854021847070507)
    ep = m.worst_drawdown
    assert (ep.peak_day, ep.trough_day) == (date(2026, 11, 2), date(2026, 11, 3))
    assert ep.recovery_day == date(2026, 11, 5)
    assert (ep.peak_equity, ep.trough_equity) == pytest.approx((10070, 9860))


def test_sharpe_sortino_calmar(m):
    # Daily returns on start-of-day equity:
    #   70/10000 = 0.007, -210/10070 = -0.0208540218, 0/9860 = 0, 300/9860 = 0.0304259635,
    #   -100/10160 = -0.0098425197, 50/10060 = 0.0049701789, 50/10110 = 0.0049455984
    # mean = 0.0166452 / 7 = 0.0023778856; sample stdev (n-1) = 0.0158959424
    # Sharpe = 0.0023778856 / 0.0158959424 * sqrt(252) = 2.3746792
    assert m.sharpe_ratio == pytest.approx(2.374679199988264, rel=1e-9)
    # downside deviation = sqrt((0.0208540218^2 + 0.0098425197^2) / 7) = 0.0087158757
    # Sortino = 0.0023778856 / 0.0087158757 * sqrt(252) = 4.3309204
    assert m.sortino_ratio == pytest.approx(4.330920416592394, rel=1e-9)
    # annualised = ((10160 / 10000) ^ (252 / 7) - 1) * 100 = 77.0816199 %
    assert m.annualised_return_pct == pytest.approx(77.08161989108488, rel=1e-9)
    # Calmar = 77.0816199 / 2.0854021847 = 36.962472
    assert m.calmar_ratio == pytest.approx(36.96247201443927, rel=1e-9)


def test_monthly_series_and_best_worst_day(m):
    assert len(m.months) == 1
    month = m.months[0]
    assert (month.month, month.trades, month.wins) == ("2026-11", 8, 4)
    assert month.pnl == pytest.approx(160) and month.return_pct == pytest.approx(1.6)
    assert m.best_day.day == date(2026, 11, 5) and m.worst_day.day == date(2026, 11, 3)


def test_daily_aggregates_give_the_same_metrics_in_any_order():
    shuffled = list(reversed(TRADES))
    a = compute_metrics(fold_days(shuffled), 10_000)
    b = metrics_from_trades(TRADES, 10_000)
    assert a.sharpe_ratio == pytest.approx(b.sharpe_ratio)
    assert a.max_drawdown_pct == pytest.approx(b.max_drawdown_pct)
    assert a.total_pnl == pytest.approx(b.total_pnl)


def test_date_range_limits_trades_and_days():
    m = metrics_from_trades(TRADES, 10_000, start=date(2026, 11, 3), end=date(2026, 11, 4))
    assert m.total_trades == 1 and m.total_pnl == pytest.approx(-210)
    assert [p.day for p in m.curve] == [date(2026, 11, 3), date(2026, 11, 4)]
    assert m.max_drawdown_amount == pytest.approx(210) and m.max_drawdown_pct == pytest.approx(2.1)


def test_undefined_ratios_are_none():
    only_wins = [_t("a", 2, 100), _t("b", 3, 50)]
    m = metrics_from_trades(only_wins, 1_000)
    assert m.profit_factor is None  # no loss: undefined, not infinite
    assert m.sortino_ratio is None and m.calmar_ratio is None  # no losing day, no drawdown
    assert m.sharpe_ratio is not None
    empty = metrics_from_trades([], 1_000)
    assert empty.total_trades == 0 and empty.win_rate is None and empty.expectancy is None
    assert empty.sharpe_ratio is None and empty.curve == [] and empty.worst_drawdown is None


def test_blown_account_has_no_ratios():
    m = metrics_from_trades([_t("a", 2, -1_500), _t("b", 3, 100)], 1_000)
    assert m.ending_equity == pytest.approx(-400)
    assert m.sharpe_ratio is None and m.calmar_ratio is None
    assert m.max_drawdown_amount == pytest.approx(1_500)
    assert math.isfinite(m.max_drawdown_pct)
