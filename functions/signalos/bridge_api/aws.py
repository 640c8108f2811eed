"""The AWS calls of the bridge API: an account's FIFO queue + DLQ and its alarm, and STS session credentials.

boto3 is imported on first use (the heartbeat and report routes never need it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from signalos.bridge_api.policy import dlq_alarm_name, queue_name, session_policy_json, session_seconds
from signalos.common import aws, settings
from signalos.common.clock import iso

ORDER_RETENTION_SECONDS = 86_400  # an order is worthless long before this; expired ones are reported
DLQ_RETENTION_SECONDS = 14 * 86_400
VISIBILITY_SECONDS = 60
MAX_RECEIVE_COUNT = 5
# SQS publishes queue metrics every minute; an order in a DLQ is a trade that did not happen, so
# the alarm looks at each minute (the template's shared DLQ alarms, less urgent, at 5 minutes).
DLQ_ALARM_PERIOD_SECONDS = 60


@dataclass(frozen=True)
class AccountQueues:
    queue_url: str
    queue_arn: str
    dlq_url: str
    dlq_arn: str


def _sqs() -> Any:
    return aws.client("sqs")


def _sts() -> Any:
    return aws.client("sts")


def _cloudwatch() -> Any:
    return aws.client("cloudwatch")


region_name = aws.region_name


def queue_prefix() -> str:
    return settings.require_env("ORDER_QUEUE_PREFIX")


def _arn(url: str) -> str:
    attrs = _sqs().get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    return str(attrs["QueueArn"])


def create_account_queues(account_id: str, user_id: str) -> AccountQueues:
    """The account's FIFO order queue and its FIFO DLQ (redrive after 5 receives), tagged with the owner.

    Explicit deduplication ids only (ContentBasedDeduplication off): the order's command id is the key.
    """
    prefix = queue_prefix()
    tags = {
        "owner": user_id,
        "account_id": account_id,
        "service": settings.service_name(),
        "stage": settings.stage(),
    }
    fifo = {"FifoQueue": "true", "ContentBasedDeduplication": "false", "SqsManagedSseEnabled": "true"}
    dlq_url = _sqs().create_queue(
        QueueName=queue_name(prefix, account_id, dlq=True),
        Attributes={**fifo, "MessageRetentionPeriod": str(DLQ_RETENTION_SECONDS)},
        tags=tags,
    )["QueueUrl"]
    try:
        dlq_arn = _arn(dlq_url)
        queue_url = _sqs().create_queue(
            QueueName=queue_name(prefix, account_id),
            Attributes={
                **fifo,
                "MessageRetentionPeriod": str(ORDER_RETENTION_SECONDS),
                "VisibilityTimeout": str(VISIBILITY_SECONDS),
                "ReceiveMessageWaitTimeSeconds": "20",
                "RedrivePolicy": json.dumps(
                    {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": MAX_RECEIVE_COUNT}
                ),
            },
            tags=tags,
        )["QueueUrl"]
        return AccountQueues(queue_url, _arn(queue_url), dlq_url, dlq_arn)
    except Exception:
        delete_queue(dlq_url)
        raise


def delete_queue(url: str | None) -> bool:
    """Delete a queue; True if it went (or was already gone)."""
    if not url:
        return True
    client = _sqs()
    try:
        client.delete_queue(QueueUrl=url)
    except client.exceptions.QueueDoesNotExist:
        return True
    return True


def put_dlq_alarm(account_id: str) -> str:
    """Alarm to ALARM_TOPIC_ARN as soon as one message sits in the account's DLQ; returns its name.

    Idempotent: PutMetricAlarm replaces an alarm of the same name. No tags (tagging would need
    cloudwatch:TagResource too); the name carries the stage and the account.
    """
    topic_arn = settings.require_env("ALARM_TOPIC_ARN")
    prefix = queue_prefix()
    name = dlq_alarm_name(prefix, account_id)
    _cloudwatch().put_metric_alarm(
        AlarmName=name,
        AlarmDescription=(
            f"Orders of trading account {account_id} failed {MAX_RECEIVE_COUNT} deliveries to its bridge "
            "and wait in its dead-letter queue (not executed)"
        ),
        Namespace="AWS/SQS",
        MetricName="ApproximateNumberOfMessagesVisible",
        Dimensions=[{"Name": "QueueName", "Value": queue_name(prefix, account_id, dlq=True)}],
        Statistic="Maximum",
        Period=DLQ_ALARM_PERIOD_SECONDS,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        TreatMissingData="notBreaching",
        AlarmActions=[topic_arn],
    )
    return name


def delete_dlq_alarm(account_id: str) -> bool:
    """Delete the account's DLQ alarm (found by its name); True if it went or was never there."""
    client = _cloudwatch()
    try:
        client.delete_alarms(AlarmNames=[dlq_alarm_name(queue_prefix(), account_id)])
    except client.exceptions.ResourceNotFound:
        return True
    return True


def assume_queue_role(account_id: str, queue_arn: str) -> dict[str, Any]:
    """Short-lived credentials that can only consume `queue_arn` (see policy.py)."""
    seconds = session_seconds(settings.env_int("BRIDGE_SESSION_SECONDS", 3600))
    resp = _sts().assume_role(
        RoleArn=settings.require_env("BRIDGE_QUEUE_ROLE_ARN"),
        RoleSessionName=f"bridge-{account_id}"[:64],
        Policy=session_policy_json(queue_arn),
        DurationSeconds=seconds,
    )
    creds = resp["Credentials"]
    return {
        "access_key_id": creds["AccessKeyId"],
        "secret_access_key": creds["SecretAccessKey"],
        "session_token": creds["SessionToken"],
        "expiration": iso(creds["Expiration"].astimezone(UTC)),
    }
