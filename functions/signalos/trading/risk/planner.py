"""`plan_orders`: one parsed setup + one subscription's rules -> the orders for one account.

Order of work: signal guards (confidence, symbol, session, age) -> account caps -> prices
(entry, order type, SL, TPs) -> market guards (spread, distance) -> volume -> legs.
The first failing guard decides the reason; nothing here raises to the caller.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from signalos.contracts.execution import SymbolSpec
from signalos.contracts.orders import TradeManagement
from signalos.contracts.parse_result import OpenSetup, OrderType
from signalos.trading.risk.guards import check_caps, check_signal, check_symbol_tradable, leg_slots
from signalos.trading.risk.models import (
    AccountState,
    DailyCounters,
    LegPlan,
    MarketQuote,
    RiskDecision,
    SubscriptionRules,
)
from signalos.trading.risk.pricing import (
    effective_quote,
    price_digits,
    resolve_pip_size,
    round_price,
    spread_points,
)
from signalos.trading.risk.reasons import Reason, RiskRejection
from signalos.trading.risk.sizing import (
    DEFAULT_VOLUME_RULES,
    VolumeRules,
    loss_per_lot,
    risk_volume,
    split_units,
)


@dataclass
class _Prices:
    order_type: OrderType
    planned: float | None  # pending: order price; market: planned price (zone edge nearest the market)
    basis: float | None  # price the risk is computed from (expected fill)
    stop_loss: float | None
    targets: list[tuple[int, float]] = field(default_factory=list)  # (TP index 1-based, price)
    tp1: float | None = None


def plan_orders(
    setup: OpenSetup,
    rules: SubscriptionRules,
    account: AccountState,
    spec: SymbolSpec | None,
    quote: MarketQuote | None,
    counters: DailyCounters,
    signal_time: datetime,
    now: datetime,
) -> RiskDecision:
    symbol = setup.symbol.upper()
    warnings: list[str] = []
    broker_symbol = rules.symbol_map.get(symbol) or (spec.broker_symbol if spec is not None else None)
    try:
        return _plan(setup, rules, account, spec, quote, counters, signal_time, now, warnings, broker_symbol)
    except RiskRejection as rejection:
        return RiskDecision(
            accepted=False,
            reason_code=rejection.code.value,
            reason=str(rejection),
            symbol=symbol,
            side=setup.side,
            broker_symbol=broker_symbol,
            symbol_suffix=rules.symbol_suffix,
            warnings=warnings,
        )


def _plan(
    setup: OpenSetup,
    rules: SubscriptionRules,
    account: AccountState,
    spec: SymbolSpec | None,
    quote: MarketQuote | None,
    counters: DailyCounters,
    signal_time: datetime,
    now: datetime,
    warnings: list[str],
    broker_symbol: str | None,
) -> RiskDecision:
    symbol = setup.symbol.upper()
    check_signal(setup, rules, signal_time, now)
    check_symbol_tradable(setup, spec)
    check_caps(rules, account, counters)

    if spec is not None:
        volumes = VolumeRules(spec.volume_min, spec.volume_max, spec.volume_step)
    elif rules.sizing_mode == "risk_percent":
        raise RiskRejection(
            Reason.NO_SYMBOL_SPEC,
            f"risk sizing needs {symbol}'s tick value and volume limits, "
            "which the bridge has not reported yet",
        )
    else:
        volumes = DEFAULT_VOLUME_RULES
        warnings.append(f"no symbol spec for {symbol} yet: using volume min/step 0.01")

    if rules.max_total_lots is not None and volumes.units(rules.max_total_lots - account.open_lots) < max(
        1, volumes.min_units()
    ):
        raise RiskRejection(
            Reason.MAX_TOTAL_LOTS,
            f"{account.open_lots:g} lots open leave less than the minimum {volumes.volume_min:g} under the "
            f"cap of {rules.max_total_lots:g}",
        )

    pip = resolve_pip_size(symbol, spec)
    digits = price_digits(symbol, spec)
    live = effective_quote(quote, spec)
    _check_signal_sides(setup)
    _check_spread(rules, live, spec, warnings)
    prices = _prices(setup, rules, live, pip, digits, warnings)
    max_distance = _check_distance(setup, rules, live, pip, prices, warnings)

    # --- volume -------------------------------------------------------------------------------
    per_lot: float | None = None
    budget: float | None = None
    if rules.sizing_mode == "risk_percent":
        assert spec is not None  # NO_SYMBOL_SPEC above
        if prices.basis is None or prices.stop_loss is None:
            raise RiskRejection(
                Reason.NO_PRICE, "no entry price and no market quote to measure the SL distance from"
            )
        per_lot = loss_per_lot(prices.basis, prices.stop_loss, spec.trade_tick_size, spec.trade_tick_value)
        budget = account.balance * rules.risk_percent / 100
        units = volumes.units(risk_volume(budget, per_lot))
        if units < volumes.min_units():
            min_risk = volumes.volume_min * per_lot
            if min_risk > budget * rules.max_overrisk_factor:
                raise RiskRejection(
                    Reason.VOLUME_BELOW_MIN,
                    f"the minimum {volumes.volume_min:g} lots would risk {min_risk:.2f} {account.currency}, "
                    f"more than {rules.max_overrisk_factor:g}x the budget of {budget:.2f} "
                    f"({rules.risk_percent:g}% of {account.balance:.2f})",
                )
            units = volumes.min_units()
            warnings.append(
                f"risk budget {budget:.2f} buys less than the minimum {volumes.volume_min:g} lots: using the "
                f"minimum, which risks {min_risk:.2f}"
            )
    else:
        units = volumes.units(rules.fixed_lot)
        if units < volumes.min_units():
            raise RiskRejection(
                Reason.VOLUME_BELOW_MIN,
                f"fixed lot {rules.fixed_lot:g} is below the broker's minimum {volumes.volume_min:g}",
            )
        if prices.basis is not None and prices.stop_loss is not None and spec is not None:
            per_lot = loss_per_lot(
                prices.basis, prices.stop_loss, spec.trade_tick_size, spec.trade_tick_value
            )

    if rules.max_total_lots is not None:
        room = volumes.units(rules.max_total_lots - account.open_lots)
        if units > room:
            warnings.append(f"volume cut to {volumes.volume(room):g} lots by the max total lots cap")
            units = room

    legs = _split(units, prices, rules, volumes, leg_slots(rules, account, counters), warnings)
    legs = [
        LegPlan(
            leg=index,
            volume=volumes.volume(leg_units),
            price=round_price(prices.planned, digits) if prices.planned is not None else None,
            stop_loss=prices.stop_loss,
            take_profit=tp,
            order_type=prices.order_type,
        )
        for index, tp, leg_units in legs
    ]
    total = round(sum(leg.volume for leg in legs), volumes.decimals)
    expiry = rules.order_expiry_seconds if prices.order_type == "market" else rules.pending_expiry_seconds
    if rules.breakeven_after_tp1 and prices.tp1 is None:
        warnings.append("breakeven after TP1 is on but the signal has no TP1")
    return RiskDecision(
        accepted=True,
        symbol=symbol,
        side=setup.side,
        broker_symbol=broker_symbol,
        symbol_suffix=rules.symbol_suffix,
        legs=legs,
        total_volume=total,
        entry_price=prices.basis,
        stop_loss=prices.stop_loss,
        risk_budget=round(budget, 2) if budget is not None else None,
        risk_amount=round(total * per_lot, 2) if per_lot is not None else None,
        max_spread_points=rules.max_spread_points,
        max_price_distance=max_distance,
        pip_size=pip,
        expires_at=now + timedelta(seconds=expiry),
        management=TradeManagement(
            breakeven_after_tp1=rules.breakeven_after_tp1 and prices.tp1 is not None,
            tp1_price=prices.tp1,
            trailing_stop_pips=rules.trailing_stop_pips,
            pip_size=pip,
        ),
        warnings=warnings,
    )


def _check_signal_sides(setup: OpenSetup) -> None:
    """Defence in depth against a bad parse: SL below and TPs above every entry price for a buy."""
    entries = [p for p in (setup.entry, *(setup.entry_zone or ())) if p is not None]
    if not entries:
        return
    lo, hi = min(entries), max(entries)
    buy = setup.side == "buy"
    if setup.stop_loss is not None and (setup.stop_loss >= lo if buy else setup.stop_loss <= hi):
        where = "below" if buy else "above"
        raise RiskRejection(
            Reason.SL_WRONG_SIDE, f"a {setup.side} needs its SL {where} the entry; got SL {setup.stop_loss:g}"
        )
    for i, tp in enumerate(setup.take_profits, start=1):
        if tp <= hi if buy else tp >= lo:
            where = "above" if buy else "below"
            raise RiskRejection(
                Reason.TP_WRONG_SIDE, f"a {setup.side} needs its TPs {where} the entry; got TP{i} {tp:g}"
            )


def _check_spread(
    rules: SubscriptionRules, quote: MarketQuote | None, spec: SymbolSpec | None, warnings: list[str]
) -> None:
    if rules.max_spread_points is None:
        return
    spread = spread_points(quote, spec)
    if spread is None:
        warnings.append("spread unknown here: the bridge checks it before sending")
    elif spread > rules.max_spread_points:
        raise RiskRejection(
            Reason.SPREAD_TOO_WIDE,
            f"spread {spread:g} points is above the subscription's max of {rules.max_spread_points:g}",
        )


def _pips_to_price(base: float, pips: float, pip: float, side: str, away: str) -> float:
    """`away="loss"`: the SL side of `base`; `away="profit"`: the TP side."""
    sign = -1 if (side == "buy") == (away == "loss") else 1
    return base + sign * pips * pip


def _order_type_and_price(
    setup: OpenSetup, rules: SubscriptionRules, quote: MarketQuote | None, warnings: list[str]
) -> tuple[OrderType, float | None, float | None]:
    """(order type, planned/pending price, expected fill price for risk)."""
    buy = setup.side == "buy"
    fill = (quote.ask if buy else quote.bid) if quote is not None else None
    if setup.entry_zone is not None:
        lo, hi = setup.entry_zone
    elif setup.entry is not None:
        lo = hi = setup.entry
    else:
        if setup.order_type != "market":
            warnings.append(f"a {setup.order_type} signal without an entry price: executing at market")
        return "market", fill, fill

    # The zone edge nearest the market (the market price itself when inside), or the middle when blind.
    nearest = min(max(fill, lo), hi) if fill is not None else (lo + hi) / 2
    wanted: OrderType
    if rules.prefer_order_type == "market" or (
        setup.order_type == "market" and rules.prefer_order_type != "pending"
    ):
        wanted = "market"
    elif setup.order_type != "market":
        wanted = setup.order_type
    elif fill is None:
        wanted = "market"  # prefer pending, but with no quote we cannot tell a limit from a stop
    else:
        above = fill > hi
        wanted = "limit" if above == buy else "stop"
    if wanted == "market":
        return "market", nearest, fill if fill is not None else nearest
    if fill is not None:
        # Already at or beyond the entry in the direction the pending order waits for: take the market.
        reached = {
            ("buy", "limit"): fill <= hi,
            ("buy", "stop"): fill >= lo,
            ("sell", "limit"): fill >= lo,
            ("sell", "stop"): fill <= hi,
        }[(setup.side, wanted)]
        if reached:
            return "market", nearest, fill
    return wanted, nearest, nearest


def _prices(
    setup: OpenSetup,
    rules: SubscriptionRules,
    quote: MarketQuote | None,
    pip: float | None,
    digits: int | None,
    warnings: list[str],
) -> _Prices:
    order_type, planned, basis = _order_type_and_price(setup, rules, quote, warnings)
    buy = setup.side == "buy"
    # Pip distances are measured from the signal's own entry when it has one.
    anchor = setup.reference_price() if setup.reference_price() is not None else basis

    stop_loss = setup.stop_loss
    if stop_loss is None:
        pips = setup.sl_pips if setup.sl_pips is not None else rules.default_sl_pips
        if pips is not None and pip is not None and anchor is not None:
            stop_loss = round_price(_pips_to_price(anchor, pips, pip, setup.side, "loss"), digits)
            if setup.sl_pips is None:
                warnings.append(f"signal has no SL: using the subscription's default of {pips:g} pips")
        elif pips is not None and rules.stop_loss_required:
            raise RiskRejection(
                Reason.NO_PRICE, f"an SL of {pips:g} pips needs an entry price or a market quote"
            )
    if stop_loss is None and rules.stop_loss_required:
        raise RiskRejection(
            Reason.NO_STOP_LOSS, "the signal has no stop loss and the subscription requires one"
        )

    if stop_loss is not None and basis is not None and (stop_loss >= basis if buy else stop_loss <= basis):
        raise RiskRejection(
            Reason.SL_WRONG_SIDE, f"price {basis:g} is already past the SL {stop_loss:g} for a {setup.side}"
        )

    tps = list(setup.take_profits)
    if not tps and setup.tp_pips and pip is not None and anchor is not None:
        tps = [
            round_price(_pips_to_price(anchor, p, pip, setup.side, "profit"), digits) for p in setup.tp_pips
        ]
    tp1 = tps[0] if tps else None
    targets = [(i, tp) for i, tp in enumerate(tps, start=1) if rules.use_tps is None or i in rules.use_tps]
    if tps and not targets:
        warnings.append(f"none of the TPs {rules.use_tps} is in the signal: trading without TP")
    if basis is not None and targets:
        reachable = [(i, tp) for i, tp in targets if (tp > basis if buy else tp < basis)]
        for i, tp in targets:
            if (i, tp) not in reachable:
                warnings.append(f"TP{i} {tp:g} is already passed at {basis:g}: that leg is dropped")
        if not reachable:
            raise RiskRejection(Reason.TP_WRONG_SIDE, f"every TP is already passed at price {basis:g}")
        targets = reachable
    return _Prices(order_type, planned, basis, stop_loss, targets, tp1)


def _check_distance(
    setup: OpenSetup,
    rules: SubscriptionRules,
    quote: MarketQuote | None,
    pip: float | None,
    prices: _Prices,
    warnings: list[str],
) -> float | None:
    """PRICE_TOO_FAR for market orders; returns the allowed distance in price units for the bridge."""
    if rules.max_price_distance_pips is None or prices.order_type != "market":
        return None
    if pip is None:
        warnings.append(f"pip size of {setup.symbol} unknown: max price distance not applied")
        return None
    allowed = rules.max_price_distance_pips * pip
    if quote is not None and prices.planned is not None and prices.basis is not None:
        distance = abs(prices.basis - prices.planned)
        if distance > allowed + 1e-9 * max(1.0, abs(prices.planned)):
            raise RiskRejection(
                Reason.PRICE_TOO_FAR,
                f"price {prices.basis:g} is {distance / pip:.1f} pips from the entry {prices.planned:g}, "
                f"more than the allowed {rules.max_price_distance_pips:g}",
            )
    return round(allowed, 10)


def _weights(prices: _Prices, rules: SubscriptionRules, warnings: list[str]) -> list[float]:
    if not prices.targets:
        return [1.0]
    split = rules.tp_split
    if split == "equal":
        return [1.0] * len(prices.targets)
    if split == "first_only":
        return [1.0] + [0.0] * (len(prices.targets) - 1)
    weights = [split[i - 1] if i - 1 < len(split) else 0.0 for i, _ in prices.targets]
    if sum(weights) <= 0:
        warnings.append("tp_split gives no weight to the signal's TPs: splitting equally")
        return [1.0] * len(prices.targets)
    return weights


def _split(
    units: int,
    prices: _Prices,
    rules: SubscriptionRules,
    volumes: VolumeRules,
    slots: int,
    warnings: list[str],
) -> list[tuple[int, float | None, int]]:
    """(TP index, TP price, volume units) per leg that gets volume."""
    weights = _weights(prices, rules, warnings)
    targets: list[tuple[int, float | None]] = list(prices.targets) or [(1, None)]
    # The caps on orders per day / open trades limit how many legs this signal may open.
    traded = [i for i, w in enumerate(weights) if w > 0]
    if len(traded) > slots:
        for i in traded[slots:]:
            weights[i] = 0.0
        warnings.append(f"only {slots} more orders allowed by the trade caps: later TPs are not traded")
    cap = min(volumes.volume_max, rules.max_lot_per_order or math.inf)
    cap_units = volumes.units(cap)
    if cap_units < volumes.min_units():
        raise RiskRejection(
            Reason.VOLUME_BELOW_MIN,
            f"max lot per order {cap:g} is below the broker's minimum {volumes.volume_min:g}",
        )
    shares = split_units(units, weights, volumes.min_units(), cap_units)
    if not any(shares):
        raise RiskRejection(
            Reason.VOLUME_BELOW_MIN,
            f"{volumes.volume(units):g} lots cannot make one leg of {volumes.volume_min:g}",
        )
    dropped = [targets[i][0] for i, w in enumerate(weights) if w > 0 and shares[i] == 0]
    if dropped:
        warnings.append(
            f"{volumes.volume(units):g} lots cannot give every TP at least {volumes.volume_min:g}: "
            f"TP{', TP'.join(map(str, dropped))} not traded"
        )
    if sum(shares) < units:
        placed = volumes.volume(sum(shares))
        if any(s == cap_units for s in shares):
            warnings.append(
                f"legs capped at {cap:g} lots per order: placing {placed:g} of {volumes.volume(units):g}"
            )
    return [(targets[i][0], targets[i][1], s) for i, s in enumerate(shares) if s > 0]
