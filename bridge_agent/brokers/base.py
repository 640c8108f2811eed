"""The broker interface used by the executor and monitor, its result types, and checks both brokers share.

A broker adapter never decides whether to execute a command (the executor and its journal do);
it executes one request faithfully, applying the retcode policy, and it can always tell what
became of an order it placed (by tag, or by ticket).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_DOWN, Decimal
from typing import Literal, Protocol

from signalos.contracts.execution import CloseReason, SymbolSpec
from signalos.contracts.orders import OpenOrder
from signalos.contracts.parse_result import Side


class BrokerUnavailable(Exception):
    """The terminal (or its trade server) cannot be reached; reconnect, reconcile, then go on."""


class SymbolNotFound(Exception):
    """No broker symbol matches the canonical one."""


# MetaTrader5.TRADE_RETCODE_POSITION_CLOSED (this module does not import the Windows-only package).
TRADE_RETCODE_POSITION_CLOSED = 10036

@dataclass(frozen=True)
class AccountState:
    login: int | None
    currency: str
    balance: float
    equity: float
    margin_free: float
    leverage: int | None
    terminal_connected: bool
    trade_allowed: bool


@dataclass(frozen=True)
class Position:
    ticket: int
    symbol: str
    side: Side
    volume: float
    price_open: float
    stop_loss: float | None
    take_profit: float | None
    profit: float
    swap: float
    comment: str
    price_current: float


@dataclass(frozen=True)
class OpenResult:
    status: Literal["filled", "placed", "rejected", "failed"]
    broker_symbol: str | None = None
    ticket: int | None = None
    deal: int | None = None
    volume: float | None = None
    price: float | None = None
    stop_loss: float | None = None
    take_profit: float | None = None
    retcode: int | None = None
    reason: str | None = None
    unknown: bool = False  # the outcome could not be established: reconcile before anything else


@dataclass(frozen=True)
class ManageResult:
    status: Literal["modified", "partially_closed", "closed", "cancelled", "rejected", "failed"]
    ticket: int | None = None
    deal: int | None = None
    volume: float | None = None
    price: float | None = None
    stop_loss: float | None = None
    take_profit: float | None = None
    profit: float | None = None
    commission: float | None = None
    swap: float | None = None
    retcode: int | None = None
    reason: str | None = None

    @classmethod
    def position_gone(cls, ticket: int) -> ManageResult:
        """The command's position was closed (TP, SL, by hand) before the command arrived."""
        return cls(status="rejected", ticket=ticket, retcode=TRADE_RETCODE_POSITION_CLOSED,
                   reason="the position is no longer open")


@dataclass(frozen=True)
class Found:
    """An order found on the terminal by its tag (after a crash or an unknown outcome)."""

    state: Literal["pending", "open", "closed", "cancelled", "expired"]
    ticket: int
    broker_symbol: str
    side: Side
    volume: float
    price: float
    stop_loss: float | None = None
    take_profit: float | None = None
    deal: int | None = None

    def as_open_result(self, reason: str) -> OpenResult:
        """What the order's execution turned out to be, as if order_send had answered."""
        status = "placed" if self.state in ("pending", "cancelled", "expired") else "filled"
        return OpenResult(
            status=status,
            broker_symbol=self.broker_symbol,
            ticket=self.ticket,
            deal=self.deal,
            volume=self.volume,
            price=self.price,
            stop_loss=self.stop_loss,
            take_profit=self.take_profit,
            reason=reason,
        )


@dataclass(frozen=True)
class CloseInfo:
    price: float
    volume: float
    profit: float
    commission: float
    swap: float
    reason: CloseReason
    deal: int | None
    time: datetime | None


@dataclass(frozen=True)
class TicketState:
    """What became of a tracked ticket (a pending order or a position)."""

    state: Literal["pending", "open", "closed", "cancelled", "expired", "missing"]
    position: Position | None = None
    fill_price: float | None = None  # when a pending order became a position
    fill_volume: float | None = None
    fill_deal: int | None = None
    close: CloseInfo | None = None


class BrokerAdapter(Protocol):
    name: str

    def connect(self) -> None: ...

    def disconnect(self) -> None: ...

    def account(self) -> AccountState: ...

    def positions(self) -> list[Position]: ...

    def resolve_symbol(self, canonical: str, broker_symbol: str | None = None, suffix: str = "") -> str: ...

    def symbol_spec(self, canonical: str, broker_symbol: str) -> SymbolSpec: ...

    def quote(self, broker_symbol: str) -> tuple[float, float]: ...

    def execute_open(self, order: OpenOrder) -> OpenResult: ...

    def find_by_tag(self, tag: str, broker_symbol: str | None = None) -> Found | None: ...

    def track(self, ticket: int, pending: bool) -> TicketState: ...

    def modify(
        self, ticket: int, stop_loss: float | None, take_profit: float | None, tag: str
    ) -> ManageResult: ...

    def close(self, ticket: int, volume: float | None, tag: str) -> ManageResult: ...

    def cancel(self, ticket: int, tag: str) -> ManageResult: ...

    def breakeven(self, ticket: int, tag: str) -> ManageResult: ...

    def find_close(self, ticket: int, tag: str) -> ManageResult | None: ...


# ---- pure checks shared by the brokers ----------------------------------------------------------
def round_volume_down(volume: float, step: float, vmin: float, vmax: float) -> float | None:
    """Volume rounded DOWN to the step and capped at the max; None when below the minimum.

    Down, never up: rounding up would risk more than the subscriber's rules allowed.
    """
    d_step = Decimal(repr(step))
    steps = (Decimal(repr(volume)) / d_step).to_integral_value(rounding=ROUND_DOWN)
    # Tolerate float noise such as 0.30000000000000004 / 0.01.
    if (Decimal(repr(volume)) - steps * d_step) / d_step > Decimal("0.999999"):
        steps += 1
    rounded = float(steps * d_step)
    rounded = min(
        rounded, float((Decimal(repr(vmax)) / d_step).to_integral_value(rounding=ROUND_DOWN) * d_step)
    )
    if rounded < vmin - 1e-12 or rounded <= 0:
        return None
    return rounded


def round_price(price: float | None, digits: int) -> float | None:
    if price is None:
        return None
    return round(price, digits)


def stops_problem(
    side: Side, reference: float, stop_loss: float | None, take_profit: float | None, min_distance: float
) -> str | None:
    """Why SL/TP are invalid relative to the reference price (None when fine).

    Buy: SL below and TP above the reference by at least the stops level; sell: the reverse.
    """
    eps = 1e-9
    if side == "buy":
        if stop_loss is not None and stop_loss > reference - min_distance + eps:
            return f"stop loss {stop_loss} must be below {reference} by at least {min_distance:g}"
        if take_profit is not None and take_profit < reference + min_distance - eps:
            return f"take profit {take_profit} must be above {reference} by at least {min_distance:g}"
    else:
        if stop_loss is not None and stop_loss < reference + min_distance - eps:
            return f"stop loss {stop_loss} must be above {reference} by at least {min_distance:g}"
        if take_profit is not None and take_profit > reference - min_distance + eps:
            return f"take profit {take_profit} must be below {reference} by at least {min_distance:g}"
    return None


def spread_points(bid: float, ask: float, point: float) -> float:
    return round((ask - bid) / point, 1) if point > 0 and not math.isclose(point, 0) else 0.0
