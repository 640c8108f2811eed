"""Sending order commands to an account's FIFO queue and fan-out continuations to the worker queue.

An account's queue URL is only ever taken from that account's own record (the caller passes
it in after loading the account under its owner's partition): nothing here accepts a URL from
a request. boto3 is imported on first use.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import Any

from signalos.common import aws
from signalos.contracts.orders import ManageCommand, OpenOrder

Command = OpenOrder | ManageCommand
_BATCH = 10  # SQS SendMessageBatch limit


class EnqueueError(RuntimeError):
    """SQS refused some messages (the ids are in `failed`)."""

    def __init__(self, message: str, failed: list[str]) -> None:
        super().__init__(message)
        self.failed = failed


def _sqs() -> Any:
    return aws.client("sqs")


def command_body(command: Command) -> str:
    return command.model_dump_json(exclude_none=False)


def send_commands(queue_url: str, commands: Sequence[Command]) -> list[str]:
    """Send commands to one account's FIFO queue, in order; returns the command ids sent.

    MessageGroupId is the account id (strict order per account) and the deduplication id is
    the command id, so a retried send within five minutes is not delivered twice.
    """
    sent: list[str] = []
    failed: list[str] = []
    for start in range(0, len(commands), _BATCH):
        chunk = commands[start : start + _BATCH]
        entries = [
            {
                "Id": str(i),
                "MessageBody": command_body(cmd),
                "MessageGroupId": cmd.account_id,
                "MessageDeduplicationId": cmd.command_id,
            }
            for i, cmd in enumerate(chunk)
        ]
        resp = _sqs().send_message_batch(QueueUrl=queue_url, Entries=entries)
        bad = {int(f["Id"]) for f in resp.get("Failed", [])}
        for i, cmd in enumerate(chunk):
            (failed if i in bad else sent).append(cmd.command_id)
        if bad:
            # FIFO order matters: stop at the first refused chunk rather than send later commands.
            break
    if failed or len(sent) < len(commands):
        missing = [c.command_id for c in commands if c.command_id not in sent]
        raise EnqueueError(f"{len(missing)} command(s) not enqueued", missing)
    return sent


def send_continuation(payload: dict[str, Any]) -> None:
    """Put a fan-out continuation on FANOUT_QUEUE_URL (standard queue; the worker is idempotent)."""
    url = os.environ.get("FANOUT_QUEUE_URL")
    if not url:
        raise RuntimeError("FANOUT_QUEUE_URL is not set")
    _sqs().send_message(QueueUrl=url, MessageBody=json.dumps(payload, separators=(",", ":")))
