"""The functions the real `MetaTrader5` package takes from its compiled `_core`, over a simulated terminal.

Shapes follow the real package: results are named tuples with the real type names and field
order (checked against the field names compiled into `_core.pyd`), failures return `None`
(or `False`) and leave `(code, message)` for `last_error()`. Times are epoch seconds in the
trade server's time zone (`server_offset_seconds`, 0 by default), as the real terminal reports.

Tests drive the terminal through `reset()` / `terminal()`:
  - symbols with any spec (`add_symbol`), prices that move (`set_price`), which triggers pending
    orders and stop-loss / take-profit exactly like a trade server would (deals with
    `DEAL_ENTRY_OUT`, `DEAL_REASON_SL` / `DEAL_REASON_TP`, comments such as `[tp 1955.00]`);
  - a queue of scripted outcomes for the next `order_send` calls (`script_order_send`): a retcode
    returned without executing anything (10004 requote, 10018 market closed, ...), "none" (the
    call returns None, nothing placed), "timeout_placed" (retcode 10012 but the order WAS placed),
    "none_placed" (None but placed), "kill_after_send" (placed, then the calling process "dies");
  - terminal restarts (`crash()` / `start()`), the Algo Trading button (`algo_trading`), manual
    closes from the terminal (`close_manually`), swaps and commissions.
Without a script, requests are validated the way a trade server does (volume step, stops
level, filling mode against the symbol's mask, market closed, trade mode, margin) and executed.
"""

from __future__ import annotations

import calendar
import fnmatch
import itertools
import sys
import time
from collections import deque, namedtuple
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

_C = sys.modules[__package__]  # the package module: its constants are defined before it imports us

__all__ = [
    "account_info",
    "history_deals_get",
    "history_deals_total",
    "history_orders_get",
    "history_orders_total",
    "initialize",
    "last_error",
    "login",
    "order_check",
    "order_send",
    "orders_get",
    "orders_total",
    "positions_get",
    "positions_total",
    "shutdown",
    "symbol_info",
    "symbol_info_tick",
    "symbol_select",
    "symbols_get",
    "symbols_total",
    "terminal_info",
    "version",
]

# --- result types: real names, real field order -------------------------------------------------
AccountInfo = namedtuple(
    "AccountInfo",
    "login trade_mode leverage limit_orders margin_so_mode trade_allowed trade_expert margin_mode "
    "currency_digits fifo_close balance credit profit equity margin margin_free margin_level "
    "margin_so_call margin_so_so margin_initial margin_maintenance assets liabilities "
    "commission_blocked name server currency company",
)
TerminalInfo = namedtuple(
    "TerminalInfo",
    "community_account community_connection connected dlls_allowed trade_allowed tradeapi_disabled "
    "email_enabled ftp_enabled notifications_enabled mqid build maxbars codepage ping_last "
    "community_balance retransmission company name language path data_path commondata_path",
)
SymbolInfo = namedtuple(
    "SymbolInfo",
    "custom chart_mode select visible session_deals session_buy_orders session_sell_orders volume "
    "volumehigh volumelow time digits spread spread_float ticks_bookdepth trade_calc_mode trade_mode "
    "start_time expiration_time trade_stops_level trade_freeze_level trade_exemode swap_mode "
    "swap_rollover3days margin_hedged_use_leg expiration_mode filling_mode order_mode order_gtc_mode "
    "option_mode option_right bid bidhigh bidlow ask askhigh asklow last lasthigh lastlow volume_real "
    "volumehigh_real volumelow_real option_strike point trade_tick_value trade_tick_value_profit "
    "trade_tick_value_loss trade_tick_size trade_contract_size trade_accrued_interest trade_face_value "
    "trade_liquidity_rate volume_min volume_max volume_step volume_limit swap_long swap_short "
    "margin_initial margin_maintenance session_volume session_turnover session_interest "
    "session_buy_orders_volume session_sell_orders_volume session_open session_close session_aw "
    "session_price_settlement session_price_limit_min session_price_limit_max margin_hedged "
    "price_change price_volatility price_theoretical price_greeks_delta price_greeks_theta "
    "price_greeks_gamma price_greeks_vega price_greeks_rho price_greeks_omega price_sensitivity basis "
    "category currency_base currency_profit currency_margin bank description exchange formula isin "
    "name page path",
)
Tick = namedtuple("Tick", "time bid ask last volume time_msc flags volume_real")
TradeRequest = namedtuple(
    "TradeRequest",
    "action magic order symbol volume price stoplimit sl tp deviation type type_filling type_time "
    "expiration comment position position_by",
)
OrderSendResult = namedtuple(
    "OrderSendResult",
    "retcode deal order volume price bid ask comment request_id retcode_external request",
)
OrderCheckResult = namedtuple(
    "OrderCheckResult",
    "retcode balance equity profit margin margin_free margin_level comment request",
)
TradePosition = namedtuple(
    "TradePosition",
    "ticket time time_msc time_update time_update_msc type magic identifier reason volume price_open "
    "sl tp price_current swap profit symbol comment external_id",
)
TradeOrder = namedtuple(
    "TradeOrder",
    "ticket time_setup time_setup_msc time_done time_done_msc time_expiration type type_time "
    "type_filling state magic position_id position_by_id reason volume_initial volume_current "
    "price_open sl tp price_current price_stoplimit symbol comment external_id",
)
TradeDeal = namedtuple(
    "TradeDeal",
    "ticket order time time_msc type entry magic position_id reason volume price commission swap "
    "profit fee symbol comment external_id",
)

# Result comments the trade server gives for each retcode (what the terminal shows).
RETCODE_COMMENTS = {
    10004: "Requote",
    10006: "Request rejected",
    10008: "Request placed",
    10009: "Request executed",
    10010: "Request executed partially",
    10012: "Request timed out",
    10013: "Invalid request",
    10014: "Invalid volume",
    10015: "Invalid price",
    10016: "Invalid stops",
    10017: "Trade disabled",
    10018: "Market closed",
    10019: "No money",
    10020: "Prices changed",
    10021: "Off quotes",
    10024: "Too many requests",
    10025: "No changes",
    10027: "AutoTrading disabled by client",
    10030: "Unsupported filling mode",
    10031: "No connection",
    10036: "Position already closed",
    10042: "Long positions only allowed",
    10043: "Short positions only allowed",
    10044: "Close only allowed",
}
_SUCCESS = (1, "Success")
_NO_IPC = (-10004, "No IPC connection")


class AgentKilled(BaseException):
    """Raised by the "kill_after_send" script: the caller dies right after the server took the order.

    A BaseException, so an agent's `except Exception` cannot swallow it, like a real kill.
    """


@dataclass
class SimSymbol:
    """One symbol of the simulated broker; field names follow `SymbolInfo`."""

    name: str
    bid: float
    ask: float
    digits: int = 5
    point: float = 0.00001
    volume_min: float = 0.01
    volume_max: float = 100.0
    volume_step: float = 0.01
    trade_contract_size: float = 100_000.0
    trade_tick_size: float = 0.00001
    trade_tick_value: float = 1.0
    trade_stops_level: int = 0
    trade_freeze_level: int = 0
    trade_mode: int = 4  # SYMBOL_TRADE_MODE_FULL
    trade_exemode: int = 2  # SYMBOL_TRADE_EXECUTION_MARKET
    filling_mode: int = 1  # bit mask: 1 FOK, 2 IOC
    currency_base: str = "EUR"
    currency_profit: str = "USD"
    currency_margin: str = "EUR"
    description: str = ""
    path: str = ""
    select: bool = False  # shown in Market Watch
    session_open: bool = True
    commission_per_lot: float = 0.0  # charged (negative) on every deal
    tick_time: float = 0.0

    @property
    def spread_points(self) -> int:
        return round((self.ask - self.bid) / self.point)


@dataclass
class _Position:
    ticket: int
    symbol: str
    type: int
    volume: float
    price_open: float
    sl: float
    tp: float
    magic: int
    comment: str
    time: float
    reason: int = 3  # POSITION_REASON_EXPERT: opened through the API
    swap: float = 0.0
    time_update: float = 0.0


@dataclass
class _Order:
    ticket: int
    symbol: str
    type: int
    volume_initial: float
    volume_current: float
    price_open: float
    sl: float
    tp: float
    magic: int
    comment: str
    time_setup: float
    type_time: int = 0
    type_filling: int = 0
    time_expiration: float = 0.0
    state: int = 1  # ORDER_STATE_PLACED
    time_done: float = 0.0
    position_id: int = 0
    reason: int = 3  # ORDER_REASON_EXPERT
    price_current: float = 0.0


@dataclass
class SimulatedTerminal:
    """State of one MT5 terminal logged in to one account at a simulated broker."""

    login: int = 5_001_234
    password: str = "investor-pass"
    server: str = "SimBroker-Demo"
    company: str = "Sim Broker Ltd"
    name: str = "Demo Trader"
    currency: str = "USD"
    balance: float = 10_000.0
    leverage: int = 100
    running: bool = True  # the terminal process is up
    connected: bool = True  # the terminal is connected to the trade server
    algo_trading: bool = True  # the "Algo Trading" button (terminal_info().trade_allowed)
    account_trade_allowed: bool = True
    comment_limit: int = 31  # the broker keeps this many characters of a comment
    server_offset_seconds: int = 0  # trade server time minus UTC
    fill_slippage_points: int = 0  # adverse slippage applied to market fills
    clock: Any = time.time
    path: str = r"C:\Program Files\MetaTrader 5\terminal64.exe"
    symbols: dict[str, SimSymbol] = field(default_factory=dict)
    initialized: bool = False
    error: tuple[int, str] = _SUCCESS
    positions: dict[int, _Position] = field(default_factory=dict)
    orders: dict[int, _Order] = field(default_factory=dict)
    history_orders: list[_Order] = field(default_factory=list)
    deals: list[TradeDeal] = field(default_factory=list)
    script: deque = field(default_factory=deque)
    requests: list[dict] = field(default_factory=list)  # every order_send request, for assertions
    calls: list[str] = field(default_factory=list)  # every function called, in order

    def __post_init__(self) -> None:
        self._order_tickets = itertools.count(50_000_001)
        self._deal_tickets = itertools.count(40_000_001)
        self._request_ids = itertools.count(1)

    # ---- control surface for tests --------------------------------------------------------------
    def add_symbol(self, name: str, bid: float, ask: float | None = None, **spec: Any) -> SimSymbol:
        point = spec.get("point", 10 ** -spec.get("digits", 5))
        spec.setdefault("point", point)
        spec.setdefault("trade_tick_size", point)
        sym = SimSymbol(name=name, bid=bid, ask=ask if ask is not None else bid + 10 * point, **spec)
        sym.tick_time = self.server_time()
        self.symbols[name] = sym
        return sym

    def add_gold(
        self, name: str = "XAUUSD", bid: float = 1950.00, spread: float = 0.20, **spec: Any
    ) -> SimSymbol:
        """XAUUSD as most brokers spec it: 2 digits, 100 oz contract, 1 USD per 0.01 per lot."""
        defaults = dict(
            digits=2,
            point=0.01,
            trade_contract_size=100.0,
            trade_tick_size=0.01,
            trade_tick_value=1.0,
            currency_base="XAU",
            currency_profit="USD",
            currency_margin="XAU",
            description="Gold vs US Dollar",
            path=f"Metals\\{name}",
        )
        defaults.update(spec)
        return self.add_symbol(name, bid, round(bid + spread, 2), **defaults)

    def add_forex(
        self, name: str = "EURUSD", bid: float = 1.08500, spread_points: int = 10, **spec: Any
    ) -> SimSymbol:
        defaults = dict(
            digits=5,
            point=0.00001,
            currency_base=name[:3],
            currency_profit=name[3:6],
            currency_margin=name[:3],
            path=f"Forex\\{name}",
        )
        defaults.update(spec)
        return self.add_symbol(name, bid, round(bid + spread_points * 0.00001, 5), **defaults)

    def script_order_send(self, *outcomes: Any) -> None:
        """Queue outcomes for the next order_send calls (see the module docstring)."""
        self.script.extend(outcomes)

    def set_price(self, symbol: str, bid: float, ask: float | None = None) -> None:
        """Move the market; triggers pending orders, then stop-loss / take-profit, like a server."""
        sym = self.symbols[symbol]
        spread = sym.ask - sym.bid
        sym.bid = round(bid, sym.digits)
        sym.ask = round(ask if ask is not None else bid + spread, sym.digits)
        sym.tick_time = self.server_time()
        self._process_market(sym)

    def crash(self) -> None:
        """The terminal process dies: every call fails until `start()` and a new `initialize()`."""
        self.running = False
        self.initialized = False

    def start(self) -> None:
        self.running = True

    def close_manually(self, ticket: int, volume: float | None = None) -> None:
        """The trader closes a position by hand in the terminal (DEAL_REASON_CLIENT)."""
        pos = self.positions[ticket]
        sym = self.symbols[pos.symbol]
        price = sym.bid if pos.type == _C.POSITION_TYPE_BUY else sym.ask
        self._close(pos, volume or pos.volume, price, reason=_C.DEAL_REASON_CLIENT, magic=0, comment="")

    def charge_swap(self, ticket: int, amount: float) -> None:
        self.positions[ticket].swap += amount

    def our_positions(self, magic: int) -> list[_Position]:
        return [p for p in self.positions.values() if p.magic == magic]

    def server_time(self) -> float:
        return self.clock() + self.server_offset_seconds

    # ---- plumbing ---------------------------------------------------------------------------------
    def ready(self, name: str) -> bool:
        self.calls.append(name)
        if not (self.running and self.initialized):
            self.error = _NO_IPC
            return False
        self.error = _SUCCESS
        return True

    def next_order_ticket(self) -> int:
        return next(self._order_tickets)

    def equity(self) -> float:
        return round(self.balance + sum(self._floating(p) + p.swap for p in self.positions.values()), 2)

    def margin(self) -> float:
        total = 0.0
        for p in self.positions.values():
            sym = self.symbols[p.symbol]
            total += sym.trade_contract_size * p.volume * p.price_open / self.leverage
        return round(total, 2)

    def _floating(self, p: _Position) -> float:
        sym = self.symbols[p.symbol]
        price = sym.bid if p.type == _C.POSITION_TYPE_BUY else sym.ask
        return self.profit(sym, p.type, p.price_open, price, p.volume)

    @staticmethod
    def profit(sym: SimSymbol, pos_type: int, open_price: float, close_price: float, volume: float) -> float:
        direction = 1 if pos_type == _C.POSITION_TYPE_BUY else -1
        ticks = (close_price - open_price) * direction / sym.trade_tick_size
        return round(ticks * sym.trade_tick_value * volume, 2)

    def _commission(self, sym: SimSymbol, volume: float) -> float:
        return round(-sym.commission_per_lot * volume, 2)

    def _deal(
        self,
        *,
        order: int,
        sym: SimSymbol,
        type_: int,
        entry: int,
        magic: int,
        position_id: int,
        reason: int,
        volume: float,
        price: float,
        profit: float = 0.0,
        swap: float = 0.0,
        comment: str = "",
    ) -> TradeDeal:
        now = self.server_time()
        commission = self._commission(sym, volume)
        deal = TradeDeal(
            ticket=next(self._deal_tickets),
            order=order,
            time=int(now),
            time_msc=int(now * 1000),
            type=type_,
            entry=entry,
            magic=magic,
            position_id=position_id,
            reason=reason,
            volume=volume,
            price=price,
            commission=commission,
            swap=swap,
            profit=profit,
            fee=0.0,
            symbol=sym.name,
            comment=comment[: self.comment_limit],
            external_id="",
        )
        self.deals.append(deal)
        self.balance = round(self.balance + commission + profit + swap, 2)
        return deal

    def _history_order(
        self,
        *,
        sym: SimSymbol,
        type_: int,
        volume: float,
        price: float,
        magic: int,
        comment: str,
        position_id: int,
        reason: int,
        type_filling: int = 0,
    ) -> _Order:
        now = self.server_time()
        ticket = self.next_order_ticket()
        order = _Order(
            ticket=ticket,
            symbol=sym.name,
            type=type_,
            volume_initial=volume,
            volume_current=0.0,
            price_open=price,
            sl=0.0,
            tp=0.0,
            magic=magic,
            comment=comment[: self.comment_limit],
            time_setup=now,
            time_done=now,
            state=_C.ORDER_STATE_FILLED,
            position_id=position_id or ticket,
            reason=reason,
            price_current=price,
            type_filling=type_filling,
        )
        self.history_orders.append(order)
        return order

    def open_position(
        self,
        *,
        sym: SimSymbol,
        type_: int,
        volume: float,
        price: float,
        sl: float,
        tp: float,
        magic: int,
        comment: str,
        order_ticket: int | None = None,
        type_filling: int = 0,
    ) -> tuple[_Position, TradeDeal]:
        if order_ticket is None:
            order = self._history_order(
                sym=sym,
                type_=type_,
                volume=volume,
                price=price,
                magic=magic,
                comment=comment,
                position_id=0,
                reason=_C.ORDER_REASON_EXPERT,
                type_filling=type_filling,
            )
            order_ticket = order.ticket
        now = self.server_time()
        pos = _Position(
            ticket=order_ticket,
            symbol=sym.name,
            type=type_,
            volume=volume,
            price_open=price,
            sl=sl,
            tp=tp,
            magic=magic,
            comment=comment[: self.comment_limit],
            time=now,
            time_update=now,
        )
        self.positions[pos.ticket] = pos
        deal = self._deal(
            order=order_ticket,
            sym=sym,
            type_=type_,
            entry=_C.DEAL_ENTRY_IN,
            magic=magic,
            position_id=pos.ticket,
            reason=_C.DEAL_REASON_EXPERT,
            volume=volume,
            price=price,
            comment=comment,
        )
        return pos, deal

    def _close(
        self, pos: _Position, volume: float, price: float, *, reason: int, magic: int, comment: str
    ) -> TradeDeal:
        sym = self.symbols[pos.symbol]
        close_type = _C.ORDER_TYPE_SELL if pos.type == _C.POSITION_TYPE_BUY else _C.ORDER_TYPE_BUY
        order_reason = {
            _C.DEAL_REASON_SL: _C.ORDER_REASON_SL,
            _C.DEAL_REASON_TP: _C.ORDER_REASON_TP,
            _C.DEAL_REASON_SO: _C.ORDER_REASON_SO,
            _C.DEAL_REASON_CLIENT: _C.ORDER_REASON_CLIENT,
        }
        order = self._history_order(
            sym=sym,
            type_=close_type,
            volume=volume,
            price=price,
            magic=magic,
            comment=comment,
            position_id=pos.ticket,
            reason=order_reason.get(reason, _C.ORDER_REASON_EXPERT),
        )
        full = volume >= pos.volume - 1e-9
        swap = pos.swap if full else 0.0
        profit = self.profit(sym, pos.type, pos.price_open, price, volume)
        deal = self._deal(
            order=order.ticket,
            sym=sym,
            type_=close_type,
            entry=_C.DEAL_ENTRY_OUT,
            magic=magic,
            position_id=pos.ticket,
            reason=reason,
            volume=volume,
            price=price,
            profit=profit,
            swap=swap,
            comment=comment,
        )
        if full:
            del self.positions[pos.ticket]
        else:
            pos.volume = round(pos.volume - volume, 8)
            pos.time_update = self.server_time()
        return deal

    def _process_market(self, sym: SimSymbol) -> None:
        now = self.server_time()
        for order in [o for o in self.orders.values() if o.symbol == sym.name]:
            if (
                order.type_time == _C.ORDER_TIME_SPECIFIED
                and order.time_expiration
                and now >= order.time_expiration
            ):
                self._retire_order(order, _C.ORDER_STATE_EXPIRED)
                continue
            if self._triggers(order, sym):
                self._retire_order(order, _C.ORDER_STATE_FILLED)
                order.position_id = order.ticket
                is_limit = order.type in (_C.ORDER_TYPE_BUY_LIMIT, _C.ORDER_TYPE_SELL_LIMIT)
                buy = order.type in (_C.ORDER_TYPE_BUY_LIMIT, _C.ORDER_TYPE_BUY_STOP)
                market = sym.ask if buy else sym.bid
                price = order.price_open if is_limit else market
                self.open_position(
                    sym=sym,
                    type_=_C.ORDER_TYPE_BUY if buy else _C.ORDER_TYPE_SELL,
                    volume=order.volume_initial,
                    price=price,
                    sl=order.sl,
                    tp=order.tp,
                    magic=order.magic,
                    comment=order.comment,
                    order_ticket=order.ticket,
                )
        fmt = f"{{:.{sym.digits}f}}"
        for pos in [p for p in self.positions.values() if p.symbol == sym.name]:
            buy = pos.type == _C.POSITION_TYPE_BUY
            price = sym.bid if buy else sym.ask
            if pos.sl and ((buy and price <= pos.sl) or (not buy and price >= pos.sl)):
                self._close(
                    pos,
                    pos.volume,
                    price,
                    reason=_C.DEAL_REASON_SL,
                    magic=pos.magic,
                    comment=f"[sl {fmt.format(pos.sl)}]",
                )
            elif pos.tp and ((buy and price >= pos.tp) or (not buy and price <= pos.tp)):
                self._close(
                    pos,
                    pos.volume,
                    price,
                    reason=_C.DEAL_REASON_TP,
                    magic=pos.magic,
                    comment=f"[tp {fmt.format(pos.tp)}]",
                )

    @staticmethod
    def _triggers(order: _Order, sym: SimSymbol) -> bool:
        return {
            _C.ORDER_TYPE_BUY_LIMIT: sym.ask <= order.price_open,
            _C.ORDER_TYPE_SELL_LIMIT: sym.bid >= order.price_open,
            _C.ORDER_TYPE_BUY_STOP: sym.ask >= order.price_open,
            _C.ORDER_TYPE_SELL_STOP: sym.bid <= order.price_open,
        }.get(order.type, False)

    def _retire_order(self, order: _Order, state: int) -> None:
        del self.orders[order.ticket]
        order.state = state
        order.time_done = self.server_time()
        self.history_orders.append(order)


_terminal = SimulatedTerminal()


def reset(**settings: Any) -> SimulatedTerminal:
    """A fresh simulated terminal (tests call this in a fixture); settings are SimulatedTerminal fields."""
    global _terminal
    _terminal = SimulatedTerminal(**settings)
    return _terminal


def terminal() -> SimulatedTerminal:
    return _terminal


# --- connection ----------------------------------------------------------------------------------
def _authorize(t: SimulatedTerminal, login: int | None, password: str | None, server: str | None) -> bool:
    if login is not None and (
        login != t.login
        or (password is not None and password != t.password)
        or (server is not None and server != t.server)
    ):
        t.error = (_C.RES_E_AUTH_FAILED, "Terminal: Authorization failed")
        return False
    return True


def initialize(
    path: str | None = None,
    *,
    login: int | None = None,
    password: str | None = None,
    server: str | None = None,
    timeout: int | None = None,
    portable: bool = False,
) -> bool:
    t = _terminal
    t.calls.append("initialize")
    if not t.running:
        t.error = (_C.RES_E_INTERNAL_FAIL_INIT, "IPC initialize failed, MetaTrader 5 x64 not found")
        return False
    if path is not None and path != t.path:
        t.error = (_C.RES_E_INTERNAL_FAIL_INIT, f"IPC initialize failed, Process create failed '{path}'")
        return False
    if not _authorize(t, login, password, server):
        return False
    t.initialized = True
    t.error = _SUCCESS
    return True


def login(login: int, password: str | None = None, server: str | None = None, timeout: int = 60_000) -> bool:
    t = _terminal
    if not t.ready("login"):
        return False
    return _authorize(t, login, password, server)


def shutdown() -> None:
    _terminal.calls.append("shutdown")
    _terminal.initialized = False


def last_error() -> tuple[int, str]:
    return _terminal.error


def version() -> tuple[int, int, str] | None:
    if not _terminal.ready("version"):
        return None
    return (500, 5120, "20 Nov 2026")


# --- account and terminal ------------------------------------------------------------------------
def account_info() -> AccountInfo | None:
    t = _terminal
    if not t.ready("account_info"):
        return None
    equity, margin = t.equity(), t.margin()
    return AccountInfo(
        login=t.login,
        trade_mode=_C.ACCOUNT_TRADE_MODE_DEMO,
        leverage=t.leverage,
        limit_orders=200,
        margin_so_mode=_C.ACCOUNT_STOPOUT_MODE_PERCENT,
        trade_allowed=t.account_trade_allowed,
        trade_expert=True,
        margin_mode=_C.ACCOUNT_MARGIN_MODE_RETAIL_HEDGING,
        currency_digits=2,
        fifo_close=False,
        balance=t.balance,
        credit=0.0,
        profit=round(equity - t.balance, 2),
        equity=equity,
        margin=margin,
        margin_free=round(equity - margin, 2),
        margin_level=round(equity / margin * 100, 2) if margin else 0.0,
        margin_so_call=50.0,
        margin_so_so=30.0,
        margin_initial=0.0,
        margin_maintenance=0.0,
        assets=0.0,
        liabilities=0.0,
        commission_blocked=0.0,
        name=t.name,
        server=t.server,
        currency=t.currency,
        company=t.company,
    )


def terminal_info() -> TerminalInfo | None:
    t = _terminal
    if not t.ready("terminal_info"):
        return None
    data_path = r"C:\Users\trader\AppData\Roaming\MetaQuotes\Terminal\D0E8209F77C8CF37AD8BF550E51FF075"
    return TerminalInfo(
        community_account=False,
        community_connection=False,
        connected=t.connected,
        dlls_allowed=False,
        trade_allowed=t.algo_trading,
        tradeapi_disabled=False,
        email_enabled=False,
        ftp_enabled=False,
        notifications_enabled=False,
        mqid=False,
        build=5120,
        maxbars=100000,
        codepage=0,
        ping_last=35000 if t.connected else 0,
        community_balance=0.0,
        retransmission=0.0,
        company=t.company,
        name="MetaTrader 5",
        language="English",
        path=t.path.rsplit("\\", 1)[0],
        data_path=data_path,
        commondata_path=r"C:\Users\trader\AppData\Roaming\MetaQuotes\Terminal\Common",
    )


# --- symbols --------------------------------------------------------------------------------------
def _symbol_info(t: SimulatedTerminal, s: SimSymbol) -> SymbolInfo:
    values = dict.fromkeys(SymbolInfo._fields, 0)
    values.update(
        custom=False,
        chart_mode=_C.SYMBOL_CHART_MODE_BID,
        select=s.select,
        visible=s.select,
        time=int(s.tick_time),
        digits=s.digits,
        spread=s.spread_points,
        spread_float=True,
        trade_calc_mode=_C.SYMBOL_CALC_MODE_FOREX,
        trade_mode=s.trade_mode,
        trade_stops_level=s.trade_stops_level,
        trade_freeze_level=s.trade_freeze_level,
        trade_exemode=s.trade_exemode,
        swap_mode=_C.SYMBOL_SWAP_MODE_POINTS,
        swap_rollover3days=3,
        expiration_mode=15,
        filling_mode=s.filling_mode,
        order_mode=127,
        order_gtc_mode=_C.SYMBOL_ORDERS_GTC,
        bid=s.bid,
        bidhigh=s.bid,
        bidlow=s.bid,
        ask=s.ask,
        askhigh=s.ask,
        asklow=s.ask,
        last=0.0,
        lasthigh=0.0,
        lastlow=0.0,
        volume_real=0.0,
        volumehigh_real=0.0,
        volumelow_real=0.0,
        option_strike=0.0,
        point=s.point,
        trade_tick_value=s.trade_tick_value,
        trade_tick_value_profit=s.trade_tick_value,
        trade_tick_value_loss=s.trade_tick_value,
        trade_tick_size=s.trade_tick_size,
        trade_contract_size=s.trade_contract_size,
        trade_accrued_interest=0.0,
        trade_face_value=0.0,
        trade_liquidity_rate=0.0,
        volume_min=s.volume_min,
        volume_max=s.volume_max,
        volume_step=s.volume_step,
        volume_limit=0.0,
        swap_long=-5.0,
        swap_short=1.0,
        margin_initial=0.0,
        margin_maintenance=0.0,
        session_volume=0.0,
        session_turnover=0.0,
        session_interest=0.0,
        session_buy_orders_volume=0.0,
        session_sell_orders_volume=0.0,
        session_open=s.bid,
        session_close=s.bid,
        session_aw=0.0,
        session_price_settlement=0.0,
        session_price_limit_min=0.0,
        session_price_limit_max=0.0,
        margin_hedged=s.trade_contract_size / 2,
        price_change=0.0,
        price_volatility=0.0,
        price_theoretical=0.0,
        price_greeks_delta=0.0,
        price_greeks_theta=0.0,
        price_greeks_gamma=0.0,
        price_greeks_vega=0.0,
        price_greeks_rho=0.0,
        price_greeks_omega=0.0,
        price_sensitivity=0.0,
        basis="",
        category="",
        currency_base=s.currency_base,
        currency_profit=s.currency_profit,
        currency_margin=s.currency_margin,
        bank="",
        description=s.description,
        exchange="",
        formula="",
        isin="",
        name=s.name,
        page="",
        path=s.path,
    )
    return SymbolInfo(**values)


def _group_match(name: str, group: str | None) -> bool:
    """MT5 group filter: comma-separated masks with `*`, `!mask` excludes."""
    if not group:
        return True
    conditions = [c.strip() for c in group.split(",") if c.strip()]
    included = any(fnmatch.fnmatchcase(name, c) for c in conditions if not c.startswith("!"))
    excluded = any(fnmatch.fnmatchcase(name, c[1:]) for c in conditions if c.startswith("!"))
    return included and not excluded


def symbols_total() -> int | None:
    t = _terminal
    return len(t.symbols) if t.ready("symbols_total") else None


def symbols_get(group: str | None = None) -> tuple[SymbolInfo, ...] | None:
    t = _terminal
    if not t.ready("symbols_get"):
        return None
    return tuple(_symbol_info(t, s) for s in t.symbols.values() if _group_match(s.name, group))


def symbol_info(symbol: str) -> SymbolInfo | None:
    t = _terminal
    if not t.ready("symbol_info"):
        return None
    s = t.symbols.get(symbol)
    if s is None:
        t.error = (_C.RES_E_NOT_FOUND, "Terminal: Not found")
        return None
    return _symbol_info(t, s)


def symbol_select(symbol: str, enable: bool = True) -> bool:
    t = _terminal
    if not t.ready("symbol_select"):
        return False
    s = t.symbols.get(symbol)
    if s is None:
        t.error = (_C.RES_E_NOT_FOUND, "Terminal: Not found")
        return False
    if not enable and any(p.symbol == symbol for p in t.positions.values()):
        t.error = (_C.RES_E_FAIL, "Terminal: Call failed")
        return False
    s.select = enable
    return True


def symbol_info_tick(symbol: str) -> Tick | None:
    t = _terminal
    if not t.ready("symbol_info_tick"):
        return None
    s = t.symbols.get(symbol)
    if s is None or not s.select:  # only Market Watch symbols stream ticks
        t.error = (_C.RES_E_NOT_FOUND, "Terminal: Not found")
        return None
    return Tick(
        time=int(s.tick_time),
        bid=s.bid,
        ask=s.ask,
        last=0.0,
        volume=0,
        time_msc=int(s.tick_time * 1000),
        flags=_C.TICK_FLAG_BID | _C.TICK_FLAG_ASK,
        volume_real=0.0,
    )


# --- trading --------------------------------------------------------------------------------------
_REQUEST_DEFAULTS = dict(
    action=0,
    magic=0,
    order=0,
    symbol="",
    volume=0.0,
    price=0.0,
    stoplimit=0.0,
    sl=0.0,
    tp=0.0,
    deviation=0,
    type=0,
    type_filling=0,
    type_time=0,
    expiration=0,
    comment="",
    position=0,
    position_by=0,
)


def _parse_request(t: SimulatedTerminal, request: Any) -> TradeRequest | None:
    if not isinstance(request, dict):
        t.error = (_C.RES_E_INVALID_PARAMS, "Invalid arguments")
        return None
    for key in request:
        if key not in _REQUEST_DEFAULTS:
            t.error = (_C.RES_E_INVALID_PARAMS, f'Invalid "{key}" argument')
            return None
    values = {**_REQUEST_DEFAULTS, **{k: v for k, v in request.items() if v is not None}}
    if isinstance(values["comment"], str) and any(c in values["comment"] for c in "[]"):
        t.error = (_C.RES_E_INVALID_PARAMS, 'Invalid "comment" argument')
        return None
    if not isinstance(values["symbol"], str) or not isinstance(values["comment"], str):
        t.error = (_C.RES_E_INVALID_PARAMS, "Invalid arguments")
        return None
    return TradeRequest(**values)


def _result(
    t: SimulatedTerminal,
    retcode: int,
    req: TradeRequest,
    *,
    deal: int = 0,
    order: int = 0,
    volume: float = 0.0,
    price: float = 0.0,
) -> OrderSendResult:
    sym = t.symbols.get(req.symbol)
    return OrderSendResult(
        retcode=retcode,
        deal=deal,
        order=order,
        volume=volume,
        price=price,
        bid=sym.bid if sym else 0.0,
        ask=sym.ask if sym else 0.0,
        comment=RETCODE_COMMENTS.get(retcode, ""),
        request_id=next(t._request_ids),
        retcode_external=0,
        request=req,
    )


def _on_step(value: float, step: float) -> bool:
    steps = value / step
    return abs(steps - round(steps)) < 1e-7


def _check_volume(sym: SimSymbol, volume: float) -> bool:
    return sym.volume_min - 1e-9 <= volume <= sym.volume_max + 1e-9 and _on_step(volume, sym.volume_step)


def _stops_ok(sym: SimSymbol, buy: bool, ref: float, sl: float, tp: float) -> bool:
    """SL/TP on the right side of the reference price and at least trade_stops_level points away."""
    gap = sym.trade_stops_level * sym.point - 1e-9
    if buy:
        return (not sl or sl < ref - gap) and (not tp or tp > ref + gap)
    return (not sl or sl > ref + gap) and (not tp or tp < ref - gap)


def _filling_allowed(sym: SimSymbol, filling: int) -> bool:
    if filling == _C.ORDER_FILLING_FOK:
        return bool(sym.filling_mode & 1)
    if filling == _C.ORDER_FILLING_IOC:
        return bool(sym.filling_mode & 2)
    if filling == _C.ORDER_FILLING_RETURN:
        # Market execution accepts "return" only when the symbol offers neither FOK nor IOC.
        return sym.trade_exemode == _C.SYMBOL_TRADE_EXECUTION_EXCHANGE or not (sym.filling_mode & 3)
    return False


def _validate(t: SimulatedTerminal, req: TradeRequest) -> int:
    """The trade server's checks; returns 0 when the request would be accepted."""
    if not t.connected:
        return _C.TRADE_RETCODE_CONNECTION
    if not t.algo_trading:
        return _C.TRADE_RETCODE_CLIENT_DISABLES_AT
    if not t.account_trade_allowed:
        return _C.TRADE_RETCODE_TRADE_DISABLED
    sym = t.symbols.get(req.symbol)
    if req.action == _C.TRADE_ACTION_REMOVE:
        return 0 if req.order in t.orders else _C.TRADE_RETCODE_INVALID_ORDER
    if sym is None or not sym.select:
        return _C.TRADE_RETCODE_INVALID
    if req.action == _C.TRADE_ACTION_SLTP:
        pos = t.positions.get(req.position)
        if pos is None:
            return _C.TRADE_RETCODE_POSITION_CLOSED
        buy = pos.type == _C.POSITION_TYPE_BUY
        if not _stops_ok(sym, buy, sym.bid if buy else sym.ask, req.sl, req.tp):
            return _C.TRADE_RETCODE_INVALID_STOPS
        if abs(pos.sl - req.sl) < sym.point / 2 and abs(pos.tp - req.tp) < sym.point / 2:
            return _C.TRADE_RETCODE_NO_CHANGES
        return 0
    if sym.trade_mode == _C.SYMBOL_TRADE_MODE_DISABLED:
        return _C.TRADE_RETCODE_TRADE_DISABLED
    if not sym.session_open:
        return _C.TRADE_RETCODE_MARKET_CLOSED
    if not _check_volume(sym, req.volume):
        return _C.TRADE_RETCODE_INVALID_VOLUME
    buy = req.type in (_C.ORDER_TYPE_BUY, _C.ORDER_TYPE_BUY_LIMIT, _C.ORDER_TYPE_BUY_STOP)
    closing = req.action == _C.TRADE_ACTION_DEAL and req.position
    if not closing:
        if sym.trade_mode == _C.SYMBOL_TRADE_MODE_CLOSEONLY:
            return _C.TRADE_RETCODE_CLOSE_ONLY
        if sym.trade_mode == _C.SYMBOL_TRADE_MODE_LONGONLY and not buy:
            return _C.TRADE_RETCODE_LONG_ONLY
        if sym.trade_mode == _C.SYMBOL_TRADE_MODE_SHORTONLY and buy:
            return _C.TRADE_RETCODE_SHORT_ONLY
    if req.action == _C.TRADE_ACTION_DEAL:
        if not _filling_allowed(sym, req.type_filling):
            return _C.TRADE_RETCODE_INVALID_FILL
        market = sym.ask if buy else sym.bid
        if sym.trade_exemode in (_C.SYMBOL_TRADE_EXECUTION_INSTANT, _C.SYMBOL_TRADE_EXECUTION_REQUEST):
            if not req.price:
                return _C.TRADE_RETCODE_INVALID_PRICE
            if abs(req.price - market) > req.deviation * sym.point + 1e-9:
                return _C.TRADE_RETCODE_REQUOTE
        if closing:
            pos = t.positions.get(req.position)
            if pos is None:
                return _C.TRADE_RETCODE_POSITION_CLOSED
            if req.volume > pos.volume + 1e-9:
                return _C.TRADE_RETCODE_INVALID_CLOSE_VOLUME
            return 0
        if not _stops_ok(sym, buy, sym.bid if buy else sym.ask, req.sl, req.tp):
            return _C.TRADE_RETCODE_INVALID_STOPS
    elif req.action == _C.TRADE_ACTION_PENDING:
        price = req.price
        valid = {
            _C.ORDER_TYPE_BUY_LIMIT: 0 < price < sym.ask,
            _C.ORDER_TYPE_SELL_LIMIT: price > sym.bid,
            _C.ORDER_TYPE_BUY_STOP: price > sym.ask,
            _C.ORDER_TYPE_SELL_STOP: 0 < price < sym.bid,
        }.get(req.type)
        if not valid:
            return _C.TRADE_RETCODE_INVALID_PRICE
        if not _stops_ok(sym, buy, price, req.sl, req.tp):
            return _C.TRADE_RETCODE_INVALID_STOPS
    else:
        return _C.TRADE_RETCODE_INVALID
    needed = sym.trade_contract_size * req.volume * (sym.ask if buy else sym.bid) / t.leverage
    if needed > t.equity() - t.margin():
        return _C.TRADE_RETCODE_NO_MONEY
    return 0


def _execute(t: SimulatedTerminal, req: TradeRequest) -> OrderSendResult:
    retcode = _validate(t, req)
    if retcode:
        return _result(t, retcode, req)
    sym = t.symbols.get(req.symbol)
    if req.action == _C.TRADE_ACTION_REMOVE:
        t._retire_order(t.orders[req.order], _C.ORDER_STATE_CANCELED)
        return _result(t, _C.TRADE_RETCODE_DONE, req, order=req.order)
    if req.action == _C.TRADE_ACTION_SLTP:
        pos = t.positions[req.position]
        pos.sl, pos.tp = req.sl, req.tp
        pos.time_update = t.server_time()
        return _result(t, _C.TRADE_RETCODE_DONE, req)
    buy = req.type in (_C.ORDER_TYPE_BUY, _C.ORDER_TYPE_BUY_LIMIT, _C.ORDER_TYPE_BUY_STOP)
    if req.action == _C.TRADE_ACTION_PENDING:
        ticket = t.next_order_ticket()
        t.orders[ticket] = _Order(
            ticket=ticket,
            symbol=sym.name,
            type=req.type,
            volume_initial=req.volume,
            volume_current=req.volume,
            price_open=req.price,
            sl=req.sl,
            tp=req.tp,
            magic=req.magic,
            comment=req.comment[: t.comment_limit],
            time_setup=t.server_time(),
            type_time=req.type_time,
            type_filling=req.type_filling,
            time_expiration=float(req.expiration or 0),
            price_current=sym.ask if buy else sym.bid,
        )
        return _result(t, _C.TRADE_RETCODE_PLACED, req, order=ticket, volume=req.volume, price=req.price)
    slip = t.fill_slippage_points * sym.point
    price = round((sym.ask + slip) if buy else (sym.bid - slip), sym.digits)
    if req.position:
        pos = t.positions[req.position]
        deal = t._close(
            pos, req.volume, price, reason=_C.DEAL_REASON_EXPERT, magic=req.magic, comment=req.comment
        )
        return _result(
            t, _C.TRADE_RETCODE_DONE, req, deal=deal.ticket, order=deal.order, volume=req.volume, price=price
        )
    pos, deal = t.open_position(
        sym=sym,
        type_=req.type,
        volume=req.volume,
        price=price,
        sl=req.sl,
        tp=req.tp,
        magic=req.magic,
        comment=req.comment,
        type_filling=req.type_filling,
    )
    return _result(
        t, _C.TRADE_RETCODE_DONE, req, deal=deal.ticket, order=pos.ticket, volume=req.volume, price=price
    )


def order_check(request: dict) -> OrderCheckResult | None:
    t = _terminal
    if not t.ready("order_check"):
        return None
    req = _parse_request(t, request)
    if req is None:
        return None
    retcode = _validate(t, req)
    equity, margin = t.equity(), t.margin()
    return OrderCheckResult(
        retcode=retcode,
        balance=t.balance,
        equity=equity,
        profit=round(equity - t.balance, 2),
        margin=margin,
        margin_free=round(equity - margin, 2),
        margin_level=round(equity / margin * 100, 2) if margin else 0.0,
        comment="Done" if retcode == 0 else RETCODE_COMMENTS.get(retcode, ""),
        request=req,
    )


def order_send(request: dict) -> OrderSendResult | None:
    t = _terminal
    if not t.ready("order_send"):
        return None
    req = _parse_request(t, request)
    if req is None:
        return None
    t.requests.append(dict(request))
    outcome = t.script.popleft() if t.script else "done"
    if callable(outcome):
        outcome = outcome(req)
    if outcome is None or outcome == "none":
        t.error = (_C.RES_E_INTERNAL_FAIL_TIMEOUT, "IPC timeout")
        return None
    if isinstance(outcome, int):
        return _result(t, outcome, req)
    result = _execute(t, req)
    placed = result.retcode in (_C.TRADE_RETCODE_DONE, _C.TRADE_RETCODE_PLACED)
    if outcome == "timeout_placed" and placed:
        return _result(t, _C.TRADE_RETCODE_TIMEOUT, req)
    if outcome == "none_placed" and placed:
        t.error = (_C.RES_E_INTERNAL_FAIL_TIMEOUT, "IPC timeout")
        return None
    if outcome == "kill_after_send" and placed:
        raise AgentKilled("the agent process died after order_send")
    return result


# --- positions, orders, history ------------------------------------------------------------------
def _position_tuple(t: SimulatedTerminal, p: _Position) -> TradePosition:
    sym = t.symbols[p.symbol]
    current = sym.bid if p.type == _C.POSITION_TYPE_BUY else sym.ask
    return TradePosition(
        ticket=p.ticket,
        time=int(p.time),
        time_msc=int(p.time * 1000),
        time_update=int(p.time_update),
        time_update_msc=int(p.time_update * 1000),
        type=p.type,
        magic=p.magic,
        identifier=p.ticket,
        reason=p.reason,
        volume=p.volume,
        price_open=p.price_open,
        sl=p.sl,
        tp=p.tp,
        price_current=current,
        swap=p.swap,
        profit=t.profit(sym, p.type, p.price_open, current, p.volume),
        symbol=p.symbol,
        comment=p.comment,
        external_id="",
    )


def _order_tuple(o: _Order) -> TradeOrder:
    return TradeOrder(
        ticket=o.ticket,
        time_setup=int(o.time_setup),
        time_setup_msc=int(o.time_setup * 1000),
        time_done=int(o.time_done),
        time_done_msc=int(o.time_done * 1000),
        time_expiration=int(o.time_expiration),
        type=o.type,
        type_time=o.type_time,
        type_filling=o.type_filling,
        state=o.state,
        magic=o.magic,
        position_id=o.position_id,
        position_by_id=0,
        reason=o.reason,
        volume_initial=o.volume_initial,
        volume_current=o.volume_current,
        price_open=o.price_open,
        sl=o.sl,
        tp=o.tp,
        price_current=o.price_current,
        price_stoplimit=0.0,
        symbol=o.symbol,
        comment=o.comment,
        external_id="",
    )


def _select(items: list, *, symbol: str | None, group: str | None, ticket: int | None) -> list:
    if ticket is not None:
        return [i for i in items if i.ticket == ticket]
    if symbol is not None:
        return [i for i in items if i.symbol == symbol]
    return [i for i in items if _group_match(i.symbol, group)]


def positions_total() -> int | None:
    return len(_terminal.positions) if _terminal.ready("positions_total") else None


def positions_get(symbol: str | None = None, group: str | None = None, ticket: int | None = None):
    t = _terminal
    if not t.ready("positions_get"):
        return None
    chosen = _select(list(t.positions.values()), symbol=symbol, group=group, ticket=ticket)
    return tuple(_position_tuple(t, p) for p in chosen)


def orders_total() -> int | None:
    return len(_terminal.orders) if _terminal.ready("orders_total") else None


def orders_get(symbol: str | None = None, group: str | None = None, ticket: int | None = None):
    t = _terminal
    if not t.ready("orders_get"):
        return None
    chosen = _select(list(t.orders.values()), symbol=symbol, group=group, ticket=ticket)
    return tuple(_order_tuple(o) for o in chosen)


def _epoch(value: Any) -> float:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return float(calendar.timegm(value.timetuple()))
        return value.timestamp()
    return float(value)


def _history_args(t: SimulatedTerminal, name: str, args: tuple, kwargs: dict) -> tuple | None:
    """Real call forms: (date_from, date_to[, group=]) or (ticket=) or (position=)."""
    if not t.ready(name):
        return None
    if "ticket" in kwargs or "position" in kwargs:
        return ("ticket", kwargs["ticket"]) if "ticket" in kwargs else ("position", kwargs["position"])
    dates = list(args) + [kwargs.get("date_from"), kwargs.get("date_to")][len(args) :]
    if len(dates) < 2 or dates[0] is None or dates[1] is None:
        t.error = (_C.RES_E_INVALID_PARAMS, "Invalid arguments")
        return None
    return ("dates", _epoch(dates[0]), _epoch(dates[1]), kwargs.get("group"))


def history_orders_get(*args: Any, **kwargs: Any):
    t = _terminal
    how = _history_args(t, "history_orders_get", args, kwargs)
    if how is None:
        return None
    if how[0] == "ticket":
        chosen = [o for o in t.history_orders if o.ticket == how[1]]
    elif how[0] == "position":
        chosen = [o for o in t.history_orders if o.position_id == how[1]]
    else:
        _, start, end, group = how
        chosen = [
            o for o in t.history_orders if start <= o.time_setup <= end and _group_match(o.symbol, group)
        ]
    return tuple(_order_tuple(o) for o in chosen)


def history_orders_total(date_from: Any, date_to: Any) -> int | None:
    found = history_orders_get(date_from, date_to)
    return None if found is None else len(found)


def history_deals_get(*args: Any, **kwargs: Any):
    t = _terminal
    how = _history_args(t, "history_deals_get", args, kwargs)
    if how is None:
        return None
    if how[0] == "ticket":  # deals of an order (DEAL_ORDER)
        return tuple(d for d in t.deals if d.order == how[1])
    if how[0] == "position":
        return tuple(d for d in t.deals if d.position_id == how[1])
    _, start, end, group = how
    return tuple(d for d in t.deals if start <= d.time <= end and _group_match(d.symbol, group))


def history_deals_total(date_from: Any, date_to: Any) -> int | None:
    found = history_deals_get(date_from, date_to)
    return None if found is None else len(found)
