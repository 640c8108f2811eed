"""The order command: what the cloud puts on a trading account's FIFO queue.

Produced by the trading fan-out (signalos.trading) and the trades API, consumed by the bridge
agent (bridge_agent). Every message body on an account queue is one `OrderCommand` as JSON;
`MessageGroupId` is the account id and `MessageDeduplicationId` is `command_id`.

An `OpenOrder` places one position (one leg: a signal with three TPs split three ways becomes
three OpenOrders sharing `signal_id` and `group_id`). A `ManageCommand` acts on positions that
earlier OpenOrders opened, named by their `order_id`s.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from signalos.contracts.parse_result import OrderType, Side

CONTRACT_VERSION = 1
# MT5 `magic` number that marks every order SignalOS places (the bridge filters on it).
SIGNALOS_MAGIC = 770_001

ManageAction = Literal["modify", "close", "close_partial", "cancel", "breakeven"]


class TradeManagement(BaseModel):
    """Rules the bridge applies locally, so they work while the cloud is unreachable."""

    model_config = ConfigDict(extra="forbid")

    breakeven_after_tp1: bool = False
    # Price that counts as "TP1 reached" for this group (the signal's first TP).
    tp1_price: float | None = None
    trailing_stop_pips: float | None = Field(default=None, gt=0)
    pip_size: float | None = Field(default=None, gt=0, description="price units per pip for this symbol")


class _Command(BaseModel):
    model_config = ConfigDict(extra="forbid")

    v: int = CONTRACT_VERSION
    command_id: str = Field(min_length=1, max_length=80, description="unique; the queue dedup id")
    account_id: str = Field(min_length=1, max_length=64)
    user_id: str = Field(min_length=1, max_length=64)
    created_at: datetime
    expires_at: datetime = Field(description="the bridge drops and reports a command it sees after this")

    def is_expired(self, now: datetime | None = None) -> bool:
        return (now or datetime.now(UTC)) >= self.expires_at


class OpenOrder(_Command):
    """Open one position (market) or place one pending order (limit/stop)."""

    type: Literal["open"] = "open"
    order_id: str = Field(min_length=1, max_length=64)
    signal_id: str | None = None
    group_id: str = Field(description="the legs opened from one signal share it")
    leg: int = Field(default=1, ge=1, description="1-based index of this leg among the group's TPs")
    symbol: str = Field(description="canonical symbol, e.g. XAUUSD")
    broker_symbol: str | None = Field(default=None, description="the subscription's mapping, when it has one")
    symbol_suffix: str = Field(default="", description="broker suffix to try, e.g. 'm' or '.pro'")
    side: Side
    order_type: OrderType
    volume: float = Field(gt=0)
    price: float | None = Field(default=None, description="limit/stop price; for market the planned price")
    stop_loss: float | None = None
    take_profit: float | None = None
    max_spread_points: float | None = Field(default=None, ge=0)
    max_price_distance: float | None = Field(
        default=None, ge=0, description="market orders: max |fill price - planned price|, in price units"
    )
    deviation_points: int = Field(default=20, ge=0, le=1000)
    management: TradeManagement = Field(default_factory=TradeManagement)

    @model_validator(mode="after")
    def _pending_needs_price(self) -> OpenOrder:
        if self.order_type != "market" and self.price is None:
            raise ValueError(f"a {self.order_type} order needs a price")
        return self


class ManageCommand(_Command):
    """Change or close positions/pending orders that earlier OpenOrders created."""

    type: Literal["manage"] = "manage"
    action: ManageAction
    target_order_ids: list[str] = Field(min_length=1, description="order_ids of the OpenOrders it acts on")
    signal_id: str | None = None
    symbol: str | None = None
    stop_loss: float | None = Field(default=None, description="new SL for modify")
    take_profit: float | None = Field(default=None, description="new TP for modify")
    fraction: float | None = Field(default=None, gt=0, le=1, description="share of volume for close_partial")

    @model_validator(mode="after")
    def _fields_for_action(self) -> ManageCommand:
        if self.action == "modify" and self.stop_loss is None and self.take_profit is None:
            raise ValueError("modify needs stop_loss or take_profit")
        if self.action == "close_partial" and self.fraction is None:
            raise ValueError("close_partial needs fraction")
        return self


OrderCommand = Annotated[OpenOrder | ManageCommand, Field(discriminator="type")]


class OrderCommandEnvelope(BaseModel):
    """Wrapper used to parse a queue message body of either kind."""

    command: OrderCommand

    @classmethod
    def parse_body(cls, body: str) -> OpenOrder | ManageCommand:
        return cls.model_validate_json('{"command":' + body + "}").command


def order_tag(order_id: str) -> str:
    """Short MT5 comment tag for an order: `sos-` + the last 20 safe chars of the id.

    MT5 comments are documented as 31 chars but terminals reject some shorter ones and some
    characters; ~24 chars of [A-Za-z0-9_-] is the safe envelope (shared/reference/mt5.md).
    """
    safe = "".join(c for c in order_id if c.isalnum() or c in "_-")
    return "sos-" + safe[-20:]
