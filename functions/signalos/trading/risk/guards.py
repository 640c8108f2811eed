"""Checks that stop a setup before any price arithmetic: who, when, how much already today."""

from __future__ import annotations

from datetime import UTC, datetime

from signalos.contracts.execution import SymbolSpec
from signalos.contracts.parse_result import OpenSetup
from signalos.trading.risk.models import AccountState, DailyCounters, SubscriptionRules
from signalos.trading.risk.reasons import Reason, RiskRejection
from signalos.trading.risk.sessions import in_sessions

# MT5 SYMBOL_TRADE_MODE values (symbol_info().trade_mode).
_TRADE_MODE_DISABLED, _TRADE_MODE_LONGONLY, _TRADE_MODE_SHORTONLY, _TRADE_MODE_CLOSEONLY = 0, 1, 2, 3


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def check_signal(setup: OpenSetup, rules: SubscriptionRules, signal_time: datetime, now: datetime) -> None:
    symbol = setup.symbol.upper()
    if setup.confidence < rules.min_confidence:
        raise RiskRejection(
            Reason.LOW_CONFIDENCE,
            f"parse confidence {setup.confidence:.2f} is below the subscription's minimum "
            f"{rules.min_confidence:.2f}",
        )
    if rules.allowed_symbols and symbol not in rules.allowed_symbols:
        raise RiskRejection(
            Reason.SYMBOL_NOT_ALLOWED, f"{symbol} is not in the subscription's allowed symbols"
        )
    if not in_sessions(rules.allowed_sessions, _utc(now)):
        raise RiskRejection(
            Reason.OUTSIDE_SESSION,
            f"{_utc(now):%a %H:%M} UTC is outside the allowed sessions {', '.join(rules.allowed_sessions)}",
        )
    if rules.signal_max_age_seconds is not None:
        age = (_utc(now) - _utc(signal_time)).total_seconds()
        if age > rules.signal_max_age_seconds:
            raise RiskRejection(
                Reason.SIGNAL_TOO_OLD,
                f"signal is {age:.0f}s old, older than the subscription's limit of "
                f"{rules.signal_max_age_seconds}s",
            )


def check_symbol_tradable(setup: OpenSetup, spec: SymbolSpec | None) -> None:
    if spec is None:
        return
    mode = spec.trade_mode
    if mode in (_TRADE_MODE_DISABLED, _TRADE_MODE_CLOSEONLY):
        what = "disabled" if mode == _TRADE_MODE_DISABLED else "close-only"
        raise RiskRejection(
            Reason.SYMBOL_TRADE_DISABLED, f"the broker reports {spec.broker_symbol} as {what}"
        )
    if (mode == _TRADE_MODE_LONGONLY and setup.side == "sell") or (
        mode == _TRADE_MODE_SHORTONLY and setup.side == "buy"
    ):
        raise RiskRejection(
            Reason.SYMBOL_TRADE_DISABLED,
            f"the broker does not allow {setup.side} orders on {spec.broker_symbol}",
        )


def day_loss(account: AccountState, counters: DailyCounters) -> float:
    """Money lost today: realized P/L plus floating losses (floating gains do not offset), >= 0."""
    floating = 0.0 if account.equity is None else min(0.0, account.equity - account.balance)
    return max(0.0, -(counters.realized_pnl + floating))


def check_caps(rules: SubscriptionRules, account: AccountState, counters: DailyCounters) -> None:
    if counters.trades_opened >= rules.max_daily_trades:
        raise RiskRejection(
            Reason.DAILY_TRADE_CAP,
            f"{counters.trades_opened} orders today reach the daily cap of {rules.max_daily_trades}",
        )
    lost = day_loss(account, counters)
    if rules.max_daily_loss_amount is not None and lost >= rules.max_daily_loss_amount:
        raise RiskRejection(
            Reason.DAILY_LOSS_CAP,
            f"lost {lost:.2f} {account.currency} today, at or above the cap of "
            f"{rules.max_daily_loss_amount:.2f}",
        )
    if rules.max_daily_loss_percent is not None:
        base = counters.day_start_balance or (account.balance - counters.realized_pnl)
        if base > 0 and lost / base * 100 >= rules.max_daily_loss_percent:
            raise RiskRejection(
                Reason.DAILY_LOSS_CAP,
                f"lost {lost / base * 100:.2f}% of the day's starting balance, at or above the cap of "
                f"{rules.max_daily_loss_percent:g}%",
            )
    if rules.max_open_trades is not None and account.open_trades >= rules.max_open_trades:
        raise RiskRejection(
            Reason.MAX_OPEN_TRADES,
            f"{account.open_trades} open trades reach the subscription's cap of {rules.max_open_trades}",
        )


def leg_slots(rules: SubscriptionRules, account: AccountState, counters: DailyCounters) -> int:
    """How many more orders the daily and open-trade caps allow (>= 1 after check_caps)."""
    slots = rules.max_daily_trades - counters.trades_opened
    if rules.max_open_trades is not None:
        slots = min(slots, rules.max_open_trades - account.open_trades)
    return slots
