"""Queue health for administrators: depth, in flight and dead letters of every queue, and redrive.

Queues: SignalJobs and Fanout (SIGNAL_JOBS_QUEUE_URL, FANOUT_QUEUE_URL), the aggregator's DLQ
when AGGREGATOR_DLQ_URL is set, and every per-account order queue (ListQueues with
ORDER_QUEUE_PREFIX; an account's DLQ is `<prefix><account_id>-dlq.fifo`). A queue's DLQ is
found through its RedrivePolicy.

Redrive moves a DLQ's messages back to its source queue: SQS's StartMessageMoveTask where
available; where it is not (moto, the local stack), a manual move - receive, send to the
source (FIFO: same group, a fresh deduplication id; consumers dedupe by command id), delete -
bounded by `max_messages`.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from signalos.common import aws, settings
from signalos.common.errors import NotFound

COUNT_ATTRIBUTES = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
                    "ApproximateNumberOfMessagesDelayed", "QueueArn", "RedrivePolicy"]
NAMED_QUEUES = {"signal_jobs": "SIGNAL_JOBS_QUEUE_URL", "fanout": "FANOUT_QUEUE_URL"}
_UNSUPPORTED = {"NotImplemented", "InvalidAction", "UnsupportedOperation", "InternalFailure",
                "InternalError", "500"}
MAX_LISTED_ORDER_QUEUES = 1000


def _sqs() -> Any:
    return aws.client("sqs")


def queue_name(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


@dataclass(frozen=True)
class QueueCounts:
    visible: int
    in_flight: int
    delayed: int
    arn: str
    dlq_arn: str | None


def counts(url: str) -> QueueCounts:
    attrs = _sqs().get_queue_attributes(QueueUrl=url, AttributeNames=COUNT_ATTRIBUTES)["Attributes"]
    redrive = attrs.get("RedrivePolicy")
    dlq_arn = json.loads(redrive).get("deadLetterTargetArn") if redrive else None
    return QueueCounts(int(attrs.get("ApproximateNumberOfMessages", 0)),
                       int(attrs.get("ApproximateNumberOfMessagesNotVisible", 0)),
                       int(attrs.get("ApproximateNumberOfMessagesDelayed", 0)), attrs.get("QueueArn", ""),
                       dlq_arn)


def url_of_arn(arn: str) -> str:
    """arn:aws:sqs:<region>:<account>:<name> -> the queue URL (GetQueueUrl)."""
    parts = arn.split(":")
    return _sqs().get_queue_url(QueueName=parts[5], QueueOwnerAWSAccountId=parts[4])["QueueUrl"]


def describe(kind: str, name: str, url: str, account_id: str | None = None) -> dict[str, Any]:
    main = counts(url)
    dlq: dict[str, Any] | None = None
    if main.dlq_arn:
        dlq_url = url_of_arn(main.dlq_arn)
        d = counts(dlq_url)
        dlq = {"name": queue_name(dlq_url), "messages": d.visible + d.in_flight}
    return {"kind": kind, "name": name, "queue": queue_name(url), "account_id": account_id,
            "messages": main.visible, "in_flight": main.in_flight, "delayed": main.delayed,
            "dlq_messages": dlq["messages"] if dlq else None, "dlq": dlq["name"] if dlq else None}


def order_queue_urls() -> list[str]:
    """Every per-account order queue (not their DLQs), by ListQueues on the stage's prefix."""
    prefix = settings.require_env("ORDER_QUEUE_PREFIX")
    urls: list[str] = []
    token: str | None = None
    while len(urls) < MAX_LISTED_ORDER_QUEUES:
        kwargs: dict[str, Any] = {"QueueNamePrefix": prefix, "MaxResults": 1000}
        if token:
            kwargs["NextToken"] = token
        page = _sqs().list_queues(**kwargs)
        urls += [u for u in page.get("QueueUrls", []) if not queue_name(u).endswith("-dlq.fifo")]
        token = page.get("NextToken")
        if not token:
            break
    return sorted(urls)[:MAX_LISTED_ORDER_QUEUES]


def account_of(url: str) -> str:
    prefix = settings.env("ORDER_QUEUE_PREFIX", "") or ""
    return queue_name(url).removeprefix(prefix).removesuffix(".fifo")


def queue_status() -> dict[str, Any]:
    items = []
    for name, variable in NAMED_QUEUES.items():
        url = settings.env(variable)
        if url:
            items.append(describe("service", name, url))
    aggregator_dlq = settings.env("AGGREGATOR_DLQ_URL")
    if aggregator_dlq:
        c = counts(aggregator_dlq)
        items.append({"kind": "dead_letter", "name": "aggregator_dlq", "queue": queue_name(aggregator_dlq),
                      "account_id": None, "messages": c.visible, "in_flight": c.in_flight,
                      "delayed": c.delayed, "dlq_messages": None, "dlq": None})
    for url in order_queue_urls():
        account_id = account_of(url)
        items.append(describe("orders", f"orders:{account_id}", url, account_id))
    totals = {"messages": sum(i["messages"] for i in items), "in_flight": sum(i["in_flight"] for i in items),
              "dlq_messages": sum(i["dlq_messages"] or 0 for i in items)}
    return {"queues": items, "totals": totals}


def resolve(name: str) -> str:
    """A queue named as in queue_status (`signal_jobs`, `fanout`, `orders:<account_id>`) -> URL."""
    if name in NAMED_QUEUES:
        url = settings.env(NAMED_QUEUES[name])
        if url:
            return url
    elif name.startswith("orders:"):
        account_id = name.removeprefix("orders:")
        prefix = settings.require_env("ORDER_QUEUE_PREFIX")
        if account_id and all(c.isalnum() or c in "_-" for c in account_id):
            try:
                return _sqs().get_queue_url(QueueName=f"{prefix}{account_id}.fifo")["QueueUrl"]
            except Exception as exc:
                if "NonExistentQueue" not in repr(exc) and "QueueDoesNotExist" not in repr(exc):
                    raise
    raise NotFound("No such queue", code="QUEUE_NOT_FOUND", details={"queue": name})


def _manual_move(dlq_url: str, source_url: str, max_messages: int) -> int:
    fifo = source_url.endswith(".fifo")
    moved = 0
    while moved < max_messages:
        batch = _sqs().receive_message(
            QueueUrl=dlq_url, MaxNumberOfMessages=min(10, max_messages - moved), WaitTimeSeconds=0,
            VisibilityTimeout=60, MessageSystemAttributeNames=["All"], MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not batch:
            break
        for message in batch:
            send: dict[str, Any] = {"QueueUrl": source_url, "MessageBody": message["Body"]}
            if message.get("MessageAttributes"):
                send["MessageAttributes"] = message["MessageAttributes"]
            if fifo:
                system = message.get("Attributes", {})
                send["MessageGroupId"] = system.get("MessageGroupId", "redrive")
                original = system.get("MessageDeduplicationId") or message["MessageId"]
                send["MessageDeduplicationId"] = f"{original[:90]}:redrive:{time.time_ns() // 1_000_000}"
            _sqs().send_message(**send)
            _sqs().delete_message(QueueUrl=dlq_url, ReceiptHandle=message["ReceiptHandle"])
            moved += 1
    return moved


def redrive(name: str, *, max_messages: int = 100) -> dict[str, Any]:
    """Move the named queue's dead letters back to it."""
    source_url = resolve(name)
    source = counts(source_url)
    if not source.dlq_arn:
        raise NotFound("That queue has no dead-letter queue", code="NO_DLQ", details={"queue": name})
    dlq_url = url_of_arn(source.dlq_arn)
    waiting = counts(dlq_url).visible
    try:
        task = _sqs().start_message_move_task(SourceArn=source.dlq_arn, DestinationArn=source.arn,
                                              MaxNumberOfMessagesPerSecond=50)
        return {"queue": name, "method": "move_task", "task_handle": task.get("TaskHandle"),
                "messages": waiting, "moved": None}
    except NotImplementedError:
        pass  # moto in-process
    except Exception as exc:
        code = str((getattr(exc, "response", None) or {}).get("Error", {}).get("Code", ""))
        if code not in _UNSUPPORTED:
            raise
    moved = _manual_move(dlq_url, source_url, max_messages)
    return {"queue": name, "method": "manual", "task_handle": None, "messages": waiting, "moved": moved}
