"""AggregatorFunction: the TradingTable stream consumer that keeps analytics current.

For each stream record (NEW_AND_OLD_IMAGES) it looks at the NEW image only:
- an order item in state `closed` is folded into the owner's per-day/total aggregates
  (all, provider, symbol, account), and order state changes and refused setups are counted
  for the provider stats (signal_stats) - exactly once: data.apply_image writes the markers and
  the ADDs in one transaction, so a redelivered record or an older version changes nothing.
REMOVE records are ignored: analytics keeps history even when trade items expire.

Failures are reported per record (ReportBatchItemFailures): Lambda retries from the first
failed record, and because every write is idempotent, replaying the ones that succeeded is
harmless.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

from signalos.analytics.data import apply_image
from signalos.common.dynamo import deserialize
from signalos.common.observability import count, instrumented, logger

processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


def new_image(raw_record: Mapping[str, Any]) -> dict[str, Any] | None:
    if raw_record.get("eventName") == "REMOVE":
        return None
    image = (raw_record.get("dynamodb") or {}).get("NewImage")
    return deserialize(image) if image else None


def record_handler(record: Any) -> None:
    image = new_image(record.raw_event)
    if image is None:
        return
    outcome = apply_image(image)
    if outcome.trade == "applied":
        count("TradesAggregated")
    elif outcome.trade == "duplicate":
        count("TradeRecordsDuplicate")
    if outcome.events:
        count("TradeEventsCounted", outcome.events)


def process_batch(event: dict[str, Any], context: Any) -> dict[str, Any]:
    result = process_partial_response(event=event, record_handler=record_handler, processor=processor,
                                      context=context)
    failures = result.get("batchItemFailures") or []
    if failures:
        logger.warning("aggregator records failed", extra={"failed": len(failures)})
    return result


lambda_handler = instrumented(process_batch)
