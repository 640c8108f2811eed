"""Analytics logic behind the routes: which records to read, the starting equity, the shaping.

Every read is a key query over the caller's own aggregate records (O(days), never the trades).
The metric arithmetic itself lives in signalos.analytics.metrics.

Starting equity (the base of every % and of the daily returns), in order:
1. `starting_equity` given by the caller;
2. the latest balance the bridge reported (sum over the accounts in scope) minus the PnL
   realised from the period's start until now - the balance the account had when the period
   began, as long as there were no deposits or withdrawals since;
3. `ANALYTICS_DEFAULT_STARTING_EQUITY` (10,000).
Provider and symbol metrics use the same starting equity as the account scope they belong to.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from typing import Any

from signalos.analytics import data, signal_stats
from signalos.analytics.aggregates import ALL, account_dim, day_from_item, provider_dim, symbol_dim
from signalos.analytics.metrics import (
    DailyAggregate,
    EquityPoint,
    PerformanceMetrics,
    compute_metrics,
)
from signalos.common import settings
from signalos.common.clock import utc_now
from signalos.common.errors import BadRequest, NotFound

DEFAULT_STARTING_EQUITY = 10_000.0
MAX_PERIOD_DAYS = 3_660
DEFINITIONS = {
    "net_pnl": "profit + commission + swap of a trade (commission is negative)",
    "win_rate": "trades with net PnL > 0 / all trades * 100 (a trade at exactly 0 is neither)",
    "profit_factor": "gross profit / |gross loss|; null when there is no losing trade",
    "expectancy": "total net PnL / number of trades",
    "equity_curve": "starting equity plus realised PnL at the end of each UTC day (Mon-Fri, plus "
                    "weekend days with closes)",
    "daily_return": "day PnL / equity at the start of that day",
    "max_drawdown": "largest fall from a running peak of the end-of-day equity curve, in % of the peak "
                    "(and in money, taken separately); intra-day dips that recover the same day are not seen",
    "sharpe_ratio": "mean daily return / sample standard deviation * sqrt(252); risk-free rate 0",
    "sortino_ratio": "mean daily return / sqrt(mean of min(return, 0)^2) * sqrt(252)",
    "annualised_return_pct": "((ending / starting equity) ^ (252 / days) - 1) * 100",
    "calmar_ratio": "annualised return % / max drawdown %",
    "average_latency_ms": "time from the provider posting the signal to the position filling, average",
}


@dataclass(frozen=True)
class Scope:
    """Who and what a request is about, after validation."""

    user_id: str
    start: date | None
    end: date | None
    account_id: str | None = None
    starting_equity: float | None = None

    @property
    def base_dim(self) -> str:
        return account_dim(self.account_id) if self.account_id else ALL


def today() -> date:
    return utc_now().date()


def check_period(start: date | None, end: date | None) -> None:
    if start and end and start > end:
        raise BadRequest("start must be on or before end", code="INVALID_PERIOD",
                         details={"start": start.isoformat(), "end": end.isoformat()})
    if start and end and (end - start).days > MAX_PERIOD_DAYS:
        raise BadRequest("The period is limited to 10 years", code="INVALID_PERIOD")


@dataclass(frozen=True)
class Base:
    """The account-scope days of all time, the period and the starting equity."""

    days: list[DailyAggregate]
    start: date
    end: date
    starting_equity: float
    source: str


def _heartbeat_balance(user_id: str, account_id: str | None) -> float | None:
    from signalos.bridge_api import accounts

    ids = [account_id] if account_id else [a.account_id for a in accounts.list_accounts(user_id)]
    balances = [hb.balance for hb in (accounts.latest_heartbeat(user_id, aid) for aid in ids) if hb]
    return sum(balances) if balances else None


def _default_equity() -> float:
    value = settings.env("ANALYTICS_DEFAULT_STARTING_EQUITY")
    try:
        return float(value) if value else DEFAULT_STARTING_EQUITY
    except ValueError:
        return DEFAULT_STARTING_EQUITY


def starting_equity_for(days: Iterable[DailyAggregate], start: date, requested: float | None,
                        balance_now: float | None) -> tuple[float, str]:
    """(starting equity, source): see the module docs."""
    if requested is not None:
        return requested, "request"
    if balance_now is not None:
        realised_since = sum(d.net_pnl for d in days if d.day >= start)
        equity = balance_now - realised_since
        if equity > 0:
            return equity, "heartbeat"
    return _default_equity(), "default"


def base_of(scope: Scope) -> Base:
    check_period(scope.start, scope.end)
    days = data.read_days(scope.user_id, scope.base_dim)
    traded = [d.day for d in days if d.trades]
    end = scope.end or today()
    start = scope.start or (min(traded) if traded else end)
    if start > end:
        start = end
    balance = None
    if scope.starting_equity is None:
        balance = _heartbeat_balance(scope.user_id, scope.account_id)
    equity, source = starting_equity_for(days, start, scope.starting_equity, balance)
    return Base(days, start, end, equity, source)


def _in(days: Iterable[DailyAggregate], start: date, end: date) -> list[DailyAggregate]:
    return [d for d in days if start <= d.day <= end]


def metrics_for(scope: Scope, dim: str | None = None,
                base: Base | None = None) -> tuple[PerformanceMetrics, Base]:
    base = base or base_of(scope)
    if dim is None or dim == scope.base_dim:
        days = _in(base.days, base.start, base.end)
    else:
        days = data.read_days(scope.user_id, dim, base.start, base.end)
    return compute_metrics(days, base.starting_equity, start=base.start, end=base.end), base


# --- shaping -----------------------------------------------------------------------------------

def _money(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _ratio(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def period_out(m: PerformanceMetrics, base: Base) -> dict[str, Any]:
    return {"start": base.start, "end": base.end, "days": m.days,
            "starting_equity": round(m.starting_equity, 2), "starting_equity_source": base.source,
            "ending_equity": round(m.ending_equity, 2)}


def summary_out(m: PerformanceMetrics, base: Base) -> dict[str, Any]:
    return {
        "total_trades": m.total_trades, "winning_trades": m.winning_trades, "losing_trades": m.losing_trades,
        "breakeven_trades": m.breakeven_trades, "win_rate": _ratio(m.win_rate),
        "total_pnl": round(m.total_pnl, 2), "total_pnl_percentage": _ratio(m.total_pnl_percentage),
        "profit_factor": _ratio(m.profit_factor), "max_drawdown": round(m.max_drawdown_pct, 4),
        "max_drawdown_amount": round(m.max_drawdown_amount, 2), "sharpe_ratio": _ratio(m.sharpe_ratio),
        "sortino_ratio": _ratio(m.sortino_ratio), "calmar_ratio": _ratio(m.calmar_ratio),
        "expectancy": _money(m.expectancy), "average_latency_ms": _ratio(m.average_latency_ms),
        "period": period_out(m, base),
    }


def _day_out(point: EquityPoint | None) -> dict[str, Any] | None:
    return None if point is None else {"date": point.day, "pnl": round(point.pnl, 2), "trades": point.trades}


def performance_out(m: PerformanceMetrics, base: Base) -> dict[str, Any]:
    dd = m.worst_drawdown
    worst = None if dd is None else {
        "amount": round(dd.amount, 2), "percent": round(dd.pct, 4), "peak_date": dd.peak_day,
        "peak_equity": round(dd.peak_equity, 2), "trough_date": dd.trough_day,
        "trough_equity": round(dd.trough_equity, 2), "recovery_date": dd.recovery_day,
    }
    return {
        **summary_out(m, base),
        "gross_profit": round(m.gross_profit, 2), "gross_loss": round(m.gross_loss, 2),
        "average_win": _money(m.average_win), "average_loss": _money(m.average_loss),
        "average_hold_seconds": _ratio(m.average_hold_seconds),
        "annualised_return_pct": _ratio(m.annualised_return_pct), "total_volume": round(m.total_volume, 4),
        "total_pips": round(m.total_pips, 1), "commission": round(m.commission, 2), "swap": round(m.swap, 2),
        "worst_drawdown": worst, "best_day": _day_out(m.best_day), "worst_day": _day_out(m.worst_day),
        "definitions": DEFINITIONS,
    }


def chart_out(m: PerformanceMetrics, base: Base) -> dict[str, Any]:
    return {
        "period": period_out(m, base),
        "equity_curve": [{"date": p.day, "equity": round(p.equity, 2), "pnl": round(p.pnl, 2),
                          "trades": p.trades, "drawdown": round(p.drawdown, 2),
                          "drawdown_pct": round(p.drawdown_pct, 4)} for p in m.curve],
        "daily_pnl": [{"date": p.day, "pnl": round(p.pnl, 2), "trades": p.trades} for p in m.curve],
        "monthly_pnl": [{"month": mo.month, "pnl": round(mo.pnl, 2), "trades": mo.trades, "wins": mo.wins,
                         "return_pct": _ratio(mo.return_pct)} for mo in m.months],
    }


# --- the endpoints' logic ------------------------------------------------------------------------

def summary(scope: Scope) -> dict[str, Any]:
    m, base = metrics_for(scope)
    return summary_out(m, base)


def performance(scope: Scope) -> dict[str, Any]:
    m, base = metrics_for(scope)
    return performance_out(m, base)


def chart(scope: Scope, *, provider_id: str | None = None, symbol: str | None = None) -> dict[str, Any]:
    if provider_id:
        require_provider(scope.user_id, provider_id)
    dim = provider_dim(provider_id) if provider_id else symbol_dim(symbol) if symbol else None
    m, base = metrics_for(scope, dim)
    return chart_out(m, base)


def provider_name(user_id: str, provider_id: str) -> str | None:
    from signalos.signals.data import get_provider

    provider = get_provider(user_id, provider_id)
    return provider.name if provider else None


def require_provider(user_id: str, provider_id: str) -> str | None:
    """The provider's name; NotFound unless it is the caller's or the caller traded it."""
    name = provider_name(user_id, provider_id)
    if name is None and data.read_total(user_id, provider_dim(provider_id)) is None:
        raise NotFound("Provider not found", code="PROVIDER_NOT_FOUND")
    return name


def _provider_block(scope: Scope, base: Base, provider_id: str, name: str | None,
                    full: bool) -> dict[str, Any]:
    items = data.read_day_items(scope.user_id, provider_dim(provider_id), base.start, base.end)
    days = [day_from_item(i) for i in items]
    m = compute_metrics(days, base.starting_equity, start=base.start, end=base.end)
    shaped = performance_out(m, base) if full else summary_out(m, base)
    return {"provider_id": provider_id, "name": name, "metrics": shaped,
            "signals": signal_stats.summarize(items)}


def providers(scope: Scope) -> dict[str, Any]:
    base = base_of(scope)
    totals = data.read_totals(scope.user_id, "P#")
    ids = [str(t["dim"]).removeprefix("P#") for t in totals]
    # One key query per provider, run side by side (boto3 clients are thread safe).
    with ThreadPoolExecutor(max_workers=min(8, max(1, len(ids)))) as pool:
        names = list(pool.map(lambda pid: provider_name(scope.user_id, pid), ids))
        blocks = list(pool.map(lambda args: _provider_block(scope, base, args[0], args[1], False),
                               zip(ids, names, strict=True)))
    blocks.sort(key=lambda b: (-b["metrics"]["total_pnl"], b["provider_id"]))
    return {"items": blocks, "next_cursor": None}


def provider(scope: Scope, provider_id: str) -> dict[str, Any]:
    name = require_provider(scope.user_id, provider_id)
    return _provider_block(scope, base_of(scope), provider_id, name, True)


def symbol(scope: Scope, symbol_name: str) -> dict[str, Any]:
    m, base = metrics_for(scope, symbol_dim(symbol_name))
    return {"symbol": symbol_name.upper(), "metrics": performance_out(m, base)}
