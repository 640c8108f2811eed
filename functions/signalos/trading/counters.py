"""Daily counters per trading account, kept with atomic ADD (never read-modify-write).

Item (TradingTable): pk `USER#<uid>`, sk `DAILY#<account_id>#<yyyy-mm-dd>` (UTC day), fields
`trades` (setups that were sent to the account), `orders` (legs enqueued), `realised_net`
(sum of net profit of closing deals), `realised_loss` (sum of the losses alone, positive),
`day_start_balance` (first balance seen that day), `expires_at` (TTL: 8 days). Fan-out adds
`trades`/`orders` in the same transaction as the order items; execution reports add the money
in the same transaction as the order update, so a retried write can never count twice.
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


def add_operation(
    table_name: str,
    user_id: str,
    account_id: str,
    at: datetime,
    *,
    trades: int = 0,
    orders: int = 0,
    realised_net: float = 0.0,
    max_orders: int | None = None,
    day_start_balance: float | None = None,
) -> dict[str, Any]:
    """A TransactItems `Update` that adds to the day's counters (created on first use).

    `max_orders` makes the ADD conditional: the transaction fails rather than take the day's
    order count past the cap (two signals fanned out at once cannot both squeeze under it).
    `day_start_balance` is recorded by the day's first write only (the base of the % loss cap).
    """
    names = {"#day": "day", "#o": "orders"}
    values: dict[str, Any] = {
        ":t": trades,
        ":o": orders,
        ":n": realised_net,
        ":l": -realised_net if realised_net < 0 else 0.0,
        ":exp": epoch_seconds(at + COUNTER_TTL),
        ":acc": account_id,
        ":day": day_key(at),
    }
    sets = "SET expires_at = :exp, account_id = :acc, #day = :day"
    if day_start_balance is not None:
        names["#dsb"] = "day_start_balance"
        values[":dsb"] = day_start_balance
        sets += ", #dsb = if_not_exists(#dsb, :dsb)"
    update: dict[str, Any] = {
        "TableName": table_name,
        "Key": counter_key(user_id, account_id, at),
        "UpdateExpression": f"ADD trades :t, #o :o, realised_net :n, realised_loss :l {sets}",
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
    }
    if max_orders is not None:
        values[":room"] = max_orders - orders
        update["ConditionExpression"] = "attribute_not_exists(#o) OR #o <= :room"
    return {"Update": update}


def to_daily_counters(raw: dict[str, Any]) -> Any:
    """The risk engine's DailyCounters from `read_counters` output."""
    from signalos.trading.risk import DailyCounters

    balance = raw.get("day_start_balance")
    return DailyCounters(
        trades_opened=raw["orders"],
        realized_pnl=raw["realised_net"],
        day_start_balance=balance if balance and balance > 0 else None,
    )


def read_counters(table: Any, user_id: str, account_id: str, at: datetime | None = None) -> dict[str, Any]:
    """Today's counters of an account ({} fields default to zero)."""
    key = counter_key(user_id, account_id, at or utc_now())
    item = table.get(key["pk"], key["sk"], consistent=True) or {}
    return {
        "trades": int(item.get("trades", 0)),
        "orders": int(item.get("orders", 0)),
        "realised_net": float(item.get("realised_net", 0.0)),
        "realised_loss": float(item.get("realised_loss", 0.0)),
        "day_start_balance": float(item["day_start_balance"]) if item.get("day_start_balance") else None,
    }
