"""MetaTrader 5 adapter. Takes the `MetaTrader5` module as a parameter (tests pass the double).

Retcode policy (shared/reference/mt5.md):
  10009/10008/10010 success; 10004/10020/10021 retry with a fresh tick a bounded number of times;
  10031/10024 wait and retry; 10012 or a None result: the outcome is unknown, so look the order
  up by its tag (positions, pending orders, history) before any resend; 10014/10016/10017/10018/
  10019/10030 are never retried; 10027 means Algo Trading is off in the terminal: tell the user.
Every order carries `magic` and the comment tag `order_tag(order_id)`; the terminal cannot
filter on either, so lookups filter on the client side.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

from pydantic import ValidationError
from signalos.contracts.execution import CloseReason, SymbolSpec
from signalos.contracts.orders import SIGNALOS_MAGIC, OpenOrder, order_tag

from bridge_agent.brokers.base import (
    AccountState,
    BrokerUnavailable,
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
from bridge_agent.config import Mt5Settings

log = logging.getLogger(__name__)

SUCCESS = {10008, 10009, 10010}
RETRY_WITH_FRESH_PRICE = {10004, 10020, 10021}
WAIT_AND_RETRY = {10024, 10031}
OUTCOME_UNKNOWN = {10012}
NEVER_RETRY = {10014, 10016, 10017, 10018, 10019, 10030}
ALGO_TRADING_OFF = 10027
NO_CHANGES = 10025
# last_error() codes meaning the terminal itself is unreachable (not a refused request).
IPC_ERRORS = {-10000, -10001, -10002, -10003, -10004, -10005}
ALGO_OFF_MESSAGE = (
    "Algo Trading is off in the MetaTrader 5 terminal: press the 'Algo Trading' button in its toolbar "
    "(and allow algorithmic trading in Tools > Options > Expert Advisors)"
)

# Other names brokers give the same instrument (tried after the mapping, the suffix and a prefix search).
ALIASES: dict[str, tuple[str, ...]] = {
    "XAUUSD": ("GOLD",),
    "XAGUSD": ("SILVER",),
    "US30": ("DJ30", "WS30", "DJI30", "US30Cash"),
    "NAS100": ("USTEC", "US100", "NDX100", "USTECH"),
    "SPX500": ("US500", "SP500"),
    "GER40": ("DE40", "GER30", "DAX40", "DE30"),
    "UK100": ("FTSE100",),
    "USOIL": ("WTI", "XTIUSD", "USOUSD"),
    "UKOIL": ("BRENT", "XBRUSD", "UKOUSD"),
    "BTCUSD": ("BTCUSDT", "BITCOIN"),
}


def _tag_matches(comment: str, tag: str) -> bool:
    """The broker may cut the end of a comment: a long-enough prefix of the tag counts."""
    return bool(comment) and (comment == tag or (len(comment) >= 12 and tag.startswith(comment)))


class Mt5Broker:
    name = "mt5"

    def __init__(
        self,
        mt5: ModuleType | Any,
        *,
        settings: Mt5Settings | None = None,
        magic: int = SIGNALOS_MAGIC,
        symbol_map: dict[str, str] | None = None,
        suffix: str = "",
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.mt5 = mt5
        self.settings = settings or Mt5Settings()
        self.magic = magic
        self.symbol_map = dict(symbol_map or {})
        self.suffix = suffix
        self._sleep = sleep
        self._clock = clock
        self._resolved: dict[tuple[str, str | None, str], str] = {}
        self._retcode_names = {
            getattr(mt5, n): n.removeprefix("TRADE_RETCODE_")
            for n in dir(mt5)
            if n.startswith("TRADE_RETCODE_")
        }
        self.sends = 0  # order_send calls made (for tests and benchmarks)

    # ---- connection ------------------------------------------------------------------------------
    def _error(self) -> tuple[int, str]:
        code, message = self.mt5.last_error()
        return int(code), str(message)

    def connect(self) -> None:
        s = self.settings
        kwargs = {k: v for k, v in (("login", s.login), ("password", s.password), ("server", s.server)) if v}
        if kwargs:
            kwargs["timeout"] = s.timeout_ms
        ok = self.mt5.initialize(s.path, **kwargs) if s.path else self.mt5.initialize(**kwargs)
        if not ok:
            code, message = self._error()
            raise BrokerUnavailable(
                f"MT5 initialize failed: {message} ({code}). Is the terminal installed and running?"
            )
        info = self.mt5.account_info()
        if info is None:
            code, message = self._error()
            raise BrokerUnavailable(f"MT5 account_info failed: {message} ({code})")
        if s.login and info.login != s.login:
            raise BrokerUnavailable(f"the terminal is logged in to account {info.login}, not {s.login}")
        self._resolved.clear()  # symbols may differ after a terminal restart or re-login
        log.info("connected to MT5 account %s on %s", info.login, info.server)

    def disconnect(self) -> None:
        self.mt5.shutdown()

    def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """A terminal call; None with an IPC error means the terminal is gone (BrokerUnavailable)."""
        result = getattr(self.mt5, name)(*args, **kwargs)
        if result is None:
            code, message = self._error()
            if code in IPC_ERRORS:
                raise BrokerUnavailable(f"MT5 {name}: {message} ({code})")
        return result

    def _retcode_text(self, retcode: int, comment: str = "") -> str:
        name = self._retcode_names.get(retcode, "UNKNOWN")
        return f"{name} ({retcode})" + (f": {comment}" if comment else "")

    # ---- account ----------------------------------------------------------------------------------
    def account(self) -> AccountState:
        info = self._call("account_info")
        term = self._call("terminal_info")
        if info is None or term is None:
            raise BrokerUnavailable("MT5 account_info/terminal_info returned nothing")
        return AccountState(
            login=info.login,
            currency=info.currency,
            balance=info.balance,
            equity=info.equity,
            margin_free=info.margin_free,
            leverage=info.leverage,
            terminal_connected=bool(term.connected),
            trade_allowed=bool(term.trade_allowed and info.trade_allowed),
        )

    def _position(self, p: Any) -> Position:
        return Position(
            ticket=p.ticket,
            symbol=p.symbol,
            side="buy" if p.type == self.mt5.POSITION_TYPE_BUY else "sell",
            volume=p.volume,
            price_open=p.price_open,
            stop_loss=p.sl or None,
            take_profit=p.tp or None,
            profit=p.profit,
            swap=p.swap,
            comment=p.comment,
            price_current=p.price_current,
        )

    def positions(self) -> list[Position]:
        return [self._position(p) for p in self._call("positions_get") or () if p.magic == self.magic]

    # ---- symbols ----------------------------------------------------------------------------------
    def resolve_symbol(self, canonical: str, broker_symbol: str | None = None, suffix: str = "") -> str:
        """Canonical -> broker name: subscription mapping, config mapping, suffixes, then a search."""
        key = (canonical, broker_symbol, suffix)
        if key in self._resolved:
            return self._resolved[key]
        candidates = [broker_symbol, self.symbol_map.get(canonical)]
        candidates += [canonical + sfx for sfx in (suffix, self.suffix) if sfx]
        candidates.append(canonical)
        tried: list[str] = []
        for name in candidates:
            if name and name not in tried:
                tried.append(name)
                if self._call("symbol_info", name) is not None:
                    self._resolved[key] = name
                    return name
        wanted = canonical.upper()
        aliases = {a.upper() for a in ALIASES.get(wanted, ())}
        matches = [
            s
            for s in self._call("symbols_get") or ()
            if s.name.upper().startswith(wanted)
            or s.name.upper() in aliases
            or any(s.name.upper().startswith(a) for a in aliases)
        ]
        if matches:
            # Tradable first, then already in Market Watch, then the shortest (least decorated) name.
            best = min(matches, key=lambda s: (s.trade_mode == 0, not s.visible, len(s.name), s.name))
            self._resolved[key] = best.name
            log.info("symbol %s resolved to %s by search", canonical, best.name)
            return best.name
        raise SymbolNotFound(
            f"symbol {canonical} not found at this broker (tried {', '.join(tried)} and a search); "
            f"add it to symbol_map in the bridge config or the subscription"
        )

    def _select(self, broker_symbol: str) -> Any:
        if not self._call("symbol_select", broker_symbol, True):
            code, message = self._error()
            raise SymbolNotFound(f"cannot show {broker_symbol} in Market Watch: {message} ({code})")
        info = self._call("symbol_info", broker_symbol)
        if info is None:
            raise SymbolNotFound(f"symbol {broker_symbol} disappeared from the terminal")
        return info

    def _tick(self, broker_symbol: str) -> Any:
        tick = self._call("symbol_info_tick", broker_symbol)
        if tick is None:
            raise BrokerUnavailable(f"no price for {broker_symbol}")
        return tick

    def quote(self, broker_symbol: str) -> tuple[float, float]:
        self._select(broker_symbol)
        tick = self._tick(broker_symbol)
        return tick.bid, tick.ask

    def symbol_spec(self, canonical: str, broker_symbol: str) -> SymbolSpec:
        info = self._select(broker_symbol)
        tick = self._call("symbol_info_tick", broker_symbol)
        try:
            return SymbolSpec(
                symbol=canonical,
                broker_symbol=broker_symbol,
                digits=info.digits,
                point=info.point,
                volume_min=info.volume_min,
                volume_max=info.volume_max,
                volume_step=info.volume_step,
                trade_tick_value=info.trade_tick_value,
                trade_tick_size=info.trade_tick_size,
                trade_contract_size=info.trade_contract_size,
                trade_stops_level=info.trade_stops_level,
                trade_freeze_level=info.trade_freeze_level,
                trade_mode=info.trade_mode,
                spread=info.spread,
                filling_mode=info.filling_mode,
                currency_profit=info.currency_profit,
                bid=tick.bid if tick else info.bid,
                ask=tick.ask if tick else info.ask,
            )
        except ValidationError as exc:
            raise SymbolNotFound(
                f"{broker_symbol}: incomplete symbol data from the terminal ({exc.error_count()} fields)"
            ) from None

    def filling_for(self, filling_mask: int) -> int:
        """The fill policy the symbol allows: bit 1 FOK, bit 2 IOC, else RETURN (10030 otherwise)."""
        if filling_mask & 1:
            return self.mt5.ORDER_FILLING_FOK
        if filling_mask & 2:
            return self.mt5.ORDER_FILLING_IOC
        return self.mt5.ORDER_FILLING_RETURN

    # ---- opening ----------------------------------------------------------------------------------
    def _order_type(self, order: OpenOrder) -> int:
        m = self.mt5
        return {
            ("buy", "market"): m.ORDER_TYPE_BUY,
            ("sell", "market"): m.ORDER_TYPE_SELL,
            ("buy", "limit"): m.ORDER_TYPE_BUY_LIMIT,
            ("sell", "limit"): m.ORDER_TYPE_SELL_LIMIT,
            ("buy", "stop"): m.ORDER_TYPE_BUY_STOP,
            ("sell", "stop"): m.ORDER_TYPE_SELL_STOP,
        }[(order.side, order.order_type)]

    def _tick_problem(self, tick: Any) -> str | None:
        limit = self.settings.max_tick_age_seconds
        if limit is None:
            return None
        age = self._clock().timestamp() + self.settings.server_utc_offset_seconds - tick.time_msc / 1000
        if age > limit:
            return f"no fresh price: the last tick is {age:.0f}s old (market closed?)"
        return None

    def _market_problem(self, order: OpenOrder, info: Any, tick: Any) -> str | None:
        """Spread and price-distance guards, re-checked on every fresh tick."""
        if (problem := self._tick_problem(tick)) is not None:
            return problem
        spread = round((tick.ask - tick.bid) / info.point, 1)
        if order.max_spread_points is not None and spread > order.max_spread_points:
            return f"spread {spread:g} points is above the maximum {order.max_spread_points:g}"
        if order.order_type == "market" and order.price is not None and order.max_price_distance is not None:
            current = tick.ask if order.side == "buy" else tick.bid
            if abs(current - order.price) > order.max_price_distance + 1e-9:
                return (
                    f"price moved: market {current} is {abs(current - order.price):.{info.digits}f} from the "
                    f"planned {order.price} (max {order.max_price_distance:g})"
                )
        return None

    def execute_open(self, order: OpenOrder) -> OpenResult:
        term = self._call("terminal_info")
        if term is None:
            raise BrokerUnavailable("MT5 terminal_info returned nothing")
        if not term.connected:
            raise BrokerUnavailable("the MT5 terminal is not connected to the trade server")
        if not term.trade_allowed:
            return OpenResult(status="rejected", retcode=ALGO_TRADING_OFF, reason=ALGO_OFF_MESSAGE)
        account = self._call("account_info")
        if account is not None and not account.trade_allowed:
            return OpenResult(
                status="rejected", reason="trading is not allowed on this account (investor password?)"
            )
        try:
            symbol = self.resolve_symbol(order.symbol, order.broker_symbol, order.symbol_suffix)
            info = self._select(symbol)
        except SymbolNotFound as exc:
            return OpenResult(status="rejected", reason=str(exc))

        def rejected(reason: str, retcode: int | None = None) -> OpenResult:
            return OpenResult(status="rejected", broker_symbol=symbol, retcode=retcode, reason=reason)

        m = self.mt5
        if info.trade_mode == m.SYMBOL_TRADE_MODE_DISABLED:
            return rejected(f"trading is disabled for {symbol}", m.TRADE_RETCODE_TRADE_DISABLED)
        if info.trade_mode == m.SYMBOL_TRADE_MODE_CLOSEONLY:
            return rejected(f"{symbol} is close-only at this broker", m.TRADE_RETCODE_CLOSE_ONLY)
        if info.trade_mode == m.SYMBOL_TRADE_MODE_LONGONLY and order.side == "sell":
            return rejected(f"{symbol} allows long positions only", m.TRADE_RETCODE_LONG_ONLY)
        if info.trade_mode == m.SYMBOL_TRADE_MODE_SHORTONLY and order.side == "buy":
            return rejected(f"{symbol} allows short positions only", m.TRADE_RETCODE_SHORT_ONLY)
        volume = round_volume_down(order.volume, info.volume_step, info.volume_min, info.volume_max)
        if volume is None:
            return rejected(
                f"volume {order.volume:g} is below the minimum {info.volume_min:g} for {symbol}",
                m.TRADE_RETCODE_INVALID_VOLUME,
            )
        tick = self._tick(symbol)
        if (problem := self._market_problem(order, info, tick)) is not None:
            return rejected(problem)
        digits = info.digits
        sl, tp = round_price(order.stop_loss, digits), round_price(order.take_profit, digits)
        min_distance = info.trade_stops_level * info.point
        pending = order.order_type != "market"
        if pending:
            price = round_price(order.price, digits)
            assert price is not None
            crossed = {
                ("buy", "limit"): price >= tick.ask,
                ("sell", "limit"): price <= tick.bid,
                ("buy", "stop"): price <= tick.ask,
                ("sell", "stop"): price >= tick.bid,
            }[(order.side, order.order_type)]
            if crossed:
                return rejected(
                    f"{order.side} {order.order_type} at {price} is on the wrong side of the market "
                    f"({tick.bid}/{tick.ask})",
                    m.TRADE_RETCODE_INVALID_PRICE,
                )
            reference = price
        else:
            price = tick.ask if order.side == "buy" else tick.bid
            reference = tick.bid if order.side == "buy" else tick.ask  # the side a position closes on
        if (problem := stops_problem(order.side, reference, sl, tp, min_distance)) is not None:
            return rejected(
                f"{problem} (stops level {info.trade_stops_level} points)", m.TRADE_RETCODE_INVALID_STOPS
            )
        request: dict[str, Any] = {
            "action": m.TRADE_ACTION_PENDING if pending else m.TRADE_ACTION_DEAL,
            "symbol": symbol,
            "volume": volume,
            "type": self._order_type(order),
            "price": price,
            "sl": sl or 0.0,
            "tp": tp or 0.0,
            "deviation": order.deviation_points,
            "magic": self.magic,
            "comment": order_tag(order.order_id),
            "type_time": m.ORDER_TIME_GTC,
            "type_filling": self.filling_for(info.filling_mode),
        }
        return self._send_open(order, request, info)

    def _send_open(self, order: OpenOrder, request: dict[str, Any], info: Any) -> OpenResult:
        m = self.mt5
        symbol = request["symbol"]
        tag = request["comment"]
        requotes = busy = resends = 0
        while True:
            self.sends += 1
            result = m.order_send(request)
            retcode = None if result is None else result.retcode
            if retcode in SUCCESS:
                return self._opened(result, request)
            if retcode in RETRY_WITH_FRESH_PRICE and request["action"] == m.TRADE_ACTION_DEAL:
                if requotes >= self.settings.max_requotes or order.is_expired(self._clock()):
                    return OpenResult(
                        status="failed",
                        broker_symbol=symbol,
                        retcode=retcode,
                        reason=f"gave up after {requotes} requotes: "
                        f"{self._retcode_text(retcode, result.comment)}",
                    )
                requotes += 1
                tick = self._tick(symbol)
                if (problem := self._market_problem(order, info, tick)) is not None:
                    return OpenResult(
                        status="rejected", broker_symbol=symbol, retcode=retcode, reason=problem
                    )
                request["price"] = tick.ask if order.side == "buy" else tick.bid
                log.info("%s: %s, retrying at %s", tag, self._retcode_text(retcode), request["price"])
                continue
            if retcode in WAIT_AND_RETRY:
                if busy >= self.settings.busy_retries or order.is_expired(self._clock()):
                    return OpenResult(
                        status="failed",
                        broker_symbol=symbol,
                        retcode=retcode,
                        reason=f"gave up after {busy} retries: {self._retcode_text(retcode, result.comment)}",
                    )
                busy += 1
                self._sleep(min(0.5 * 2 ** (busy - 1), 5.0))
                continue
            if result is None or retcode in OUTCOME_UNKNOWN:
                if result is None:
                    code, message = self._error()
                    what = f"order_send returned None: {message} ({code})"
                else:
                    what = self._retcode_text(retcode)
                log.warning("%s: outcome unknown (%s); looking the order up before anything else", tag, what)
                found = self._lookup(tag, symbol)
                if found is not None:
                    return found.as_open_result("found on the terminal after an unknown outcome")
                if resends >= 1 or order.is_expired(self._clock()):
                    return OpenResult(
                        status="failed",
                        broker_symbol=symbol,
                        retcode=retcode,
                        unknown=True,
                        reason=f"outcome unknown ({what}) and the order is not on the terminal",
                    )
                resends += 1  # the lookup proved the first request left nothing behind
                continue
            if retcode == ALGO_TRADING_OFF:
                return OpenResult(
                    status="rejected", broker_symbol=symbol, retcode=retcode, reason=ALGO_OFF_MESSAGE
                )
            # NEVER_RETRY and everything else: report the reason, do not send again as is.
            return OpenResult(
                status="rejected",
                broker_symbol=symbol,
                retcode=retcode,
                reason=self._retcode_text(retcode, result.comment),
            )

    def _opened(self, result: Any, request: dict[str, Any]) -> OpenResult:
        m = self.mt5
        sl, tp = request["sl"] or None, request["tp"] or None
        if request["action"] == m.TRADE_ACTION_PENDING:
            return OpenResult(
                status="placed",
                broker_symbol=request["symbol"],
                ticket=result.order,
                volume=result.volume or request["volume"],
                price=request["price"],
                stop_loss=sl,
                take_profit=tp,
                retcode=result.retcode,
            )
        # The position id is the opening order's ticket on hedging accounts; the deal says for sure.
        deals = self._call("history_deals_get", ticket=result.order) or ()
        position_id = next((d.position_id for d in deals if d.ticket == result.deal), result.order)
        return OpenResult(
            status="filled",
            broker_symbol=request["symbol"],
            ticket=position_id,
            deal=result.deal,
            volume=result.volume,
            price=result.price,
            stop_loss=sl,
            take_profit=tp,
            retcode=result.retcode,
        )

    def _lookup(self, tag: str, symbol: str) -> Found | None:
        attempts = self.settings.lookup_attempts
        for attempt in range(attempts):
            found = self.find_by_tag(tag, symbol)
            if found is not None:
                return found
            if attempt + 1 < attempts:
                self._sleep(0.5 * 2**attempt)  # the server may still be booking it
        return None


    # ---- finding and tracking -------------------------------------------------------------------
    def _history_window(self) -> tuple[int, int]:
        now = int(self._clock().timestamp()) + self.settings.server_utc_offset_seconds
        return now - self.settings.history_lookback_hours * 3600, now + 2 * 86400

    def find_by_tag(self, tag: str, broker_symbol: str | None = None) -> Found | None:
        m = self.mt5
        ours = [
            p
            for p in self._call("positions_get") or ()
            if p.magic == self.magic and _tag_matches(p.comment, tag)
        ]
        if ours:
            p = ours[0]
            entry = self._entry_deal(p.ticket)
            return Found(
                state="open",
                ticket=p.ticket,
                broker_symbol=p.symbol,
                side="buy" if p.type == m.POSITION_TYPE_BUY else "sell",
                volume=p.volume,
                price=p.price_open,
                stop_loss=p.sl or None,
                take_profit=p.tp or None,
                deal=entry.ticket if entry else None,
            )
        for o in self._call("orders_get") or ():
            if o.magic == self.magic and _tag_matches(o.comment, tag):
                return Found(
                    state="pending",
                    ticket=o.ticket,
                    broker_symbol=o.symbol,
                    side=self._order_side(o.type),
                    volume=o.volume_current,
                    price=o.price_open,
                    stop_loss=o.sl or None,
                    take_profit=o.tp or None,
                )
        start, end = self._history_window()
        for o in self._call("history_orders_get", start, end) or ():
            if o.magic != self.magic or not _tag_matches(o.comment, tag):
                continue
            if o.state == m.ORDER_STATE_FILLED:
                entry = self._entry_deal(o.position_id or o.ticket)
                return Found(
                    state="closed",
                    ticket=o.position_id or o.ticket,
                    broker_symbol=o.symbol,
                    side=self._order_side(o.type),
                    volume=o.volume_initial,
                    price=entry.price if entry else o.price_open,
                    stop_loss=o.sl or None,
                    take_profit=o.tp or None,
                    deal=entry.ticket if entry else None,
                )
            if o.state in (m.ORDER_STATE_CANCELED, m.ORDER_STATE_EXPIRED):
                return Found(
                    state="cancelled" if o.state == m.ORDER_STATE_CANCELED else "expired",
                    ticket=o.ticket,
                    broker_symbol=o.symbol,
                    side=self._order_side(o.type),
                    volume=o.volume_initial,
                    price=o.price_open,
                    stop_loss=o.sl or None,
                    take_profit=o.tp or None,
                )
        return None

    def _order_side(self, order_type: int) -> str:
        m = self.mt5
        buys = (m.ORDER_TYPE_BUY, m.ORDER_TYPE_BUY_LIMIT, m.ORDER_TYPE_BUY_STOP, m.ORDER_TYPE_BUY_STOP_LIMIT)
        return "buy" if order_type in buys else "sell"

    def _entry_deal(self, position_id: int) -> Any:
        deals = self._call("history_deals_get", position=position_id) or ()
        return next((d for d in deals if d.entry == self.mt5.DEAL_ENTRY_IN), None)

    def _close_reason(self, deal: Any) -> CloseReason:
        m = self.mt5
        return {
            m.DEAL_REASON_TP: "tp",
            m.DEAL_REASON_SL: "sl",
            m.DEAL_REASON_SO: "stop_out",
            m.DEAL_REASON_CLIENT: "manual",
            m.DEAL_REASON_MOBILE: "manual",
            m.DEAL_REASON_WEB: "manual",
        }.get(deal.reason, "command" if deal.comment.startswith("sos-") else "manual")

    def track(self, ticket: int, pending: bool) -> TicketState:
        m = self.mt5
        if pending:
            if self._call("orders_get", ticket=ticket):
                return TicketState(state="pending")
            history = self._call("history_orders_get", ticket=ticket) or ()
            if not history:
                return TicketState(state="missing")
            order = history[-1]
            if order.state == m.ORDER_STATE_CANCELED:
                return TicketState(state="cancelled")
            if order.state == m.ORDER_STATE_EXPIRED:
                return TicketState(state="expired")
            if order.state != m.ORDER_STATE_FILLED:
                return TicketState(state="cancelled")
            ticket = order.position_id or ticket
        deals = self._call("history_deals_get", position=ticket) or ()
        entry = next((d for d in deals if d.entry == m.DEAL_ENTRY_IN), None)
        fill = (
            {"fill_price": entry.price, "fill_volume": entry.volume, "fill_deal": entry.ticket}
            if entry
            else {}
        )
        live = self._call("positions_get", ticket=ticket) or ()
        if live:
            return TicketState(state="open", position=self._position(live[0]), **fill)
        exits = [d for d in deals if d.entry in (m.DEAL_ENTRY_OUT, m.DEAL_ENTRY_OUT_BY, m.DEAL_ENTRY_INOUT)]
        if not exits:
            return TicketState(state="missing", **fill)
        last = exits[-1]
        close = CloseInfo(
            price=last.price,
            volume=round(sum(d.volume for d in exits), 8),
            profit=round(sum(d.profit for d in exits), 2),
            commission=round(sum(d.commission for d in deals), 2),
            swap=round(sum(d.swap for d in deals), 2),
            reason=self._close_reason(last),
            deal=last.ticket,
            time=datetime.fromtimestamp(last.time - self.settings.server_utc_offset_seconds, UTC),
        )
        return TicketState(state="closed", close=close, **fill)

    # ---- management -------------------------------------------------------------------------------
    def _live_position(self, ticket: int) -> Any:
        live = self._call("positions_get", ticket=ticket) or ()
        return live[0] if live else None

    def _send_simple(self, request: dict[str, Any]) -> Any:
        """order_send for management requests: retries busy/requote codes; returns the last result."""
        m = self.mt5
        tries = 0
        while True:
            self.sends += 1
            result = m.order_send(request)
            retcode = None if result is None else result.retcode
            retry = retcode in WAIT_AND_RETRY or (
                retcode in RETRY_WITH_FRESH_PRICE and request["action"] == m.TRADE_ACTION_DEAL
            )
            if not retry or tries >= max(self.settings.max_requotes, self.settings.busy_retries):
                return result
            tries += 1
            if retcode in RETRY_WITH_FRESH_PRICE:
                tick = self._tick(request["symbol"])
                request["price"] = tick.ask if request["type"] == m.ORDER_TYPE_BUY else tick.bid
            else:
                self._sleep(min(0.5 * 2 ** (tries - 1), 5.0))

    def _failed(self, result: Any, ticket: int) -> ManageResult:
        if result is None:
            code, message = self._error()
            if code in IPC_ERRORS:
                raise BrokerUnavailable(f"MT5 order_send: {message} ({code})")
            return ManageResult(
                status="failed", ticket=ticket, reason=f"order_send returned None: {message} ({code})"
            )
        if result.retcode == ALGO_TRADING_OFF:
            return ManageResult(
                status="rejected", ticket=ticket, retcode=result.retcode, reason=ALGO_OFF_MESSAGE
            )
        return ManageResult(
            status="rejected",
            ticket=ticket,
            retcode=result.retcode,
            reason=self._retcode_text(result.retcode, result.comment),
        )

    def modify(
        self, ticket: int, stop_loss: float | None, take_profit: float | None, tag: str
    ) -> ManageResult:
        m = self.mt5
        pos = self._live_position(ticket)
        if pos is None:
            pending = self._call("orders_get", ticket=ticket) or ()
            if pending:
                return self._modify_pending(pending[0], stop_loss, take_profit)
            return ManageResult.position_gone(ticket)
        info = self._select(pos.symbol)
        sl = round_price(stop_loss, info.digits) if stop_loss is not None else (pos.sl or None)
        tp = round_price(take_profit, info.digits) if take_profit is not None else (pos.tp or None)
        side = "buy" if pos.type == m.POSITION_TYPE_BUY else "sell"
        tick = self._tick(pos.symbol)
        reference = tick.bid if side == "buy" else tick.ask
        problem = stops_problem(side, reference, sl, tp, info.trade_stops_level * info.point)
        if problem is not None:
            return ManageResult(
                status="rejected", ticket=ticket, retcode=m.TRADE_RETCODE_INVALID_STOPS, reason=problem
            )
        request = {
            "action": m.TRADE_ACTION_SLTP,
            "position": ticket,
            "symbol": pos.symbol,
            "sl": sl or 0.0,
            "tp": tp or 0.0,
            "magic": self.magic,
        }
        result = self._send_simple(request)
        if result is not None and result.retcode in (*SUCCESS, NO_CHANGES):
            return ManageResult(
                status="modified", ticket=ticket, stop_loss=sl, take_profit=tp, retcode=result.retcode
            )
        return self._failed(result, ticket)

    def _modify_pending(self, order: Any, stop_loss: float | None, take_profit: float | None) -> ManageResult:
        m = self.mt5
        info = self._select(order.symbol)
        sl = round_price(stop_loss, info.digits) if stop_loss is not None else (order.sl or None)
        tp = round_price(take_profit, info.digits) if take_profit is not None else (order.tp or None)
        problem = stops_problem(
            self._order_side(order.type), order.price_open, sl, tp, info.trade_stops_level * info.point
        )
        if problem is not None:
            return ManageResult(
                status="rejected", ticket=order.ticket, retcode=m.TRADE_RETCODE_INVALID_STOPS, reason=problem
            )
        request = {
            "action": m.TRADE_ACTION_MODIFY,
            "order": order.ticket,
            "symbol": order.symbol,
            "price": order.price_open,
            "sl": sl or 0.0,
            "tp": tp or 0.0,
            "type_time": order.type_time,
            "magic": self.magic,
        }
        result = self._send_simple(request)
        if result is not None and result.retcode in (*SUCCESS, NO_CHANGES):
            return ManageResult(
                status="modified", ticket=order.ticket, stop_loss=sl, take_profit=tp, retcode=result.retcode
            )
        return self._failed(result, order.ticket)

    def close(self, ticket: int, volume: float | None, tag: str) -> ManageResult:
        m = self.mt5
        pos = self._live_position(ticket)
        if pos is None:
            return ManageResult.position_gone(ticket)
        info = self._select(pos.symbol)
        if volume is None:
            close_volume = pos.volume
        else:
            close_volume = round_volume_down(volume, info.volume_step, info.volume_min, pos.volume)
            if close_volume is None:
                return ManageResult(
                    status="rejected",
                    ticket=ticket,
                    retcode=m.TRADE_RETCODE_INVALID_VOLUME,
                    reason=f"{volume:g} lots is below the minimum {info.volume_min:g}",
                )
            if pos.volume - close_volume < info.volume_min - 1e-9:
                close_volume = pos.volume  # what would remain is not a tradable volume
        buy = pos.type == m.POSITION_TYPE_BUY
        tick = self._tick(pos.symbol)
        request = {
            "action": m.TRADE_ACTION_DEAL,
            "position": ticket,
            "symbol": pos.symbol,
            "volume": close_volume,
            "type": m.ORDER_TYPE_SELL if buy else m.ORDER_TYPE_BUY,
            "price": tick.bid if buy else tick.ask,
            "deviation": 50,
            "magic": self.magic,
            "comment": tag,
            "type_filling": self.filling_for(info.filling_mode),
            "type_time": m.ORDER_TIME_GTC,
        }
        result = self._send_simple(request)
        if result is None or result.retcode in OUTCOME_UNKNOWN:
            deal = self._find_close_deal(ticket, tag)  # did it go through anyway?
            if deal is None:
                return ManageResult(
                    status="failed", ticket=ticket, reason="close outcome unknown; not found in deals"
                )
        elif result.retcode in SUCCESS:
            deal = self._find_close_deal(ticket, tag, result.deal)
        else:
            return self._failed(result, ticket)
        full = close_volume >= pos.volume - 1e-9
        return ManageResult(
            status="closed" if full else "partially_closed",
            ticket=ticket,
            deal=deal.ticket if deal else (result.deal if result else None),
            volume=close_volume,
            price=deal.price if deal else result.price,
            profit=deal.profit if deal else None,
            commission=deal.commission if deal else None,
            swap=deal.swap if deal else None,
            retcode=result.retcode if result else None,
        )

    def _find_close_deal(self, position: int, tag: str, deal_ticket: int | None = None) -> Any:
        for deal in reversed(self._call("history_deals_get", position=position) or ()):
            if deal.entry == self.mt5.DEAL_ENTRY_IN:
                continue
            if deal.ticket == deal_ticket or (deal_ticket is None and _tag_matches(deal.comment, tag)):
                return deal
        return None

    def find_close(self, ticket: int, tag: str) -> ManageResult | None:
        """The close this tag (a manage command's) made on the position, if it happened."""
        deal = self._find_close_deal(ticket, tag)
        if deal is None:
            return None
        full = not self._live_position(ticket)
        return ManageResult(
            status="closed" if full else "partially_closed",
            ticket=ticket,
            deal=deal.ticket,
            volume=deal.volume,
            price=deal.price,
            profit=deal.profit,
            commission=deal.commission,
            swap=deal.swap,
            reason="found in the deal history",
        )

    def cancel(self, ticket: int, tag: str) -> ManageResult:
        m = self.mt5
        if not self._call("orders_get", ticket=ticket):
            history = self._call("history_orders_get", ticket=ticket) or ()
            if history and history[-1].state == m.ORDER_STATE_CANCELED:
                return ManageResult(status="cancelled", ticket=ticket, reason="already cancelled")
            return ManageResult(
                status="rejected",
                ticket=ticket,
                retcode=m.TRADE_RETCODE_INVALID_ORDER,
                reason="no such pending order (already filled or removed)",
            )
        result = self._send_simple({"action": m.TRADE_ACTION_REMOVE, "order": ticket, "magic": self.magic})
        if result is not None and result.retcode in SUCCESS:
            return ManageResult(status="cancelled", ticket=ticket, retcode=result.retcode)
        unknown = result is None or result.retcode in OUTCOME_UNKNOWN
        if unknown and not self._call("orders_get", ticket=ticket):
            return ManageResult(status="cancelled", ticket=ticket)
        return self._failed(result, ticket)

    def breakeven(self, ticket: int, tag: str) -> ManageResult:
        m = self.mt5
        pos = self._live_position(ticket)
        if pos is None:
            return ManageResult.position_gone(ticket)
        info = self._select(pos.symbol)
        entry = round(pos.price_open, info.digits)
        buy = pos.type == m.POSITION_TYPE_BUY
        if pos.sl and ((buy and pos.sl >= entry) or (not buy and pos.sl <= entry)):
            return ManageResult(
                status="modified",
                ticket=ticket,
                stop_loss=pos.sl,
                take_profit=pos.tp or None,
                reason="stop loss already at or beyond entry",
            )
        return self.modify(ticket, entry, None, tag)
