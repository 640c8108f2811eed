"""Slow-path worker: SignalJobsQueue -> OCR / LLM -> the signal record -> fan-out.

Each SQS message is a `jobs.SlowPathJob`. Failures are reported per message
(ReportBatchItemFailures through Powertools' BatchProcessor), so one bad job does not
redeliver the batch. A job is idempotent (see `service.finish_slow_path`); on its last
delivery before the DLQ a failing job settles the signal ("failed", or the rules result
for an LLM job) instead of raising, so no signal stays "queued" for ever.
"""

from __future__ import annotations

import logging
from typing import Any

from signalos.signals import jobs, service

log = logging.getLogger(__name__)

# The template's redrive policy sends a message to the DLQ after 5 receives; settle on the 4th
# so the DLQ only ever holds jobs that could not even be read.
GIVE_UP_AT_RECEIVE = 4

def _dispatch(event: Any) -> Any:
    # Imported here: fan-out (and its risk engine) is only needed once a slow parse succeeds.
    from signalos.trading import fanout

    return fanout.dispatch_signal(event)


def _receive_count(record: Any) -> int:
    try:
        return int(record.attributes.approximate_receive_count)
    except (AttributeError, TypeError, ValueError):
        return 1


def handle_record(record: Any) -> None:
    """One SQS message (a Powertools SQSRecord)."""
    job = jobs.SlowPathJob.model_validate_json(record.body)
    give_up = _receive_count(record) >= GIVE_UP_AT_RECEIVE
    result = service.finish_slow_path(job, give_up=give_up, dispatch=_dispatch)
    log.info(
        "slow-path job done",
        extra={
            "signal_id": job.signal_id,
            "kind": job.kind,
            "status": result.status if result else None,
            "parser": result.parser if result else None,
        },
    )


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    return process_partial_response(
        event=event, record_handler=handle_record, processor=processor, context=context
    )
