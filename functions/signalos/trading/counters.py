"""Daily counters per trading account, kept with atomic ADD (never read-modify-write).

Item (TradingTable): pk `USER#<uid>`, sk `DAILY#<account_id>#<yyyy-mm-dd>` (UTC day), fields
`trades` (setups that were sent to the account), `orders` (legs enqueued), `realised_net`
(sum of net profit of closing deals), `realised_loss` (sum of the losses alone, positive),
`expires_at` (TTL: 8 days). Fan-out adds `trades`/`orders` in the same transaction as the
order items; execution reports add the money in the same transaction as the order update, so
a retried write can never count twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from signalos.common.clock import epoch_seconds, utc_now

COUNTER_TTL = timedelta(days=8)


def day_key(at: datetime) -> str:
    return at.strftime("%Y-%m-%d")


def counter_key(user_id: str, account_id: str, at: datetime) -> dict[str, str]:
    return {"pk": f"USER#{user_id}", "sk": f"DAILY#{account_id}#{day_key(at)}"}


def add_operation(table_name: str, user_id: str, account_id: str, at: datetime, *,
                  trades: int = 0, orders: int = 0, realised_net: float = 0.0) -> dict[str, Any]:
    """A TransactItems `Update` that adds to the day's counters (created on first use)."""
    values: dict[str, Any] = {
        ":t": trades, ":o": orders, ":n": realised_net, ":l": -realised_net if realised_net < 0 else 0.0,
        ":exp": epoch_seconds(at + COUNTER_TTL), ":acc": account_id, ":day": day_key(at),
    }
    return {
        "Update": {
            "TableName": table_name,
            "Key": counter_key(user_id, account_id, at),
            "UpdateExpression": "ADD trades :t, orders :o, realised_net :n, realised_loss :l "
                                "SET expires_at = :exp, account_id = :acc, #day = :day",
            "ExpressionAttributeNames": {"#day": "day"},
            "ExpressionAttributeValues": values,
        }
    }


def read_counters(table: Any, user_id: str, account_id: str, at: datetime | None = None) -> dict[str, Any]:
    """Today's counters of an account ({} fields default to zero)."""
    key = counter_key(user_id, account_id, at or utc_now())
    item = table.get(key["pk"], key["sk"], consistent=True) or {}
    return {
        "trades": int(item.get("trades", 0)),
        "orders": int(item.get("orders", 0)),
        "realised_net": float(item.get("realised_net", 0.0)),
        "realised_loss": float(item.get("realised_loss", 0.0)),
    }
