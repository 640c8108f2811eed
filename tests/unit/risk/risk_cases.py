"""Broker-typical symbol specs and small builders shared by the risk engine tests.

Spec values are what MT5 brokers commonly report (symbol_info) for a USD account:
- EURUSD: contract 100,000, 5 digits, point = tick size 0.00001, tick value $1.00
  (100,000 x 0.00001 = 1 USD per tick per lot).
- XAUUSD: contract 100 oz, 2 digits, tick size 0.01, tick value $1.00 (100 x 0.01 = 1 USD).
- US30 (Dow CFD, IC Markets-style): contract 1, 2 digits, tick size 0.01, tick value $0.01
  (1 x 0.01 = 0.01 USD per tick per lot, i.e. $1 per index point per lot).
- USDJPY: contract 100,000, 3 digits, tick size 0.001; the tick is worth 100 JPY per lot, which at
  USDJPY 150.000 is 100 / 150 = 0.6666666667 USD (the account currency, as MT5 reports it).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from signalos.contracts.execution import SymbolSpec
from signalos.contracts.parse_result import OpenSetup
from signalos.trading.risk import (
    AccountState,
    DailyCounters,
    MarketQuote,
    RiskDecision,
    SubscriptionRules,
    plan_orders,
)

NOW = datetime(2026, 11, 23, 10, 30, tzinfo=UTC)  # a Monday


def eurusd(**over: object) -> SymbolSpec:
    base = dict(
        symbol="EURUSD",
        broker_symbol="EURUSD",
        digits=5,
        point=0.00001,
        volume_min=0.01,
        volume_max=100.0,
        volume_step=0.01,
        trade_tick_value=1.0,
        trade_tick_size=0.00001,
        trade_contract_size=100_000,
    )
    return SymbolSpec(**{**base, **over})


def xauusd(**over: object) -> SymbolSpec:
    base = dict(
        symbol="XAUUSD",
        broker_symbol="XAUUSD",
        digits=2,
        point=0.01,
        volume_min=0.01,
        volume_max=100.0,
        volume_step=0.01,
        trade_tick_value=1.0,
        trade_tick_size=0.01,
        trade_contract_size=100,
    )
    return SymbolSpec(**{**base, **over})


def us30(**over: object) -> SymbolSpec:
    base = dict(
        symbol="US30",
        broker_symbol="US30",
        digits=2,
        point=0.01,
        volume_min=0.01,
        volume_max=100.0,
        volume_step=0.01,
        trade_tick_value=0.01,
        trade_tick_size=0.01,
        trade_contract_size=1,
    )
    return SymbolSpec(**{**base, **over})


def usdjpy(**over: object) -> SymbolSpec:
    base = dict(
        symbol="USDJPY",
        broker_symbol="USDJPY",
        digits=3,
        point=0.001,
        volume_min=0.01,
        volume_max=100.0,
        volume_step=0.01,
        trade_tick_value=0.6666666667,
        trade_tick_size=0.001,
        trade_contract_size=100_000,
    )
    return SymbolSpec(**{**base, **over})


def gold_buy(**over: object) -> OpenSetup:
    base = dict(
        symbol="XAUUSD",
        side="buy",
        entry_zone=(1948.0, 1950.0),
        stop_loss=1940.0,
        take_profits=[1955.0, 1960.0, 1965.0],
    )
    return OpenSetup(**{**base, **over})


def plan(
    setup: OpenSetup,
    *,
    rules: SubscriptionRules | None = None,
    balance: float = 10_000.0,
    account: AccountState | None = None,
    spec: SymbolSpec | None = None,
    quote: tuple[float, float] | None = None,
    counters: DailyCounters | None = None,
    age_seconds: float = 5.0,
    now: datetime = NOW,
) -> RiskDecision:
    """Run the engine with sensible defaults; `quote` is (bid, ask)."""
    return plan_orders(
        setup,
        rules or SubscriptionRules(),
        account or AccountState(balance=balance, equity=balance),
        spec,
        MarketQuote(bid=quote[0], ask=quote[1]) if quote else None,
        counters or DailyCounters(),
        now - timedelta(seconds=age_seconds),
        now,
    )


def volumes(decision: RiskDecision) -> list[float]:
    return [leg.volume for leg in decision.legs]


RISK_1PCT = SubscriptionRules(sizing_mode="risk_percent", risk_percent=1.0)
RISK_2PCT = SubscriptionRules(sizing_mode="risk_percent", risk_percent=2.0)
