"""Performance metrics of closed trades: the definitions, written down, in one place.

Pure Python (no AWS imports). Every figure SignalOS shows (API, PDF) comes from
`compute_metrics`, whose only input is a list of `DailyAggregate`s and a starting equity.
A list of closed trades is first folded into daily aggregates (`fold_days`), so the metrics
of a trade list and the metrics read back from the stored per-day aggregates are computed by
the same code and agree exactly. Reads therefore cost O(days), never O(trades).

Definitions
-----------
- **Net PnL of a trade** = `profit + commission + swap` (MT5 reports commission and swap as
  signed amounts in account currency; a commission is negative).
- **Winning / losing trade**: net PnL > 0 / < 0. A trade at exactly 0 is "breakeven": it counts
  in `total_trades` but neither as a win nor as a loss.
- **Win rate** (%) = winning / total * 100.
- **Total PnL** = sum of net PnL; **total PnL %** = total PnL / starting equity * 100.
- **Profit factor** = gross profit / |gross loss|, where gross profit is the sum of the winning
  trades' net PnL and gross loss the sum of the losing trades'. `None` when there is no loss
  (the ratio is undefined, not infinite).
- **Expectancy** = total PnL / total trades (average net result per trade, account currency).
- **Day**: the UTC calendar date of a trade's `closed_at`. Realised PnL only (open positions'
  floating profit is not part of the curve).
- **Equity curve**: E_0 = starting equity; E_d = E_{d-1} + PnL_d at the end of each day d of the
  period. The period's days are every Monday-Friday from the first to the last day of the period
  (the requested range, else first to last day with a closed trade) plus any weekend day that has
  closed trades (crypto); a day without closes has PnL 0.
- **Daily return** r_d = PnL_d / E_{d-1} (on the equity at the start of that day).
- **Max drawdown** (peak to trough on the end-of-day equity curve, the starting equity counts as
  the first peak): amount = max over d of (max_{k<=d} E_k - E_d); percent = max over d of
  (max_{k<=d} E_k - E_d) / max_{k<=d} E_k * 100. The two maxima are taken separately (the deepest
  percentage episode is also reported with its peak, trough and recovery dates).
  Why end-of-day and not trade by trade: trades reach the aggregator out of order (several
  accounts, redelivered stream records), and per-day records kept with commutative ADDs cannot
  hold order-dependent intra-day extremes. Dips that recover within the same day are therefore
  not counted; everything else is exact.
- **Sharpe** = mean(r) / stdev(r) * sqrt(252); stdev is the sample standard deviation (n - 1),
  risk-free rate 0. `None` with fewer than 2 daily returns or zero deviation.
- **Sortino** = mean(r) / DD * sqrt(252), downside deviation DD = sqrt(sum(min(r_d, 0)^2) / n)
  over all n days (target return 0). `None` with fewer than 2 returns or no losing day.
- **Annualised return** (%) = ((E_n / E_0) ^ (252 / n) - 1) * 100 over the n days of the period
  (-100 when the account ended at or below zero).
- **Calmar** = annualised return % / max drawdown %. `None` when there was no drawdown.
- Sharpe, Sortino and Calmar are `None` when the equity at the start of some day was <= 0
  (a return on non-positive equity means nothing).
- **Average signal-to-execution latency** (ms) = mean over trades that have it of (fill time -
  time the provider posted the signal).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, timedelta

TRADING_DAYS_PER_YEAR = 252
_ANNUALISE = math.sqrt(TRADING_DAYS_PER_YEAR)


@dataclass(frozen=True, slots=True)
class ClosedTrade:
    """One closed position, as the analytics side needs it (built from a trade record)."""

    order_id: str
    closed_at: datetime
    profit: float
    commission: float = 0.0
    swap: float = 0.0
    volume: float = 0.0
    pips: float | None = None
    symbol: str = ""
    provider_id: str | None = None
    account_id: str | None = None
    opened_at: datetime | None = None
    signal_to_execution_ms: float | None = None
    side: str | None = None
    open_price: float | None = None
    close_price: float | None = None
    close_reason: str | None = None
    signal_id: str | None = None

    @property
    def net(self) -> float:
        return self.profit + self.commission + self.swap

    @property
    def day(self) -> date:
        return self.closed_at.astimezone(UTC).date()

    @property
    def hold_seconds(self) -> float | None:
        if self.opened_at is None:
            return None
        return max(0.0, (self.closed_at - self.opened_at).total_seconds())


@dataclass(slots=True)
class DailyAggregate:
    """Everything the metrics need about one day (of one user, provider, symbol or account).

    Every field is a sum or a count, so the record is kept current with commutative ADDs in
    any order and summing days gives the totals of a period.
    """

    day: date
    trades: int = 0
    wins: int = 0
    losses: int = 0
    breakeven: int = 0
    gross_profit: float = 0.0  # sum of winning trades' net PnL (>= 0)
    gross_loss: float = 0.0  # sum of losing trades' net PnL (<= 0)
    profit: float = 0.0
    commission: float = 0.0
    swap: float = 0.0
    volume: float = 0.0
    pips: float = 0.0
    latency_ms_sum: float = 0.0
    latency_count: int = 0
    hold_seconds_sum: float = 0.0
    hold_count: int = 0

    @property
    def net_pnl(self) -> float:
        return self.gross_profit + self.gross_loss

    @classmethod
    def from_trade(cls, trade: ClosedTrade) -> DailyAggregate:
        # Rounded to 8 places so float noise (120 + -5 = 115.00000000000001) never reaches a sum.
        net = round(trade.net, 8)
        hold = trade.hold_seconds
        return cls(
            day=trade.day,
            trades=1,
            wins=int(net > 0),
            losses=int(net < 0),
            breakeven=int(net == 0),
            gross_profit=net if net > 0 else 0.0,
            gross_loss=net if net < 0 else 0.0,
            profit=trade.profit,
            commission=trade.commission,
            swap=trade.swap,
            volume=trade.volume,
            pips=trade.pips or 0.0,
            latency_ms_sum=trade.signal_to_execution_ms or 0.0,
            latency_count=int(trade.signal_to_execution_ms is not None),
            hold_seconds_sum=hold or 0.0,
            hold_count=int(hold is not None),
        )

    def counters(self) -> dict[str, int | float]:
        """The summable fields by name (what the aggregator ADDs to the stored record)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "day"}

    def add(self, other: DailyAggregate) -> None:
        for name, value in other.counters().items():
            setattr(self, name, getattr(self, name) + value)


COUNTER_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(DailyAggregate) if f.name != "day")


def fold_days(trades: Iterable[ClosedTrade]) -> list[DailyAggregate]:
    """Daily aggregates of a trade list, oldest day first."""
    by_day: dict[date, DailyAggregate] = {}
    for trade in trades:
        contribution = DailyAggregate.from_trade(trade)
        existing = by_day.get(contribution.day)
        if existing is None:
            by_day[contribution.day] = contribution
        else:
            existing.add(contribution)
    return [by_day[d] for d in sorted(by_day)]


@dataclass(frozen=True, slots=True)
class EquityPoint:
    day: date
    pnl: float
    trades: int
    equity: float  # end of day
    start_equity: float  # start of day (the base of the daily return)
    drawdown: float  # running peak - equity (>= 0)
    drawdown_pct: float


@dataclass(frozen=True, slots=True)
class MonthPoint:
    month: str  # "2026-11"
    pnl: float
    trades: int
    wins: int
    return_pct: float | None  # PnL / equity at the start of the month * 100


@dataclass(frozen=True, slots=True)
class DrawdownEpisode:
    amount: float
    pct: float
    peak_day: date | None  # None: the peak was the starting equity, before the first day
    peak_equity: float
    trough_day: date
    trough_equity: float
    recovery_day: date | None  # first day the equity was back at the peak; None: not yet


@dataclass(frozen=True, slots=True)
class PerformanceMetrics:
    starting_equity: float
    ending_equity: float
    period_start: date | None
    period_end: date | None
    days: int  # days in the return series
    total_trades: int
    winning_trades: int
    losing_trades: int
    breakeven_trades: int
    win_rate: float | None
    total_pnl: float
    total_pnl_percentage: float | None
    gross_profit: float
    gross_loss: float
    profit_factor: float | None
    expectancy: float | None
    average_win: float | None
    average_loss: float | None
    max_drawdown_amount: float
    max_drawdown_pct: float
    worst_drawdown: DrawdownEpisode | None
    sharpe_ratio: float | None
    sortino_ratio: float | None
    calmar_ratio: float | None
    annualised_return_pct: float | None
    average_latency_ms: float | None
    average_hold_seconds: float | None
    total_volume: float
    total_pips: float
    commission: float
    swap: float
    best_day: EquityPoint | None = None
    worst_day: EquityPoint | None = None
    curve: list[EquityPoint] = field(default_factory=list)
    months: list[MonthPoint] = field(default_factory=list)


def _period_days(days: Sequence[DailyAggregate], start: date | None, end: date | None) -> list[date]:
    traded = {d.day for d in days if d.trades > 0}
    if not traded and (start is None or end is None):
        return []
    first = start if start is not None else min(traded)
    last = end if end is not None else max(traded)
    out: list[date] = []
    current = first
    while current <= last:
        if current.weekday() < 5 or current in traded:
            out.append(current)
        current += timedelta(days=1)
    return out


def equity_curve(days: Sequence[DailyAggregate], starting_equity: float, *,
                 start: date | None = None, end: date | None = None) -> list[EquityPoint]:
    """End-of-day equity for every day of the period (see the module docs for which days)."""
    by_day = {d.day: d for d in days if (start is None or d.day >= start) and (end is None or d.day <= end)}
    points: list[EquityPoint] = []
    equity = peak = starting_equity
    for day in _period_days(list(by_day.values()), start, end):
        agg = by_day.get(day)
        pnl = agg.net_pnl if agg else 0.0
        start_equity = equity
        equity = start_equity + pnl
        peak = max(peak, equity)
        drawdown = peak - equity
        drawdown_pct = drawdown / peak * 100 if peak > 0 else 0.0
        points.append(EquityPoint(day, pnl, agg.trades if agg else 0, equity, start_equity, drawdown,
                                  drawdown_pct))
    return points


def monthly_series(curve: Sequence[EquityPoint], days: Sequence[DailyAggregate]) -> list[MonthPoint]:
    wins_by_month: dict[str, int] = {}
    for d in days:
        key = d.day.strftime("%Y-%m")
        wins_by_month[key] = wins_by_month.get(key, 0) + d.wins
    months: list[MonthPoint] = []
    current: str | None = None
    pnl = 0.0
    trades = 0
    month_start_equity = 0.0
    for point in curve:
        key = point.day.strftime("%Y-%m")
        if key != current:
            if current is not None:
                months.append(_month(current, pnl, trades, wins_by_month.get(current, 0), month_start_equity))
            current, pnl, trades, month_start_equity = key, 0.0, 0, point.start_equity
        pnl += point.pnl
        trades += point.trades
    if current is not None:
        months.append(_month(current, pnl, trades, wins_by_month.get(current, 0), month_start_equity))
    return months


def _month(key: str, pnl: float, trades: int, wins: int, start_equity: float) -> MonthPoint:
    return MonthPoint(key, pnl, trades, wins, pnl / start_equity * 100 if start_equity > 0 else None)


def worst_drawdown(curve: Sequence[EquityPoint], starting_equity: float) -> DrawdownEpisode | None:
    """The deepest drawdown in percent, with the day of its peak, trough and recovery."""
    best: DrawdownEpisode | None = None
    peak_equity, peak_day = starting_equity, None
    for i, point in enumerate(curve):
        if point.equity >= peak_equity:
            peak_equity, peak_day = point.equity, point.day
            continue
        if best is not None and point.drawdown_pct <= best.pct:
            continue
        recovery = next((p.day for p in curve[i + 1:] if p.equity >= peak_equity), None)
        best = DrawdownEpisode(point.drawdown, point.drawdown_pct, peak_day, peak_equity, point.day,
                               point.equity, recovery)
    return best


def _ratios(curve: Sequence[EquityPoint], starting_equity: float,
            max_dd_pct: float) -> tuple[float | None, float | None, float | None, float | None]:
    """(sharpe, sortino, calmar, annualised return %) from the daily returns of the curve."""
    n = len(curve)
    if n == 0 or starting_equity <= 0 or any(p.start_equity <= 0 for p in curve):
        return None, None, None, None
    returns = [p.pnl / p.start_equity for p in curve]
    mean = sum(returns) / n
    sharpe = sortino = None
    if n >= 2:
        variance = sum((r - mean) ** 2 for r in returns) / (n - 1)
        stdev = math.sqrt(variance)
        sharpe = mean / stdev * _ANNUALISE if stdev > 0 else None
        downside = math.sqrt(sum(min(r, 0.0) ** 2 for r in returns) / n)
        sortino = mean / downside * _ANNUALISE if downside > 0 else None
    growth = curve[-1].equity / starting_equity
    annualised = (growth ** (TRADING_DAYS_PER_YEAR / n) - 1) * 100 if growth > 0 else -100.0
    calmar = annualised / max_dd_pct if max_dd_pct > 0 else None
    return sharpe, sortino, calmar, annualised


def _ratio(num: float, den: float) -> float | None:
    return num / den if den else None


def compute_metrics(days: Sequence[DailyAggregate], starting_equity: float, *,
                    start: date | None = None, end: date | None = None) -> PerformanceMetrics:
    """Every metric of the module docs, from daily aggregates (days outside [start, end] ignored)."""
    in_period = [d for d in days if (start is None or d.day >= start) and (end is None or d.day <= end)]
    total = DailyAggregate(day=date.min)
    for d in in_period:
        total.add(d)
    curve = equity_curve(in_period, starting_equity, start=start, end=end)
    max_dd = max((p.drawdown for p in curve), default=0.0)
    max_dd_pct = max((p.drawdown_pct for p in curve), default=0.0)
    sharpe, sortino, calmar, annualised = _ratios(curve, starting_equity, max_dd_pct)
    traded = [p for p in curve if p.trades]
    return PerformanceMetrics(
        starting_equity=starting_equity,
        ending_equity=curve[-1].equity if curve else starting_equity,
        period_start=curve[0].day if curve else start,
        period_end=curve[-1].day if curve else end,
        days=len(curve),
        total_trades=total.trades,
        winning_trades=total.wins,
        losing_trades=total.losses,
        breakeven_trades=total.breakeven,
        win_rate=_ratio(total.wins * 100, total.trades),
        total_pnl=total.net_pnl,
        total_pnl_percentage=total.net_pnl / starting_equity * 100 if starting_equity > 0 else None,
        gross_profit=total.gross_profit,
        gross_loss=total.gross_loss,
        profit_factor=_ratio(total.gross_profit, abs(total.gross_loss)),
        expectancy=_ratio(total.net_pnl, total.trades),
        average_win=_ratio(total.gross_profit, total.wins),
        average_loss=_ratio(total.gross_loss, total.losses),
        max_drawdown_amount=max_dd,
        max_drawdown_pct=max_dd_pct,
        worst_drawdown=worst_drawdown(curve, starting_equity),
        sharpe_ratio=sharpe,
        sortino_ratio=sortino,
        calmar_ratio=calmar,
        annualised_return_pct=annualised,
        average_latency_ms=_ratio(total.latency_ms_sum, total.latency_count),
        average_hold_seconds=_ratio(total.hold_seconds_sum, total.hold_count),
        total_volume=total.volume,
        total_pips=total.pips,
        commission=total.commission,
        swap=total.swap,
        best_day=max(traded, key=lambda p: p.pnl) if traded else None,
        worst_day=min(traded, key=lambda p: p.pnl) if traded else None,
        curve=list(curve),
        months=monthly_series(curve, in_period),
    )


def metrics_from_trades(trades: Iterable[ClosedTrade], starting_equity: float, *,
                        start: date | None = None, end: date | None = None) -> PerformanceMetrics:
    """The metrics of a trade list (folded to days first, so they equal the stored aggregates')."""
    return compute_metrics(fold_days(trades), starting_equity, start=start, end=end)
