"""Order records in TradingTable: reading them and applying the bridge's execution reports.

`apply_execution_report` is what the bridge reports route calls for every report. It is
idempotent by report_id: the report's dedup marker and the order update (plus the daily
counter ADD for closes) are written in ONE transaction, so a report is either applied whole or
not at all, and the same report twice changes nothing. The order update is conditional on
the item's `version`, so two invocations racing on one order cannot lose an update.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from signalos.common.clock import epoch_seconds, iso, utc_now
from signalos.common.dynamo import ConditionFailed, Item, Table
from signalos.contracts.execution import ExecutionReport
from signalos.trading import counters
from signalos.trading.records import ENTITY_ORDER, IllegalTransition, plan_report

log = logging.getLogger(__name__)

ReportStatus = Literal["applied", "duplicate", "rejected"]
REPORT_MARKER_TTL = timedelta(days=90)
_MAX_RACE_RETRIES = 4


@dataclass(frozen=True)
class ReportOutcome:
    status: ReportStatus
    error: str | None = None


def trading_table() -> Table:
    return Table.from_env("TRADING_TABLE")


def order_key(user_id: str, order_id: str) -> tuple[str, str]:
    return f"USER#{user_id}", f"ORDER#{order_id}"


def report_marker_key(user_id: str, account_id: str, report_id: str) -> dict[str, str]:
    return {"pk": f"USER#{user_id}", "sk": f"REPORT#{account_id}#{report_id}"}


def get_order(user_id: str, order_id: str, *, table: Table | None = None) -> Item | None:
    pk, sk = order_key(user_id, order_id)
    item = (table or trading_table()).get(pk, sk)
    return item if item and item.get("entity") == ENTITY_ORDER else None


def orders_of_signal(signal_id: str, *, table: Table | None = None) -> Iterator[Item]:
    """Every order opened from a signal, across subscribers (gsi1; eventually consistent)."""
    yield from (table or trading_table()).query_all(f"SIGNAL#{signal_id}", index="gsi1", sk_prefix="ORDER#")


def _pip_size(symbol: str) -> float | None:
    try:
        from signalos.instruments import pip_size
    except ImportError:  # pragma: no cover - the instrument dictionary ships with the package
        return None
    try:
        return pip_size(symbol)
    except KeyError:
        return None


def apply_report(
    report: ExecutionReport, *, account_user_id: str, table: Table | None = None
) -> ReportOutcome:
    """Apply one execution report from the bridge of an account owned by `account_user_id`."""
    table = table or trading_table()
    marker = report_marker_key(account_user_id, report.account_id, report.report_id)
    for _ in range(_MAX_RACE_RETRIES):
        if table.get(marker["pk"], marker["sk"]) is not None:
            return ReportOutcome("duplicate")
        order = get_order(account_user_id, report.order_id, table=table)
        if order is None:
            return ReportOutcome("rejected", "unknown order")
        if order.get("account_id") != report.account_id:
            return ReportOutcome("rejected", "order belongs to another account")
        now = utc_now()
        try:
            change = plan_report(order, report, now=now, pip_size=_pip_size(str(order["symbol"])))
        except IllegalTransition as exc:
            return ReportOutcome("rejected", str(exc))
        version = int(order.get("version", 0))
        values = dict(change.set_values)
        values["version"] = version + 1
        operations: list[dict[str, Any]] = [
            {
                "Put": {
                    "Item": {
                        **marker,
                        "entity": "report",
                        "order_id": report.order_id,
                        "command_id": report.command_id,
                        "status": report.status,
                        "applied_at": iso(now),
                        "expires_at": epoch_seconds(now + REPORT_MARKER_TTL),
                    },
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            _order_update(account_user_id, report.order_id, values, version),
        ]
        if change.realised_net:
            operations.append(
                counters.add_operation(
                    table.name,
                    account_user_id,
                    report.account_id,
                    report.executed_at,
                    realised_net=change.realised_net,
                )
            )
        try:
            table.transact_write(operations)
        except ConditionFailed:
            # Either the report was applied concurrently (duplicate) or the order moved on under
            # us (re-read and re-plan). The loop tells the two apart.
            continue
        log.info(
            "report applied",
            extra={"report_id": report.report_id, "order_id": report.order_id, "state": change.new_state},
        )
        return ReportOutcome("applied")
    return ReportOutcome("rejected", "order is being updated concurrently; retry")


def apply_execution_report(report: ExecutionReport, *, account_user_id: str) -> ReportStatus:
    """The cross-helper interface: "applied" | "duplicate" | "rejected" (see apply_report)."""
    return apply_report(report, account_user_id=account_user_id).status


def _order_update(user_id: str, order_id: str, values: dict[str, Any], version: int) -> dict[str, Any]:
    pk, sk = order_key(user_id, order_id)
    names: dict[str, str] = {"#ver": "version"}
    expr_values: dict[str, Any] = {":ver": version}
    sets: list[str] = []
    for i, (key, val) in enumerate(values.items()):
        names[f"#f{i}"] = key
        expr_values[f":f{i}"] = val
        sets.append(f"#f{i} = :f{i}")
    condition = (
        "attribute_exists(pk) AND (#ver = :ver OR attribute_not_exists(#ver))"
        if version == 0
        else "#ver = :ver"
    )
    return {
        "Update": {
            "Key": {"pk": pk, "sk": sk},
            "UpdateExpression": "SET " + ", ".join(sets),
            "ConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": expr_values,
        }
    }


UNEXECUTED_STATES = ("pending", "sent", "placed")


def unexecuted_load(
    user_id: str, account_id: str, *, since: datetime, table: Table | None = None
) -> tuple[int, float]:
    """(count, lots) of the account's orders the bridge has not reported as positions yet:
    queued commands and broker-side pending orders (a heartbeat's positions do not show them)."""
    count, lots = 0, 0.0
    for item in (table or trading_table()).query_all(
        f"ORDERS#{user_id}",
        index="gsi2",
        sk_between=(iso(since), "9999~"),
        filter_expression="#acc = :acc AND #st IN (:s0, :s1, :s2)",
        names={"#acc": "account_id", "#st": "state"},
        values={
            ":acc": account_id,
            ":s0": UNEXECUTED_STATES[0],
            ":s1": UNEXECUTED_STATES[1],
            ":s2": UNEXECUTED_STATES[2],
        },
    ):
        count += 1
        lots += float(item.get("volume") or 0.0)
    return count, lots


def list_orders(
    user_id: str,
    *,
    limit: int = 50,
    cursor: dict[str, Any] | None = None,
    since: str | None = None,
    until: str | None = None,
    account_id: str | None = None,
    symbol: str | None = None,
    state: str | None = None,
    table: Table | None = None,
) -> tuple[list[Item], dict[str, Any] | None]:
    """One page of a user's orders, newest first (gsi2: ORDERS#<uid>, <created_at>#<order_id>)."""
    filters: list[str] = []
    names: dict[str, str] = {}
    values: dict[str, Any] = {}
    for attr, value in (("account_id", account_id), ("symbol", symbol), ("state", state)):
        if value is not None:
            names[f"#{attr}"] = attr
            values[f":{attr}"] = value
            filters.append(f"#{attr} = :{attr}")
    lo = since or "0"
    hi = (until or "9999") + "~"  # '~' sorts after '#' and digits: `until` is inclusive
    items, next_cursor = (table or trading_table()).query_page(
        f"ORDERS#{user_id}",
        index="gsi2",
        sk_between=(lo, hi),
        limit=limit,
        cursor=cursor,
        newest_first=True,
        filter_expression=" AND ".join(filters) or None,
        names=names or None,
        values=values or None,
    )
    return items, next_cursor
