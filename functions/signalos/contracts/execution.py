"""What the bridge agent reports back: execution reports and heartbeats.

`ExecutionReport` is POSTed to /api/v1/bridge/reports; the API applies it to the order and
trade records idempotently by `report_id` (the same event reported twice changes nothing).
`Heartbeat` is POSTed to /api/v1/bridge/heartbeat; the risk engine sizes from its balance and
symbol specs.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from signalos.contracts.parse_result import Side

ReportStatus = Literal[
    "placed",  # pending (limit/stop) order accepted by the broker
    "filled",  # position opened (market fill, or a pending order triggered)
    "rejected",  # broker or bridge refused; `reason` and `retcode` say why; never retried as is
    "expired",  # the command arrived after expires_at (or a pending order expired)
    "modified",  # SL/TP changed
    "partially_closed",
    "closed",  # position closed: TP, SL, manual, or by command; carries profit
    "cancelled",  # pending order removed
    "failed",  # could not be executed for a transient reason the bridge gave up on
]
CloseReason = Literal["tp", "sl", "manual", "command", "breakeven", "stop_out", "unknown"]


class ExecutionReport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    report_id: str = Field(
        min_length=1, max_length=128, description="deterministic per event, e.g. '<command_id>:filled'"
    )
    account_id: str
    command_id: str
    order_id: str = Field(description="the OpenOrder this is about")
    status: ReportStatus
    reason: str | None = Field(default=None, max_length=500)
    retcode: int | None = None
    broker_symbol: str | None = None
    side: Side | None = None
    ticket: int | None = Field(default=None, description="MT5 position ticket (or order ticket when pending)")
    deal: int | None = None
    volume: float | None = Field(default=None, ge=0)
    price: float | None = Field(default=None, description="fill price, or close price for closes")
    stop_loss: float | None = None
    take_profit: float | None = None
    profit: float | None = None
    commission: float | None = None
    swap: float | None = None
    close_reason: CloseReason | None = None
    executed_at: datetime


class PositionSnapshot(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ticket: int
    symbol: str
    side: Side
    volume: float
    price_open: float
    stop_loss: float | None = None
    take_profit: float | None = None
    profit: float = 0.0
    order_id: str | None = Field(default=None, description="SignalOS order id when the tag matches one")


class SymbolSpec(BaseModel):
    """Broker facts for sizing and validation (MT5 symbol_info fields of the same names)."""

    model_config = ConfigDict(extra="ignore")

    symbol: str = Field(description="canonical symbol")
    broker_symbol: str
    digits: int = Field(ge=0, le=10)
    point: float = Field(gt=0)
    volume_min: float = Field(gt=0)
    volume_max: float = Field(gt=0)
    volume_step: float = Field(gt=0)
    trade_tick_value: float = Field(gt=0, description="account-currency value of one tick per 1 lot")
    trade_tick_size: float = Field(gt=0)
    trade_contract_size: float = Field(gt=0)
    trade_stops_level: int = Field(default=0, ge=0, description="min SL/TP distance from price, in points")
    trade_freeze_level: int = Field(default=0, ge=0)
    trade_mode: int = Field(default=4, ge=0, le=4, description="0 disabled ... 4 full")
    spread: int | None = Field(default=None, description="current spread in points")
    filling_mode: int = Field(default=0, ge=0, description="bit mask: 1 FOK, 2 IOC")
    currency_profit: str | None = None
    bid: float | None = None
    ask: float | None = None


class Heartbeat(BaseModel):
    model_config = ConfigDict(extra="forbid")

    account_id: str
    sent_at: datetime
    agent_version: str = "unknown"
    broker: Literal["mt5", "paper"] = "mt5"
    login: int | None = None
    currency: str = "USD"
    balance: float
    equity: float
    margin_free: float
    leverage: int | None = None
    terminal_connected: bool = True
    trade_allowed: bool = True
    positions: list[PositionSnapshot] = Field(default_factory=list, max_length=1000)
    symbols: list[SymbolSpec] = Field(default_factory=list, max_length=500)
