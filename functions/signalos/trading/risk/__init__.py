"""The risk engine: where a setup is sized into orders for one account. Pure Python (no AWS).

    from signalos.trading.risk import (SubscriptionRules, AccountState, MarketQuote, DailyCounters,
                                       RiskDecision, LegPlan, plan_orders, plan_management)

`plan_orders` never raises for a setup it refuses: it returns `RiskDecision(accepted=False,
reason_code="SPREAD_TOO_WIDE", reason="SPREAD_TOO_WIDE: spread 45 points is above ...")`.
"""

from signalos.trading.risk.management import plan_management
from signalos.trading.risk.models import (
    AccountState,
    DailyCounters,
    LegPlan,
    LegState,
    ManagePlan,
    MarketQuote,
    OpenLegState,
    RiskDecision,
    SubscriptionRules,
)
from signalos.trading.risk.planner import plan_orders
from signalos.trading.risk.reasons import Reason
from signalos.trading.risk.sessions import in_sessions, parse_session

__all__ = [
    "AccountState",
    "DailyCounters",
    "LegPlan",
    "LegState",
    "ManagePlan",
    "MarketQuote",
    "OpenLegState",
    "Reason",
    "RiskDecision",
    "SubscriptionRules",
    "in_sessions",
    "parse_session",
    "plan_management",
    "plan_orders",
]
