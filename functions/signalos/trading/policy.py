"""Who may trade right now, and the administrator's global caps (OWASP API6: business flows).

A Telegram post reaches fan-out with no user token, so nothing upstream has checked the
subscriber: fan-out asks here, per subscription, whether the subscriber's account is active
and its license (now) includes `auto_trading`. The admin's global settings
(`signalos.admin.settings`, cached a few seconds per container) add a maintenance switch that
stops new orders (management commands such as closes still go out: they reduce risk), a cap on
the lots of any one order, and a per-account order rate per minute, enforced atomically with the
order write (see `minute_rate_operation`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from signalos.common.clock import epoch_seconds

FEATURE = "auto_trading"
RATE_TTL = timedelta(hours=1)


def trading_refusal(user_id: str) -> tuple[str, str] | None:
    """(reason code, message) when this user's orders must not be sent, else None."""
    from signalos.auth.entitlements import trading_refusal as refusal_of

    refusal = refusal_of(user_id, feature=FEATURE)
    if refusal is None:
        return None
    if refusal.user_inactive:
        return "SUBSCRIBER_DISABLED", "SUBSCRIBER_DISABLED: the subscriber's SignalOS account is disabled"
    return "NOT_LICENSED", "NOT_LICENSED: the subscriber's license does not include auto_trading"


def global_settings() -> Any:
    """The admin's settings (raises when they cannot be read: do not trade blind)."""
    from signalos.admin.settings import get_global_settings

    return get_global_settings()


def maintenance_refusal(settings: Any) -> tuple[str, str] | None:
    if getattr(settings, "maintenance_mode", False):
        message = getattr(settings, "maintenance_message", None) or "trading is paused for maintenance"
        return "MAINTENANCE", f"MAINTENANCE: {message}"
    return None


def capped_rules(rules: Any, settings: Any) -> Any:
    """The subscription's rules with the global per-order lot cap applied (the smaller wins)."""
    cap = getattr(settings, "max_lots_per_order", None)
    if cap is None or (rules.max_lot_per_order is not None and rules.max_lot_per_order <= cap):
        return rules
    return rules.model_copy(update={"max_lot_per_order": cap})


def minute_key(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M")


def minute_rate_operation(
    table_name: str, user_id: str, account_id: str, at: datetime, orders: int, limit: int
) -> dict[str, Any]:
    """A TransactItems `Update` counting the account's orders this minute, refused past `limit`."""
    return {
        "Update": {
            "TableName": table_name,
            "Key": {"pk": f"USER#{user_id}", "sk": f"RATE#{account_id}#{minute_key(at)}"},
            "UpdateExpression": "ADD #o :n SET expires_at = :exp",
            "ConditionExpression": "attribute_not_exists(#o) OR #o <= :room",
            "ExpressionAttributeNames": {"#o": "orders"},
            "ExpressionAttributeValues": {
                ":n": orders,
                ":room": limit - orders,
                ":exp": epoch_seconds(at + RATE_TTL),
            },
        }
    }
