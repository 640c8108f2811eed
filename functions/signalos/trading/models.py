"""Request and response models of the trading API (subscriptions and trades).

Requests forbid unknown fields (nobody can set `user_id` or another owner); responses list
their fields explicitly.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator, model_validator

from signalos.contracts.parse_result import OrderType, Side
from signalos.trading.risk import SubscriptionRules

ID_PATTERN = r"^[A-Za-z0-9_\-]{1,64}$"


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


# --- subscriptions ---------------------------------------------------------------------------


class SubscriptionIn(_Request):
    provider_id: str = Field(pattern=ID_PATTERN, description="your own provider or a public one")
    account_id: str = Field(pattern=ID_PATTERN, description="one of your trading accounts")
    name: str | None = Field(default=None, max_length=120)
    enabled: bool = True
    rules: SubscriptionRules = Field(default_factory=SubscriptionRules)


class SubscriptionPatch(_Request):
    name: str | None = Field(default=None, max_length=120)
    enabled: bool | None = None
    rules: SubscriptionRules | None = None


class SubscriptionOut(BaseModel):
    subscription_id: str
    provider_id: str
    account_id: str
    name: str | None
    enabled: bool
    rules: SubscriptionRules
    created_at: str
    updated_at: str


class SubscriptionListOut(BaseModel):
    items: list[SubscriptionOut]
    next_cursor: str | None


class DeletedOut(BaseModel):
    deleted: bool = True
    id: str


# --- trades ----------------------------------------------------------------------------------


class TradeOpenIn(_Request):
    """A manual trade. `type` ("BUY"/"SELL") is accepted as an alias of `side`."""

    account_id: str = Field(pattern=ID_PATTERN)
    symbol: str = Field(min_length=1, max_length=32)
    side: Side = Field(validation_alias=AliasChoices("side", "type"))
    order_type: OrderType = "market"
    volume: float = Field(gt=0, le=100)
    price: float | None = Field(
        default=None, gt=0, description="entry for limit/stop; planned price for market"
    )
    sl: float | None = Field(default=None, gt=0, validation_alias=AliasChoices("sl", "stop_loss"))
    tp: list[float] = Field(
        default_factory=list,
        max_length=10,
        validation_alias=AliasChoices("tp", "take_profit", "take_profits"),
    )
    split_volume: bool = Field(
        default=False, description="split `volume` across the TPs (else one order, TP1)"
    )
    client_order_id: str | None = Field(
        default=None, pattern=ID_PATTERN, description="idempotency key: the same id never opens twice"
    )

    @field_validator("side", mode="before")
    @classmethod
    def _lower_side(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    @field_validator("tp", mode="before")
    @classmethod
    def _tp_list(cls, value: Any) -> Any:
        if value is None:
            return []
        return [value] if isinstance(value, int | float) else value

    @model_validator(mode="after")
    def _pending_needs_price(self) -> TradeOpenIn:
        if self.order_type != "market" and self.price is None:
            raise ValueError(f"a {self.order_type} order needs a price")
        return self


class TradeCloseIn(_Request):
    order_id: str | None = Field(default=None, pattern=ID_PATTERN)
    order_ids: list[str] = Field(default_factory=list, max_length=100)
    fraction: float | None = Field(default=None, gt=0, le=1, description="close this share of the volume")

    @model_validator(mode="after")
    def _some_order(self) -> TradeCloseIn:
        if not self.order_id and not self.order_ids:
            raise ValueError("name order_id or order_ids")
        return self

    def ids(self) -> list[str]:
        return list(dict.fromkeys([*([self.order_id] if self.order_id else []), *self.order_ids]))


class TradeModifyIn(_Request):
    order_id: str = Field(pattern=ID_PATTERN)
    stop_loss: float | None = Field(default=None, gt=0, validation_alias=AliasChoices("stop_loss", "sl"))
    take_profit: float | None = Field(default=None, gt=0, validation_alias=AliasChoices("take_profit", "tp"))

    @model_validator(mode="after")
    def _something(self) -> TradeModifyIn:
        if self.stop_loss is None and self.take_profit is None:
            raise ValueError("give stop_loss or take_profit")
        return self


class BulkCloseIn(_Request):
    account_id: str | None = Field(default=None, pattern=ID_PATTERN)
    symbol: str | None = Field(default=None, max_length=32)
    signal_id: str | None = Field(default=None, pattern=ID_PATTERN)


class OrderOut(BaseModel):
    order_id: str
    account_id: str
    subscription_id: str | None = None
    provider_id: str | None = None
    signal_id: str | None = None
    revision: int | None = None
    group_id: str | None = None
    leg: int | None = None
    origin: str | None = None
    symbol: str
    broker_symbol: str | None = None
    side: Side
    order_type: OrderType
    volume: float
    price: float | None = None
    stop_loss: float | None = None
    take_profit: float | None = None
    state: str
    state_reason: str | None = None
    order_expires_at: str | None = None
    signal_time: str | None = None
    received_at: str | None = None
    parsed_at: str | None = None
    created_at: str | None = None
    enqueued_at: str | None = None
    executed_at: str | None = None
    opened_at: str | None = None
    closed_at: str | None = None
    updated_at: str | None = None
    ticket: int | None = None
    entry_price: float | None = None
    filled_volume: float | None = None
    closed_volume: float | None = None
    close_price: float | None = None
    profit: float | None = None
    commission: float | None = None
    swap: float | None = None
    net_profit: float | None = None
    pips: float | None = None
    close_reason: str | None = None
    last_command_error: dict[str, Any] | None = None
    latency_ms: dict[str, float] = Field(default_factory=dict, description="time between stages")


class TradeOpenOut(BaseModel):
    success: bool
    message: str
    group_id: str
    orders: list[OrderOut]
    warnings: list[str]


class CommandsOut(BaseModel):
    success: bool
    command_ids: list[str]
    order_ids: list[str]
    skipped: list[dict[str, str]] = Field(default_factory=list, description="orders not acted on, and why")


class OrderListOut(BaseModel):
    items: list[OrderOut]
    next_cursor: str | None


class RejectionOut(BaseModel):
    rejection_id: str
    account_id: str | None = None
    subscription_id: str | None = None
    provider_id: str | None = None
    signal_id: str | None = None
    origin: str | None = None
    symbol: str | None = None
    side: str | None = None
    reason_code: str
    reason: str
    warnings: list[str] = Field(default_factory=list)
    signal_time: str | None = None
    created_at: str


class RejectionListOut(BaseModel):
    items: list[RejectionOut]
    next_cursor: str | None


class PositionOut(BaseModel):
    ticket: int
    symbol: str
    side: Side
    volume: float
    price_open: float
    stop_loss: float | None
    take_profit: float | None
    profit: float
    order_id: str | None


class AccountStatusOut(BaseModel):
    account_id: str
    name: str
    kind: str
    status: str
    heartbeat: bool = Field(description="false until the bridge has reported once")
    sent_at: str | None = None
    received_at: str | None = None
    age_seconds: float | None = None
    currency: str | None = None
    balance: float | None = None
    equity: float | None = None
    margin_free: float | None = None
    leverage: int | None = None
    terminal_connected: bool | None = None
    trade_allowed: bool | None = None
    agent_version: str | None = None
    broker: str | None = None
    positions: list[PositionOut] = Field(default_factory=list)
    trades_today: int = 0
    realised_today: float = 0.0


class SymbolSpecOut(BaseModel):
    account_id: str
    symbol: str
    broker_symbol: str
    digits: int
    point: float
    volume_min: float
    volume_max: float
    volume_step: float
    trade_tick_value: float
    trade_tick_size: float
    trade_contract_size: float
    trade_stops_level: int
    trade_freeze_level: int
    trade_mode: int
    spread: int | None
    filling_mode: int
    currency_profit: str | None
    bid: float | None
    ask: float | None


TradeStatus = Literal[
    "pending",
    "sent",
    "placed",
    "filled",
    "partially_closed",
    "closed",
    "rejected",
    "expired",
    "cancelled",
    "failed",
]
