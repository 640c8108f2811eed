"""Slow-path jobs: what goes on SignalJobsQueue (SIGNAL_JOBS_QUEUE_URL) for the signals worker.

A job names a stored signal and the revision it was queued for; the worker re-reads the record
and does nothing if the record has moved on (idempotent under SQS's at-least-once delivery).
"""

from __future__ import annotations

import os
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from signalos.common import aws


class SlowPathJob(BaseModel):
    model_config = ConfigDict(extra="ignore")

    signal_id: str = Field(min_length=1, max_length=64)
    user_id: str = Field(min_length=1, max_length=64)
    kind: Literal["llm", "ocr"]
    revision: int = Field(default=0, ge=0)
    llm_allowed: bool = Field(default=False, description="the owner's license allowed the LLM when queued")


class EnqueueFailed(RuntimeError):
    """The job could not be put on the queue."""


def _sqs() -> Any:
    return aws.client("sqs")


def enqueue(job: SlowPathJob) -> None:
    url = os.environ.get("SIGNAL_JOBS_QUEUE_URL")
    if not url:
        raise EnqueueFailed("SIGNAL_JOBS_QUEUE_URL is not set")
    try:
        _sqs().send_message(QueueUrl=url, MessageBody=job.model_dump_json())
    except Exception as exc:  # botocore errors of any kind: the caller decides what the signal becomes
        raise EnqueueFailed(
            f"could not queue {job.kind} job for {job.signal_id}: {type(exc).__name__}"
        ) from exc
