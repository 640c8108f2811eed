"""The session policy of a bridge's STS credentials: one queue, four actions. Pure.

STS intersects it with BridgeQueueRole's own policy (every order queue of the stage), so the
credentials handed to an account's bridge reach that account's queue and nothing else.
"""

from __future__ import annotations

import json
from typing import Any

QUEUE_ACTIONS = (
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibility",
    "sqs:GetQueueAttributes",
)
MIN_SESSION_SECONDS = 900  # STS minimum
MAX_SESSION_SECONDS = 3600  # BridgeQueueRole's MaxSessionDuration (template.yaml)


def session_policy(queue_arn: str) -> dict[str, Any]:
    if (
        not queue_arn.startswith("arn:")
        or not queue_arn.endswith(".fifo")
        or any(c in queue_arn for c in "*?")
    ):
        raise ValueError(f"not an order queue ARN: {queue_arn!r}")
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "OwnOrderQueueOnly",
                "Effect": "Allow",
                "Action": list(QUEUE_ACTIONS),
                "Resource": queue_arn,
            }
        ],
    }


def session_policy_json(queue_arn: str) -> str:
    return json.dumps(session_policy(queue_arn), separators=(",", ":"))


def session_seconds(requested: int | None) -> int:
    """Clamp a configured duration into what STS and the role allow."""
    if requested is None:
        return MIN_SESSION_SECONDS
    return max(MIN_SESSION_SECONDS, min(MAX_SESSION_SECONDS, int(requested)))


def queue_name(prefix: str, account_id: str, *, dlq: bool = False) -> str:
    """`<prefix><account_id>.fifo` and `<prefix><account_id>-dlq.fifo` (SQS: 80 chars max)."""
    name = f"{prefix}{account_id}{'-dlq' if dlq else ''}.fifo"
    if len(name) > 80:
        raise ValueError(f"queue name too long for SQS: {name!r}")
    return name


def dlq_alarm_name(prefix: str, account_id: str) -> str:
    """`<prefix><account_id>-dlq`: the CloudWatch alarm on the account's DLQ.

    It shares the queues' prefix (`signalos-<stage>-orders-`), which is what BridgeFunctionRole may
    put and delete alarms under (template.yaml).
    """
    return f"{prefix}{account_id}-dlq"
