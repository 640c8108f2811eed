"""Paper broker: the broker interface over simulated fills, for demos and the local stack.

Prices come from a deterministic random walk per symbol (seeded by the config seed and the
symbol name, one step per `step_seconds`), or from fixed prices (config `prices`, or
`set_price` in tests). Fills pay a configurable spread, slippage (adverse, in points) and
commission per lot (charged on entry and on exit, like MT5 deals). Pending orders trigger and
SL/TP hit when the walk crosses them (every step in between is checked, not just the latest
price). Profit is in account currency: price move / tick size * tick value * lots, with the
tick value derived from the contract size.
"""

from __future__ import annotations

import json
import os
import random
import threading
import zlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from signalos.contracts.execution import CloseReason, SymbolSpec
from signalos.contracts.orders import OpenOrder, order_tag

from bridge_agent.brokers.base import (
    AccountState,
    CloseInfo,
    Found,
    ManageResult,
    OpenResult,
    Position,
    SymbolNotFound,
    TicketState,
    round_price,
    round_volume_down,
    stops_problem,
)
from bridge_agent.config import PaperSettings


@dataclass(frozen=True)
class PaperSymbol:
    digits: int
    contract_size: float
    start: float
    quote_currency: str = "USD"
    base_currency: str = ""
    volume_min: float = 0.01
    volume_max: float = 100.0
    volume_step: float = 0.01

    @property
    def point(self) -> float:
        return 10.0**-self.digits


# Typical retail specs. The start prices only seed the walks; configure `start_prices`/`prices`.
DEFAULT_SYMBOLS: dict[str, PaperSymbol] = {
    "XAUUSD": PaperSymbol(2, 100, 1950.0, base_currency="XAU"),
    "XAGUSD": PaperSymbol(3, 5000, 24.0, base_currency="XAG"),
    "EURUSD": PaperSymbol(5, 100_000, 1.085, base_currency="EUR"),
    "GBPUSD": PaperSymbol(5, 100_000, 1.27, base_currency="GBP"),
    "AUDUSD": PaperSymbol(5, 100_000, 0.66, base_currency="AUD"),
    "NZDUSD": PaperSymbol(5, 100_000, 0.61, base_currency="NZD"),
    "USDJPY": PaperSymbol(3, 100_000, 150.0, quote_currency="JPY", base_currency="USD"),
    "USDCHF": PaperSymbol(5, 100_000, 0.88, quote_currency="CHF", base_currency="USD"),
    "USDCAD": PaperSymbol(5, 100_000, 1.36, quote_currency="CAD", base_currency="USD"),
    "EURJPY": PaperSymbol(3, 100_000, 162.0, quote_currency="JPY", base_currency="EUR"),
    "GBPJPY": PaperSymbol(3, 100_000, 190.0, quote_currency="JPY", base_currency="GBP"),
    "BTCUSD": PaperSymbol(2, 1, 65_000.0, base_currency="BTC"),
    "ETHUSD": PaperSymbol(2, 1, 3_500.0, base_currency="ETH"),
    "US30": PaperSymbol(2, 1, 39_000.0, volume_min=0.1, volume_step=0.1),
    "NAS100": PaperSymbol(2, 1, 18_000.0, volume_min=0.1, volume_step=0.1),
    "SPX500": PaperSymbol(2, 1, 5_200.0, volume_min=0.1, volume_step=0.1),
    "GER40": PaperSymbol(2, 1, 18_500.0, quote_currency="EUR", volume_min=0.1, volume_step=0.1),
    "USOIL": PaperSymbol(2, 1000, 78.0),
}


class PriceFeed:
    """Mid prices: fixed where set, else a seeded random walk that depends only on (seed, symbol, time)."""

    def __init__(
        self,
        symbols: dict[str, PaperSymbol],
        *,
        seed: int,
        volatility_points: float,
        start_prices: dict[str, float] | None = None,
        fixed_prices: dict[str, float] | None = None,
        origin: float = 0.0,
        step_seconds: float = 1.0,
    ) -> None:
        self.symbols = symbols
        self.seed = seed
        self.volatility_points = volatility_points
        self.start_prices = dict(start_prices or {})
        self.fixed = dict(fixed_prices or {})
        self.origin = origin
        self.step_seconds = step_seconds
        self._walks: dict[str, tuple[int, float, random.Random]] = {}

    def step_at(self, t: float) -> int:
        return max(0, int((t - self.origin) // self.step_seconds))

    def mid_at_step(self, symbol: str, step: int) -> float:
        if symbol in self.fixed:
            return self.fixed[symbol]
        spec = self.symbols[symbol]
        current = self._walks.get(symbol)
        if current is None or current[0] > step:  # walks only go forward: replay from the start
            rng = random.Random(self.seed * 1_000_003 + zlib.crc32(symbol.encode()))
            current = (0, self.start_prices.get(symbol, spec.start), rng)
        index, price, rng = current
        sigma = self.volatility_points * spec.point
        while index < step:
            price = max(price + rng.gauss(0.0, sigma), spec.point * 10)
            index += 1
        self._walks[symbol] = (index, price, rng)
        return round(price, spec.digits)

    def set_price(self, symbol: str, mid: float) -> None:
        self.fixed[symbol] = mid


@dataclass
class _PaperPosition:
    ticket: int
    symbol: str
    side: str
    volume: float
    price_open: float
    stop_loss: float | None
    take_profit: float | None
    comment: str
    opened_at: float
    deal: int
    commission: float = 0.0
    swap: float = 0.0
    realized: float = 0.0  # profit of partial closes so far


@dataclass
class _PaperOrder:
    ticket: int
    symbol: str
    side: str
    kind: str  # limit | stop
    volume: float
    price: float
    stop_loss: float | None
    take_profit: float | None
    comment: str
    placed_at: float


@dataclass
class _History:
    """What remains of a closed position or a retired pending order (for track and find_by_tag)."""

    ticket: int
    state: str  # closed | cancelled | expired
    symbol: str
    side: str
    volume: float
    price_open: float
    comment: str
    stop_loss: float | None = None
    take_profit: float | None = None
    entry_deal: int | None = None
    close: dict[str, Any] | None = None
    filled: bool = False


@dataclass
class _State:
    balance: float
    next_ticket: int = 1_000_001
    positions: dict[int, _PaperPosition] = field(default_factory=dict)
    orders: dict[int, _PaperOrder] = field(default_factory=dict)
    history: dict[int, _History] = field(default_factory=dict)
    closes: list[dict[str, Any]] = field(default_factory=list)  # every closing deal, with its comment tag
    processed_step: int = 0


class PaperBroker:
    name = "paper"

    def __init__(
        self,
        settings: PaperSettings | None = None,
        *,
        symbols: dict[str, PaperSymbol] | None = None,
        symbol_map: dict[str, str] | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.settings = settings or PaperSettings()
        self.symbols = dict(symbols or DEFAULT_SYMBOLS)
        self.symbol_map = dict(symbol_map or {})
        self._clock = clock or (lambda: datetime.now(UTC).timestamp())
        self._lock = threading.RLock()
        self.feed = PriceFeed(
            self.symbols,
            seed=self.settings.seed,
            volatility_points=self.settings.volatility_points,
            start_prices=self.settings.start_prices,
            fixed_prices=self.settings.prices,
            origin=self._clock(),
        )
        self.state = _State(balance=self.settings.balance)
        self._state_path = Path(self.settings.state_path) if self.settings.state_path else None
        self.sends = 0

    # ---- persistence (so a restarted demo agent finds its positions) --------------------------------
    def _save(self) -> None:
        if self._state_path is None:
            return
        data = {
            "balance": self.state.balance,
            "next_ticket": self.state.next_ticket,
            "positions": [asdict(p) for p in self.state.positions.values()],
            "orders": [asdict(o) for o in self.state.orders.values()],
            "history": [asdict(h) for h in self.state.history.values()],
            "closes": self.state.closes,
            "fixed": self.feed.fixed,
        }
        self._state_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data), encoding="utf-8")
        os.replace(tmp, self._state_path)

    def _load(self) -> None:
        if self._state_path is None or not self._state_path.exists():
            return
        data = json.loads(self._state_path.read_text(encoding="utf-8"))
        self.state = _State(
            balance=data["balance"],
            next_ticket=data["next_ticket"],
            positions={p["ticket"]: _PaperPosition(**p) for p in data["positions"]},
            orders={o["ticket"]: _PaperOrder(**o) for o in data["orders"]},
            history={h["ticket"]: _History(**h) for h in data["history"]},
            closes=data.get("closes", []),
            processed_step=self.feed.step_at(self._clock()),
        )
        self.feed.fixed.update(data.get("fixed", {}))

    # ---- connection and account -------------------------------------------------------------------
    def connect(self) -> None:
        with self._lock:
            self._load()

    def disconnect(self) -> None:
        with self._lock:
            self._save()

    def _ticket(self) -> int:
        self.state.next_ticket += 1
        return self.state.next_ticket

    def _spec(self, symbol: str) -> PaperSymbol:
        try:
            return self.symbols[symbol]
        except KeyError:
            raise SymbolNotFound(f"symbol {symbol} is not offered by the paper broker") from None

    def tick_value(self, symbol: str, price: float | None = None) -> float:
        """Account-currency value of one point per lot."""
        spec = self._spec(symbol)
        value = spec.point * spec.contract_size
        if spec.quote_currency != self.settings.currency and spec.base_currency == self.settings.currency:
            value /= price or self.feed.mid_at_step(symbol, self.feed.step_at(self._clock()))
        return value

    def _quote_at(self, symbol: str, step: int) -> tuple[float, float]:
        spec = self._spec(symbol)
        mid = self.feed.mid_at_step(symbol, step)
        half = self.settings.spread_points * spec.point / 2
        return round(mid - half, spec.digits), round(mid + half, spec.digits)

    def quote(self, broker_symbol: str) -> tuple[float, float]:
        with self._lock:
            self._advance()
            return self._quote_at(broker_symbol, self.feed.step_at(self._clock()))

    def set_price(self, symbol: str, mid: float) -> None:
        """Fix a symbol's mid price (tests, demos) and let orders react to it."""
        with self._lock:
            self.feed.set_price(symbol, mid)
            self._advance(force_latest=True)

    def _profit(self, pos: _PaperPosition | _History, price: float, volume: float) -> float:
        direction = 1 if pos.side == "buy" else -1
        spec = self._spec(pos.symbol)
        points = (price - pos.price_open) * direction / spec.point
        return round(points * self.tick_value(pos.symbol, price) * volume, 2)

    def account(self) -> AccountState:
        with self._lock:
            self._advance()
            floating = sum(self._floating(p) for p in self.state.positions.values())
            equity = round(self.state.balance + floating, 2)
            margin = sum(
                self._spec(p.symbol).contract_size * p.volume * p.price_open / self.settings.leverage
                for p in self.state.positions.values()
            )
            return AccountState(
                login=None,
                currency=self.settings.currency,
                balance=round(self.state.balance, 2),
                equity=equity,
                margin_free=round(equity - margin, 2),
                leverage=self.settings.leverage,
                terminal_connected=True,
                trade_allowed=True,
            )

    def _floating(self, p: _PaperPosition) -> float:
        bid, ask = self._quote_at(p.symbol, self.feed.step_at(self._clock()))
        return self._profit(p, bid if p.side == "buy" else ask, p.volume) + p.swap

    def _as_position(self, p: _PaperPosition) -> Position:
        bid, ask = self._quote_at(p.symbol, self.feed.step_at(self._clock()))
        current = bid if p.side == "buy" else ask
        return Position(
            ticket=p.ticket,
            symbol=p.symbol,
            side=p.side,  # type: ignore[arg-type]
            volume=p.volume,
            price_open=p.price_open,
            stop_loss=p.stop_loss,
            take_profit=p.take_profit,
            profit=self._profit(p, current, p.volume),
            swap=p.swap,
            comment=p.comment,
            price_current=current,
        )

    def positions(self) -> list[Position]:
        with self._lock:
            self._advance()
            return [self._as_position(p) for p in self.state.positions.values()]

    # ---- symbols ----------------------------------------------------------------------------------
    def resolve_symbol(self, canonical: str, broker_symbol: str | None = None, suffix: str = "") -> str:
        for name in (broker_symbol, self.symbol_map.get(canonical), canonical):
            if name and name in self.symbols:
                return name
        raise SymbolNotFound(f"symbol {canonical} is not offered by the paper broker")

    def symbol_spec(self, canonical: str, broker_symbol: str) -> SymbolSpec:
        spec = self._spec(broker_symbol)
        bid, ask = self.quote(broker_symbol)
        return SymbolSpec(
            symbol=canonical,
            broker_symbol=broker_symbol,
            digits=spec.digits,
            point=spec.point,
            volume_min=spec.volume_min,
            volume_max=spec.volume_max,
            volume_step=spec.volume_step,
            trade_tick_value=round(self.tick_value(broker_symbol, (bid + ask) / 2), 8),
            trade_tick_size=spec.point,
            trade_contract_size=spec.contract_size,
            trade_stops_level=0,
            trade_mode=4,
            spread=round((ask - bid) / spec.point),
            filling_mode=3,
            currency_profit=spec.quote_currency,
            bid=bid,
            ask=ask,
        )

    # ---- market simulation ------------------------------------------------------------------------
    def _advance(self, force_latest: bool = False) -> None:
        """Walk every step since the last one processed, triggering pendings and SL/TP on the way."""
        target = self.feed.step_at(self._clock())
        # After a long idle spell only the last stretch is checked (bounded work per call).
        steps = list(range(max(self.state.processed_step + 1, target - 10_000), target + 1))
        if force_latest and (not steps or steps[-1] != target):  # a fixed price moved within this step
            steps.append(target)
        symbols = {o.symbol for o in self.state.orders.values()} | {
            p.symbol for p in self.state.positions.values()
        }
        changed = False
        for step in steps:
            for symbol in sorted(symbols):
                changed |= self._process(symbol, step)
        self.state.processed_step = max(self.state.processed_step, target)
        if changed:
            self._save()

    def _process(self, symbol: str, step: int) -> bool:
        bid, ask = self._quote_at(symbol, step)
        when = self.feed.origin + step * self.feed.step_seconds
        changed = False
        for order in [o for o in self.state.orders.values() if o.symbol == symbol]:
            market = ask if order.side == "buy" else bid
            hit = {
                ("buy", "limit"): ask <= order.price,
                ("sell", "limit"): bid >= order.price,
                ("buy", "stop"): ask >= order.price,
                ("sell", "stop"): bid <= order.price,
            }[(order.side, order.kind)]
            if hit:
                del self.state.orders[order.ticket]
                price = order.price if order.kind == "limit" else self._slipped(symbol, order.side, market)
                self._open_position(
                    order.ticket,
                    symbol,
                    order.side,
                    order.volume,
                    price,
                    order.stop_loss,
                    order.take_profit,
                    order.comment,
                    when,
                )
                changed = True
        for pos in [p for p in self.state.positions.values() if p.symbol == symbol]:
            price = bid if pos.side == "buy" else ask
            buy = pos.side == "buy"
            if pos.stop_loss is not None and (
                (buy and price <= pos.stop_loss) or (not buy and price >= pos.stop_loss)
            ):
                self._close_position(pos, pos.volume, price, "sl", when)
                changed = True
            elif pos.take_profit is not None and (
                (buy and price >= pos.take_profit) or (not buy and price <= pos.take_profit)
            ):
                self._close_position(pos, pos.volume, price, "tp", when)
                changed = True
        return changed

    def _slipped(self, symbol: str, side: str, price: float) -> float:
        spec = self._spec(symbol)
        slip = self.settings.slippage_points * spec.point
        return round(price + slip if side == "buy" else price - slip, spec.digits)

    def _commission(self, volume: float) -> float:
        return round(-self.settings.commission_per_lot * volume, 2) or 0.0  # never -0.0

    def _open_position(
        self,
        ticket: int,
        symbol: str,
        side: str,
        volume: float,
        price: float,
        sl: float | None,
        tp: float | None,
        comment: str,
        when: float,
    ) -> _PaperPosition:
        commission = self._commission(volume)
        pos = _PaperPosition(
            ticket=ticket,
            symbol=symbol,
            side=side,
            volume=volume,
            price_open=price,
            stop_loss=sl,
            take_profit=tp,
            comment=comment,
            opened_at=when,
            deal=self._ticket(),
            commission=commission,
        )
        self.state.positions[ticket] = pos
        self.state.balance = round(self.state.balance + commission, 2)
        return pos

    def _close_position(
        self,
        pos: _PaperPosition,
        volume: float,
        price: float,
        reason: CloseReason,
        when: float,
        tag: str = "",
    ) -> dict[str, Any]:
        profit = self._profit(pos, price, volume)
        commission = self._commission(volume)
        full = volume >= pos.volume - 1e-9
        swap = pos.swap if full else 0.0
        deal = self._ticket()
        self.state.balance = round(self.state.balance + profit + commission + swap, 2)
        pos.commission = round(pos.commission + commission, 2)
        pos.realized = round(pos.realized + profit, 2)
        close = {
            "price": price,
            "volume": volume,
            "profit": profit,
            "commission": commission,
            "swap": swap,
            "reason": reason,
            "deal": deal,
            "time": when,
        }
        self.state.closes.append({**close, "ticket": pos.ticket, "tag": tag, "full": full})
        if full:
            del self.state.positions[pos.ticket]
            self.state.history[pos.ticket] = _History(
                ticket=pos.ticket,
                state="closed",
                symbol=pos.symbol,
                side=pos.side,
                volume=pos.volume,
                price_open=pos.price_open,
                comment=pos.comment,
                stop_loss=pos.stop_loss,
                take_profit=pos.take_profit,
                entry_deal=pos.deal,
                filled=True,
                close={**close, "profit": pos.realized, "commission": pos.commission, "volume": volume},
            )
        else:
            pos.volume = round(pos.volume - volume, 8)
        return close

    # ---- the broker interface ---------------------------------------------------------------------
    def execute_open(self, order: OpenOrder) -> OpenResult:
        with self._lock:
            self._advance()
            self.sends += 1
            try:
                symbol = self.resolve_symbol(order.symbol, order.broker_symbol, order.symbol_suffix)
            except SymbolNotFound as exc:
                return OpenResult(status="rejected", reason=str(exc))
            spec = self._spec(symbol)
            bid, ask = self._quote_at(symbol, self.feed.step_at(self._clock()))

            def rejected(reason: str, retcode: int | None = None) -> OpenResult:
                return OpenResult(status="rejected", broker_symbol=symbol, retcode=retcode, reason=reason)

            volume = round_volume_down(order.volume, spec.volume_step, spec.volume_min, spec.volume_max)
            if volume is None:
                return rejected(f"volume {order.volume:g} is below the minimum {spec.volume_min:g}", 10014)
            spread = round((ask - bid) / spec.point, 1)
            if order.max_spread_points is not None and spread > order.max_spread_points:
                return rejected(f"spread {spread:g} points is above the maximum {order.max_spread_points:g}")
            market = ask if order.side == "buy" else bid
            if (
                order.order_type == "market"
                and order.price is not None
                and order.max_price_distance is not None
            ) and abs(market - order.price) > order.max_price_distance + 1e-9:
                return rejected(
                    f"price moved: market {market} vs planned {order.price} "
                    f"(max {order.max_price_distance:g})"
                )
            sl, tp = round_price(order.stop_loss, spec.digits), round_price(order.take_profit, spec.digits)
            tag = order_tag(order.order_id)
            now = self._clock()
            if order.order_type == "market":
                reference = bid if order.side == "buy" else ask
                if (problem := stops_problem(order.side, reference, sl, tp, 0.0)) is not None:
                    return rejected(problem, 10016)
                price = self._slipped(symbol, order.side, market)
                ticket = self._ticket()
                pos = self._open_position(ticket, symbol, order.side, volume, price, sl, tp, tag, now)
                self._save()
                return OpenResult(
                    status="filled",
                    broker_symbol=symbol,
                    ticket=ticket,
                    deal=pos.deal,
                    volume=volume,
                    price=price,
                    stop_loss=sl,
                    take_profit=tp,
                    retcode=10009,
                )
            price = round_price(order.price, spec.digits)
            assert price is not None
            crossed = {
                ("buy", "limit"): price >= ask,
                ("sell", "limit"): price <= bid,
                ("buy", "stop"): price <= ask,
                ("sell", "stop"): price >= bid,
            }[(order.side, order.order_type)]
            if crossed:
                return rejected(
                    f"{order.side} {order.order_type} at {price} is on the wrong side of the market "
                    f"({bid}/{ask})",
                    10015,
                )
            if (problem := stops_problem(order.side, price, sl, tp, 0.0)) is not None:
                return rejected(problem, 10016)
            ticket = self._ticket()
            self.state.orders[ticket] = _PaperOrder(
                ticket=ticket,
                symbol=symbol,
                side=order.side,
                kind=order.order_type,
                volume=volume,
                price=price,
                stop_loss=sl,
                take_profit=tp,
                comment=tag,
                placed_at=now,
            )
            self._save()
            return OpenResult(
                status="placed",
                broker_symbol=symbol,
                ticket=ticket,
                volume=volume,
                price=price,
                stop_loss=sl,
                take_profit=tp,
                retcode=10008,
            )

    def find_by_tag(self, tag: str, broker_symbol: str | None = None) -> Found | None:
        with self._lock:
            self._advance()
            for p in self.state.positions.values():
                if p.comment == tag:
                    return Found(
                        state="open",
                        ticket=p.ticket,
                        broker_symbol=p.symbol,
                        side=p.side,  # type: ignore[arg-type]
                        volume=p.volume,
                        price=p.price_open,
                        stop_loss=p.stop_loss,
                        take_profit=p.take_profit,
                        deal=p.deal,
                    )
            for o in self.state.orders.values():
                if o.comment == tag:
                    return Found(
                        state="pending",
                        ticket=o.ticket,
                        broker_symbol=o.symbol,
                        side=o.side,  # type: ignore[arg-type]
                        volume=o.volume,
                        price=o.price,
                        stop_loss=o.stop_loss,
                        take_profit=o.take_profit,
                    )
            for h in self.state.history.values():
                if h.comment == tag:
                    return Found(
                        state=h.state,
                        ticket=h.ticket,
                        broker_symbol=h.symbol,
                        side=h.side,  # type: ignore[arg-type]
                        volume=h.volume,
                        price=h.price_open,
                        stop_loss=h.stop_loss,
                        take_profit=h.take_profit,
                        deal=h.entry_deal,
                    )
            return None

    def track(self, ticket: int, pending: bool) -> TicketState:
        with self._lock:
            self._advance()
            if ticket in self.state.orders:
                return TicketState(state="pending")
            pos = self.state.positions.get(ticket)
            if pos is not None:
                return TicketState(
                    state="open",
                    position=self._as_position(pos),
                    fill_price=pos.price_open,
                    fill_volume=pos.volume,
                    fill_deal=pos.deal,
                )
            hist = self.state.history.get(ticket)
            if hist is None:
                return TicketState(state="missing")
            if hist.state != "closed":
                return TicketState(state=hist.state)  # type: ignore[arg-type]
            c = hist.close or {}
            close = CloseInfo(
                price=c["price"],
                volume=c["volume"],
                profit=c["profit"],
                commission=c["commission"],
                swap=c["swap"],
                reason=c["reason"],
                deal=c["deal"],
                time=datetime.fromtimestamp(c["time"], UTC),
            )
            return TicketState(
                state="closed",
                close=close,
                fill_price=hist.price_open,
                fill_volume=hist.volume,
                fill_deal=hist.entry_deal,
            )

    def modify(
        self, ticket: int, stop_loss: float | None, take_profit: float | None, tag: str
    ) -> ManageResult:
        with self._lock:
            self._advance()
            target = self.state.positions.get(ticket) or self.state.orders.get(ticket)
            if target is None:
                return ManageResult.position_gone(ticket)
            spec = self._spec(target.symbol)
            sl = round_price(stop_loss, spec.digits) if stop_loss is not None else target.stop_loss
            tp = round_price(take_profit, spec.digits) if take_profit is not None else target.take_profit
            if isinstance(target, _PaperPosition):
                bid, ask = self._quote_at(target.symbol, self.feed.step_at(self._clock()))
                reference = bid if target.side == "buy" else ask
            else:
                reference = target.price
            if (problem := stops_problem(target.side, reference, sl, tp, 0.0)) is not None:  # type: ignore[arg-type]
                return ManageResult(status="rejected", ticket=ticket, retcode=10016, reason=problem)
            target.stop_loss, target.take_profit = sl, tp
            self._save()
            return ManageResult(status="modified", ticket=ticket, stop_loss=sl, take_profit=tp, retcode=10009)

    def close(self, ticket: int, volume: float | None, tag: str) -> ManageResult:
        with self._lock:
            self._advance()
            pos = self.state.positions.get(ticket)
            if pos is None:
                return ManageResult.position_gone(ticket)
            spec = self._spec(pos.symbol)
            amount = (
                pos.volume
                if volume is None
                else round_volume_down(volume, spec.volume_step, spec.volume_min, pos.volume)
            )
            if amount is None:
                return ManageResult(
                    status="rejected",
                    ticket=ticket,
                    retcode=10014,
                    reason=f"{volume:g} lots is below the minimum {spec.volume_min:g}",
                )
            if pos.volume - amount < spec.volume_min - 1e-9:
                amount = pos.volume
            bid, ask = self._quote_at(pos.symbol, self.feed.step_at(self._clock()))
            price = self._slipped(
                pos.symbol, "sell" if pos.side == "buy" else "buy", bid if pos.side == "buy" else ask
            )
            full = amount >= pos.volume - 1e-9
            close = self._close_position(pos, amount, price, "command", self._clock(), tag)
            self._save()
            return ManageResult(
                status="closed" if full else "partially_closed",
                ticket=ticket,
                deal=close["deal"],
                volume=amount,
                price=price,
                profit=close["profit"],
                commission=close["commission"],
                swap=close["swap"],
                retcode=10009,
            )

    def find_close(self, ticket: int, tag: str) -> ManageResult | None:
        with self._lock:
            for c in reversed(self.state.closes):
                if c["ticket"] == ticket and c["tag"] == tag:
                    return ManageResult(
                        status="closed" if c["full"] else "partially_closed",
                        ticket=ticket,
                        deal=c["deal"],
                        volume=c["volume"],
                        price=c["price"],
                        profit=c["profit"],
                        commission=c["commission"],
                        swap=c["swap"],
                        reason="found in the deal history",
                    )
            return None

    def cancel(self, ticket: int, tag: str) -> ManageResult:
        with self._lock:
            self._advance()
            order = self.state.orders.pop(ticket, None)
            if order is None:
                hist = self.state.history.get(ticket)
                if hist is not None and hist.state == "cancelled":
                    return ManageResult(status="cancelled", ticket=ticket, reason="already cancelled")
                return ManageResult(
                    status="rejected",
                    ticket=ticket,
                    retcode=10035,
                    reason="no such pending order (already filled or removed)",
                )
            self.state.history[ticket] = _History(
                ticket=ticket,
                state="cancelled",
                symbol=order.symbol,
                side=order.side,
                volume=order.volume,
                price_open=order.price,
                comment=order.comment,
                stop_loss=order.stop_loss,
                take_profit=order.take_profit,
            )
            self._save()
            return ManageResult(status="cancelled", ticket=ticket, retcode=10009)

    def breakeven(self, ticket: int, tag: str) -> ManageResult:
        with self._lock:
            pos = self.state.positions.get(ticket)
            if pos is None:
                return ManageResult.position_gone(ticket)
            buy = pos.side == "buy"
            if pos.stop_loss is not None and (
                (buy and pos.stop_loss >= pos.price_open) or (not buy and pos.stop_loss <= pos.price_open)
            ):
                return ManageResult(
                    status="modified",
                    ticket=ticket,
                    stop_loss=pos.stop_loss,
                    take_profit=pos.take_profit,
                    reason="stop loss already at or beyond entry",
                )
            return self.modify(ticket, pos.price_open, None, tag)
