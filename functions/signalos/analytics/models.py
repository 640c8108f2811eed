"""Response and request models of the analytics API (fields listed explicitly).

Money is in the account currency, rounded to cents; percentages are percent (12.5 = 12.5 %);
ratios are rounded to 4 places. A metric that is undefined for the data (e.g. profit factor
without a losing trade) is null, never infinity. Definitions: signalos.analytics.metrics.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

ID_PATTERN = r"^[A-Za-z0-9_\-]{1,64}$"
EquitySource = Literal["request", "heartbeat", "default"]


class PeriodOut(BaseModel):
    start: date | None = Field(description="first day of the period (UTC)")
    end: date | None = Field(description="last day of the period (UTC)")
    days: int = Field(description="days in the return series (Mon-Fri plus weekend days with closes)")
    starting_equity: float
    starting_equity_source: EquitySource = Field(
        description="request: you gave it; heartbeat: latest reported balance minus PnL realised since "
                    "the period start; default: neither was available")
    ending_equity: float


class SummaryOut(BaseModel):
    """The headline numbers (field names as in the product documents)."""

    total_trades: int
    winning_trades: int
    losing_trades: int
    breakeven_trades: int
    win_rate: float | None = Field(description="% of trades with net PnL > 0")
    total_pnl: float = Field(description="sum of net PnL (profit + commission + swap)")
    total_pnl_percentage: float | None = Field(description="total PnL / starting equity * 100")
    profit_factor: float | None = Field(description="gross profit / |gross loss|; null without a loss")
    max_drawdown: float = Field(description="deepest peak-to-trough fall of end-of-day equity, %")
    max_drawdown_amount: float
    sharpe_ratio: float | None
    sortino_ratio: float | None
    calmar_ratio: float | None
    expectancy: float | None = Field(description="average net PnL per trade")
    average_latency_ms: float | None = Field(description="signal posted -> position filled, average")
    period: PeriodOut


class DrawdownOut(BaseModel):
    amount: float
    percent: float
    peak_date: date | None
    peak_equity: float
    trough_date: date
    trough_equity: float
    recovery_date: date | None


class DayOut(BaseModel):
    date: date
    pnl: float
    trades: int


class PerformanceOut(SummaryOut):
    """Everything: the summary plus averages, costs, annualised return and the worst drawdown."""

    gross_profit: float
    gross_loss: float
    average_win: float | None
    average_loss: float | None
    average_hold_seconds: float | None
    annualised_return_pct: float | None
    total_volume: float
    total_pips: float
    commission: float
    swap: float
    worst_drawdown: DrawdownOut | None
    best_day: DayOut | None
    worst_day: DayOut | None
    definitions: dict[str, str]


class SignalStatsOut(BaseModel):
    signals_planned: int = Field(description="distinct signals that reached your accounts")
    signals_traded: int = Field(description="of those, signals with at least one filled order")
    signals_not_traded: int
    rejected_setups: int = Field(description="setups the risk rules refused for a subscription")
    orders: dict[str, int] = Field(description="order legs by outcome: filled, closed, rejected, ...")
    rejection_reasons: dict[str, int] = Field(description="reason code -> count, most frequent first")


class ProviderOut(BaseModel):
    provider_id: str
    name: str | None
    metrics: SummaryOut
    signals: SignalStatsOut


class ProviderListOut(BaseModel):
    items: list[ProviderOut]
    next_cursor: str | None = None


class ProviderDetailOut(BaseModel):
    provider_id: str
    name: str | None
    metrics: PerformanceOut
    signals: SignalStatsOut


class SymbolOut(BaseModel):
    symbol: str
    metrics: PerformanceOut


class EquityPointOut(BaseModel):
    date: date
    equity: float
    pnl: float
    trades: int
    drawdown: float
    drawdown_pct: float


class MonthOut(BaseModel):
    month: str = Field(description="YYYY-MM")
    pnl: float
    trades: int
    wins: int
    return_pct: float | None = Field(description="month PnL / equity at the start of the month * 100")


class ChartOut(BaseModel):
    period: PeriodOut
    equity_curve: list[EquityPointOut]
    daily_pnl: list[DayOut]
    monthly_pnl: list[MonthOut]


class ReportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: date | None = None
    end: date | None = None
    account_id: str | None = Field(default=None, pattern=ID_PATTERN)
    starting_equity: float | None = Field(default=None, gt=0, le=1e12)
    title: str | None = Field(default=None, max_length=120)

    @model_validator(mode="after")
    def _ordered(self) -> ReportIn:
        if self.start and self.end and self.start > self.end:
            raise ValueError("start must be on or before end")
        return self


class ReportOut(BaseModel):
    report_id: str
    url: str = Field(description="presigned GET URL of the PDF")
    url_expires_at: str
    created_at: str
    period_start: date | None
    period_end: date | None
    pages: int
    size_bytes: int
    trades: int
