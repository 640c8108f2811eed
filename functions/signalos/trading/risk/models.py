"""The risk engine's inputs and outputs (pydantic, so TRADING can store and validate them).

Inputs: `SubscriptionRules` (the user's settings for one subscription), `AccountState` (from the
bridge's last heartbeat plus orders not yet reported), `MarketQuote`, `DailyCounters`.
Outputs: `RiskDecision` with one `LegPlan` per order to place; `ManagePlan` for management updates.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from signalos.contracts.execution import Heartbeat
from signalos.contracts.orders import ManageAction, ManageCommand, TradeManagement
from signalos.contracts.parse_result import OrderType, Side
from signalos.trading.risk.sessions import parse_session

SizingMode = Literal["fixed_lot", "risk_percent"]
TpSplit = Literal["equal", "first_only"] | list[float]


class SubscriptionRules(BaseModel):
    """How one subscription turns a provider's setup into orders on one account."""

    model_config = ConfigDict(extra="forbid")

    # --- sizing ---------------------------------------------------------------------------
    sizing_mode: SizingMode = Field(
        default="fixed_lot", description="fixed_lot: `fixed_lot` lots per signal; risk_percent: size from SL"
    )
    risk_percent: float = Field(default=2.0, gt=0, le=100, description="% of balance risked per signal")
    fixed_lot: float = Field(default=0.01, gt=0, description="total lots per signal (split across TPs)")
    max_lot_per_order: float | None = Field(default=None, gt=0, description="cap on each order (leg)")
    max_total_lots: float | None = Field(default=None, gt=0, description="cap on open lots on the account")
    # Refuse rather than over-risk: if even volume_min risks more than this many times the budget.
    max_overrisk_factor: float = Field(default=1.5, ge=1.0, le=10.0)

    # --- caps -----------------------------------------------------------------------------
    max_open_trades: int | None = Field(default=None, ge=1, description="open positions + pending orders")
    max_daily_trades: int = Field(default=50, ge=1, description="orders (legs) opened per UTC day")
    max_daily_loss_percent: float | None = Field(default=None, gt=0, le=100)
    max_daily_loss_amount: float | None = Field(default=None, gt=0, description="account currency")

    # --- market guards --------------------------------------------------------------------
    max_spread_points: float | None = Field(default=None, ge=0)
    signal_max_age_seconds: int | None = Field(default=300, ge=1, description="None: no age limit")
    max_price_distance_pips: float | None = Field(
        default=None, gt=0, description="market orders: max distance of price from the entry"
    )
    min_confidence: float = Field(default=0.8, ge=0.0, le=1.0)

    # --- targets and management -----------------------------------------------------------
    tp_split: TpSplit = Field(default="equal", description="'equal', 'first_only' or weights per used TP")
    use_tps: list[int] | None = Field(default=None, description="1-based TP indexes to trade; None: all")
    breakeven_after_tp1: bool = False
    trailing_stop_pips: float | None = Field(default=None, gt=0)

    # --- symbols and sessions -------------------------------------------------------------
    symbol_map: dict[str, str] = Field(default_factory=dict, description="canonical -> broker symbol")
    symbol_suffix: str = Field(default="", max_length=16)
    allowed_symbols: list[str] = Field(default_factory=list, description="canonical; empty: all")
    allowed_sessions: list[str] = Field(default_factory=list, description="UTC windows; empty: always")

    # --- orders ---------------------------------------------------------------------------
    order_expiry_seconds: int = Field(default=120, ge=5, le=86_400, description="market orders")
    pending_expiry_seconds: int = Field(default=86_400, ge=60, le=30 * 86_400, description="limit/stop")
    default_sl_pips: float | None = Field(default=None, gt=0, description="SL when the signal has none")
    require_stop_loss: bool | None = Field(
        default=None, description="None: required for risk_percent sizing, optional for fixed_lot"
    )
    prefer_order_type: Literal["signal", "market", "pending"] = Field(
        default="signal", description="signal: as posted; market: always at market; pending: wait at entry"
    )

    @field_validator("symbol_map")
    @classmethod
    def _upper_map(cls, value: dict[str, str]) -> dict[str, str]:
        for canonical, broker in value.items():
            if not canonical.strip() or not broker.strip():
                raise ValueError("symbol_map keys and values must be non-empty symbols")
        return {k.strip().upper(): v.strip() for k, v in value.items()}

    @field_validator("allowed_symbols")
    @classmethod
    def _upper_symbols(cls, value: list[str]) -> list[str]:
        return [s.strip().upper() for s in value if s.strip()]

    @field_validator("allowed_sessions")
    @classmethod
    def _valid_sessions(cls, value: list[str]) -> list[str]:
        for entry in value:
            parse_session(entry)  # raises ValueError with the reason
        return value

    @field_validator("use_tps")
    @classmethod
    def _valid_use_tps(cls, value: list[int] | None) -> list[int] | None:
        if value is None:
            return None
        if not value:
            raise ValueError("use_tps must name at least one TP (1-based), or be null for all")
        if any(i < 1 for i in value):
            raise ValueError("use_tps indexes are 1-based (TP1 is 1)")
        return sorted(set(value))

    @field_validator("tp_split")
    @classmethod
    def _valid_split(cls, value: TpSplit) -> TpSplit:
        if isinstance(value, list):
            if not value:
                raise ValueError("tp_split weights must not be empty")
            if any(w < 0 for w in value) or sum(value) <= 0:
                raise ValueError("tp_split weights must be >= 0 with a positive sum")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> SubscriptionRules:
        if (
            self.sizing_mode == "risk_percent"
            and self.require_stop_loss is False
            and not self.default_sl_pips
        ):
            raise ValueError(
                "risk_percent sizing needs a stop-loss distance: "
                "keep require_stop_loss or set default_sl_pips"
            )
        if (
            self.max_lot_per_order is not None
            and self.max_total_lots is not None
            and self.max_lot_per_order > self.max_total_lots
        ):
            raise ValueError("max_lot_per_order cannot be larger than max_total_lots")
        return self

    @property
    def stop_loss_required(self) -> bool:
        if self.require_stop_loss is None:
            return self.sizing_mode == "risk_percent"
        return self.require_stop_loss or self.sizing_mode == "risk_percent"


class AccountState(BaseModel):
    """What the engine knows about the account: the last heartbeat plus not-yet-reported orders."""

    model_config = ConfigDict(extra="forbid")

    balance: float = Field(ge=0)
    equity: float | None = None
    margin_free: float | None = None
    currency: str = "USD"
    open_trades: int = Field(default=0, ge=0, description="open positions + pending/queued orders")
    open_lots: float = Field(default=0.0, ge=0)

    @classmethod
    def from_heartbeat(
        cls, hb: Heartbeat, *, queued_trades: int = 0, queued_lots: float = 0.0
    ) -> AccountState:
        """Build from a heartbeat; add orders enqueued since it was sent (the bridge has not seen them)."""
        return cls(
            balance=hb.balance,
            equity=hb.equity,
            margin_free=hb.margin_free,
            currency=hb.currency,
            open_trades=len(hb.positions) + queued_trades,
            open_lots=round(sum(p.volume for p in hb.positions) + queued_lots, 8),
        )


class MarketQuote(BaseModel):
    model_config = ConfigDict(extra="forbid")

    bid: float = Field(gt=0)
    ask: float = Field(gt=0)
    at: datetime | None = None

    @model_validator(mode="after")
    def _ask_not_below_bid(self) -> MarketQuote:
        if self.ask < self.bid:
            raise ValueError("ask must not be below bid")
        return self


class DailyCounters(BaseModel):
    """Today's (UTC) activity on the account, kept by TRADING."""

    model_config = ConfigDict(extra="forbid")

    trades_opened: int = Field(default=0, ge=0, description="orders (legs) enqueued today")
    realized_pnl: float = Field(default=0.0, description="closed profit today, negative for a loss")
    day_start_balance: float | None = Field(default=None, gt=0, description="base for the % loss cap")


class LegPlan(BaseModel):
    model_config = ConfigDict(extra="forbid")

    leg: int = Field(ge=1, description="1-based index of the signal's TP this leg targets (1 when no TP)")
    volume: float = Field(gt=0)
    price: float | None = Field(description="pending: the order price; market: the planned price")
    stop_loss: float | None
    take_profit: float | None
    order_type: OrderType


class RiskDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    accepted: bool
    reason_code: str | None = None
    reason: str | None = Field(default=None, description="'CODE: human text' when rejected")
    symbol: str
    side: Side
    broker_symbol: str | None = None
    symbol_suffix: str = ""
    legs: list[LegPlan] = Field(default_factory=list)
    total_volume: float = 0.0
    entry_price: float | None = Field(default=None, description="price the risk was computed from")
    stop_loss: float | None = None
    risk_budget: float | None = Field(default=None, description="money the rules allow to lose")
    risk_amount: float | None = Field(default=None, description="money lost if every leg hits the SL")
    max_spread_points: float | None = None
    max_price_distance: float | None = Field(default=None, description="price units, for market legs")
    pip_size: float | None = None
    expires_at: datetime | None = None
    management: TradeManagement = Field(default_factory=TradeManagement)
    warnings: list[str] = Field(default_factory=list)


LegState = Literal["queued", "placed", "open", "closed"]


class OpenLegState(BaseModel):
    """One order of an earlier signal as TRADING knows it, for planning management commands."""

    model_config = ConfigDict(extra="forbid")

    order_id: str
    leg: int = Field(default=1, ge=1)
    state: LegState = Field(description="queued: on the queue, no report; placed: pending at the broker")
    order_type: OrderType = "market"
    symbol: str | None = None
    side: Side | None = None
    volume: float | None = None
    entry_price: float | None = None
    stop_loss: float | None = None
    take_profit: float | None = None


class ManagePlan(BaseModel):
    """A ManageCommand without its envelope; TRADING adds ids and times with `to_command`."""

    model_config = ConfigDict(extra="forbid")

    action: ManageAction
    target_order_ids: list[str] = Field(min_length=1)
    stop_loss: float | None = None
    take_profit: float | None = None
    fraction: float | None = None

    def to_command(
        self,
        *,
        command_id: str,
        account_id: str,
        user_id: str,
        created_at: datetime,
        expires_at: datetime,
        signal_id: str | None = None,
        symbol: str | None = None,
    ) -> ManageCommand:
        return ManageCommand(
            command_id=command_id,
            account_id=account_id,
            user_id=user_id,
            created_at=created_at,
            expires_at=expires_at,
            action=self.action,
            target_order_ids=self.target_order_ids,
            signal_id=signal_id,
            symbol=symbol,
            stop_loss=self.stop_loss,
            take_profit=self.take_profit,
            fraction=self.fraction,
        )
