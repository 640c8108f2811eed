"""SQS worker that continues a large fan-out (FANOUT_QUEUE_URL, standard queue + DLQ).

Message bodies (JSON):
    {"kind": "opens",  "event": SignalEvent, "cursor": <gsi1 key of the last subscription done> | null}
    {"kind": "manage", "event": SignalEvent, "accounts": [{"user_id", "account_id"}, ...]}
    {"kind": "dispatch", "event": SignalEvent}   a whole fan-out again, after an inline failure

Idempotent: order and command ids are derived from the signal, so a redelivered message
resends only what is still pending. Partial batch failures are reported
(ReportBatchItemFailures), so one bad message does not redeliver the others.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from signalos.common.clock import utc_now
from signalos.contracts.signal_event import SignalEvent

log = logging.getLogger(__name__)


def handle_message(body: str) -> None:
    from signalos.trading import fanout, management, orders

    payload = json.loads(body)
    event = SignalEvent.model_validate(payload["event"])
    kind = payload.get("kind")
    if kind == "opens":
        summary = fanout.continue_page(event, payload.get("cursor"))
        if summary.failed:
            # Failed subscriptions are retried with the message (successful ones are idempotent).
            raise RuntimeError(f"{summary.failed} subscription(s) failed")
    elif kind == "dispatch":
        summary = fanout.dispatch_signal(event)
        if summary.failed:
            raise RuntimeError(f"{summary.failed} subscription(s) failed")
    elif kind == "manage":
        table = orders.trading_table()
        now = utc_now()
        failed = 0
        for entry in payload.get("accounts", []):
            outcome = management.manage_account(
                event,
                str(event.reply_to_signal_id),
                str(entry["user_id"]),
                str(entry["account_id"]),
                None,
                now=now,
                table=table,
            )
            failed += outcome.status == "failed"
        if failed:
            raise RuntimeError(f"{failed} account(s) failed")
    else:
        # Not retryable: a malformed message goes to the DLQ through its own failure report.
        raise ValueError(f"unknown fan-out message kind {kind!r}")


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    failures = []
    for record in event.get("Records", []):
        try:
            handle_message(record["body"])
        except Exception:
            log.exception("fan-out message failed", extra={"message_id": record.get("messageId")})
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}
