"""Play the SQS and DynamoDB-stream triggers template.yaml declares (Lambda's event source mappings).

moto does not run event source mappings, so the local stack polls and invokes itself. Each
trigger is discovered from a function's `Events` (Type SQS / DynamoDB), so a function added to
the template later is picked up with no code change. Semantics follow Lambda's:

SQS: up to BatchSize messages per invocation. A handler exception leaves the whole batch on
the queue (visible again after the visibility timeout; the redrive policy moves it to the DLQ
after maxReceiveCount). With ReportBatchItemFailures only the messages not listed in
`batchItemFailures` are deleted; a malformed list fails the whole batch, as Lambda does.

DynamoDB streams: records from StartingPosition, BatchSize per invocation. On failure the batch
is retried from the first failed record (ReportBatchItemFailures: the lowest failed sequence
number); BisectBatchOnFunctionError splits a batch that raised; after MaximumRetryAttempts the
batch's description goes to the OnFailure destination (an SQS queue) and the shard moves on.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from infra.local.events import dynamodb_stream_record, sqs_record
from infra.local.invoke import FunctionRunner, make_context
from infra.local.resources import Clients, LocalResource, make_resolver
from infra.local.template import LOCAL_REGION, FunctionSpec, Template

log = logging.getLogger("signalos.local.triggers")


class Trigger(Protocol):
    function_id: str
    description: str

    def poll_once(self, wait_seconds: int = 0) -> int: ...


def _failed_identifiers(result: Any, valid: set[str]) -> set[str] | None:
    """Identifiers listed in a partial-batch response; None when the response fails the batch."""
    if not isinstance(result, Mapping) or not result.get("batchItemFailures"):
        return set()
    ids: set[str] = set()
    for failure in result["batchItemFailures"]:
        ident = failure.get("itemIdentifier") if isinstance(failure, Mapping) else None
        if not ident or ident not in valid:
            return None  # Lambda treats an unusable response as a failure of the whole batch
        ids.add(ident)
    return ids


@dataclass
class SqsTrigger:
    function: FunctionSpec
    runner: FunctionRunner
    clients: Clients
    queue_url: str
    queue_arn: str
    batch_size: int = 10
    report_failures: bool = False
    stage: str = "local"

    @property
    def function_id(self) -> str:
        return self.function.logical_id

    @property
    def description(self) -> str:
        return f"SQS {self.queue_arn.rsplit(':', 1)[-1]} -> {self.function_id} (batch {self.batch_size})"

    def _receive(self, wait_seconds: int) -> list[dict[str, Any]]:
        sqs = self.clients("sqs")
        messages: list[dict[str, Any]] = []
        while len(messages) < self.batch_size:
            resp = sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=min(10, self.batch_size - len(messages)),
                WaitTimeSeconds=wait_seconds if not messages else 0,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            )
            got = resp.get("Messages", [])
            messages.extend(got)
            if not got:
                break
        return messages

    def poll_once(self, wait_seconds: int = 0) -> int:
        """Receive one batch and invoke the function with it; returns the number of messages."""
        messages = self._receive(wait_seconds)
        if not messages:
            return 0
        region = self.clients.region
        event = {"Records": [sqs_record(m, queue_arn=self.queue_arn, region=region) for m in messages]}
        try:
            result = self.runner.run(
                self.function_id, event, context=make_context(self.function, stage=self.stage)
            )
        except Exception:
            log.exception(
                "%s failed on a batch of %d; the messages stay on the queue", self.function_id, len(messages)
            )
            return len(messages)
        done = messages
        if self.report_failures:
            failed = _failed_identifiers(result, {m["MessageId"] for m in messages})
            if failed is None:
                log.error(
                    "%s returned an unusable batchItemFailures; the whole batch fails", self.function_id
                )
                return len(messages)
            done = [m for m in messages if m["MessageId"] not in failed]
            if failed:
                log.warning(
                    "%s reported %d of %d messages failed", self.function_id, len(failed), len(messages)
                )
        for start in range(0, len(done), 10):
            chunk = done[start : start + 10]
            self.clients("sqs").delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)],
            )
        return len(messages)


@dataclass
class StreamTrigger:
    function: FunctionSpec
    runner: FunctionRunner
    clients: Clients
    stream_arn: str
    starting_position: str = "LATEST"
    batch_size: int = 100
    report_failures: bool = False
    bisect_on_error: bool = False
    max_retries: int = -1  # -1: until the records expire (Lambda's default)
    on_failure_queue_url: str | None = None
    retry_delay: float = 0.0
    stage: str = "local"
    _iterators: dict[str, str | None] = field(default_factory=dict)

    @property
    def function_id(self) -> str:
        return self.function.logical_id

    @property
    def description(self) -> str:
        table = self.stream_arn.split(":table/", 1)[-1].split("/", 1)[0]
        return (
            f"stream {table} -> {self.function_id} (batch {self.batch_size}, from {self.starting_position})"
        )

    def start(self) -> None:
        """Take shard iterators now (LATEST means: records written from this moment on)."""
        self._refresh_shards(self.starting_position)

    def _refresh_shards(self, position: str) -> None:
        streams = self.clients("dynamodbstreams")
        shards = streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"].get("Shards", [])
        for shard in shards:
            if shard["ShardId"] not in self._iterators:
                self._iterators[shard["ShardId"]] = streams.get_shard_iterator(
                    StreamArn=self.stream_arn, ShardId=shard["ShardId"], ShardIteratorType=position
                )["ShardIterator"]

    def poll_once(self, wait_seconds: int = 0) -> int:
        """Read each shard once and deliver what it had; returns the number of records."""
        if not self._iterators:
            self.start()
        else:
            self._refresh_shards("TRIM_HORIZON")  # a shard that appeared since is read from its start
        streams = self.clients("dynamodbstreams")
        total = 0
        for shard_id, iterator in list(self._iterators.items()):
            if iterator is None:
                continue
            resp = streams.get_records(ShardIterator=iterator, Limit=self.batch_size)
            self._iterators[shard_id] = resp.get("NextShardIterator")
            records = resp.get("Records", [])
            if records:
                total += len(records)
                self._deliver(shard_id, records)
        if not total and wait_seconds:
            time.sleep(min(wait_seconds, 1))
        return total

    def _invoke(self, records: list[dict[str, Any]]) -> int | None:
        """Invoke with `records`; the index of the first record to retry, or None when all succeeded.

        Raises when the function itself raised (so the caller can bisect).
        """
        event = {
            "Records": [
                dynamodb_stream_record(r, stream_arn=self.stream_arn, region=self.clients.region)
                for r in records
            ]
        }
        result = self.runner.run(
            self.function_id, event, context=make_context(self.function, stage=self.stage)
        )
        if not self.report_failures:
            return None
        seqs = [r["dynamodb"]["SequenceNumber"] for r in records]
        failed = _failed_identifiers(result, set(seqs))
        if failed is None:
            return 0
        if not failed:
            return None
        return min(seqs.index(s) for s in failed)  # checkpoint: retry from the lowest failed record

    def _deliver(self, shard_id: str, records: list[dict[str, Any]]) -> None:
        pending = records
        attempts = 0
        while pending:
            try:
                retry_from = self._invoke(pending)
            except Exception:
                log.exception("%s failed on %d stream records", self.function_id, len(pending))
                if self.bisect_on_error and len(pending) > 1:
                    half = len(pending) // 2
                    self._deliver(shard_id, pending[:half])
                    self._deliver(shard_id, pending[half:])
                    return
                retry_from = 0
            if retry_from is None:
                return
            pending = pending[retry_from:]
            attempts += 1
            if 0 <= self.max_retries < attempts:
                self._send_to_on_failure(shard_id, pending, attempts)
                return
            if self.retry_delay:
                time.sleep(self.retry_delay)

    def _send_to_on_failure(self, shard_id: str, records: list[dict[str, Any]], attempts: int) -> None:
        log.error(
            "%s gave up on %d stream records after %d attempts", self.function_id, len(records), attempts
        )
        if not self.on_failure_queue_url:
            return
        first, last = records[0]["dynamodb"], records[-1]["dynamodb"]

        def arrival(ddb: Mapping[str, Any]) -> str:
            created = ddb.get("ApproximateCreationDateTime")
            return created.isoformat() if isinstance(created, datetime) else str(created)

        # The shape Lambda sends to an on-failure destination for a stream batch.
        body = {
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": make_context(self.function, stage=self.stage).invoked_function_arn,
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": attempts,
            },
            "responseContext": {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                "functionError": "Unhandled",
            },
            "version": "1.0",
            "timestamp": datetime.now(UTC).isoformat(),
            "DDBStreamBatchInfo": {
                "shardId": shard_id,
                "startSequenceNumber": first["SequenceNumber"],
                "endSequenceNumber": last["SequenceNumber"],
                "approximateArrivalOfFirstRecord": arrival(first),
                "approximateArrivalOfLastRecord": arrival(last),
                "batchSize": len(records),
                "streamArn": self.stream_arn,
            },
        }
        self.clients("sqs").send_message(QueueUrl=self.on_failure_queue_url, MessageBody=json.dumps(body))


def discover_triggers(
    template: Template,
    resources: Mapping[str, LocalResource],
    runner: FunctionRunner,
    *,
    stage: str = "local",
    region: str = LOCAL_REGION,
    starting_position: str | None = None,
    retry_delay: float = 0.0,
) -> list[SqsTrigger | StreamTrigger]:
    """Every SQS and DynamoDB trigger of every function in the template.

    `starting_position` overrides the template's for streams (tests use TRIM_HORIZON to see
    every record since the tables were created, whenever they first poll).
    """
    resolver = make_resolver(template, resources, stage, region)
    by_arn = {r.arn: r for r in resources.values() if r.arn}
    queue_urls = {r.arn: r.ref for r in resources.values() if r.type == "AWS::SQS::Queue" and r.arn}
    clients = Clients(region)
    triggers: list[SqsTrigger | StreamTrigger] = []
    for fn in template.functions().values():
        for event in fn.events:
            props = resolver.resolve(event.properties)
            if props.get("Enabled") is False:
                continue
            report = "ReportBatchItemFailures" in (props.get("FunctionResponseTypes") or [])
            if event.type == "SQS":
                queue_arn = props["Queue"]
                if queue_arn not in by_arn:
                    raise ValueError(
                        f"{fn.logical_id}.{event.name}: queue {queue_arn} is not a template queue"
                    )
                triggers.append(
                    SqsTrigger(
                        function=fn,
                        runner=runner,
                        clients=clients,
                        queue_url=queue_urls[queue_arn],
                        queue_arn=queue_arn,
                        batch_size=int(props.get("BatchSize", 10)),
                        report_failures=report,
                        stage=stage,
                    )
                )
            elif event.type == "DynamoDB":
                on_failure = ((props.get("DestinationConfig") or {}).get("OnFailure") or {}).get(
                    "Destination"
                )
                triggers.append(
                    StreamTrigger(
                        function=fn,
                        runner=runner,
                        clients=clients,
                        stream_arn=props["Stream"],
                        starting_position=starting_position or props.get("StartingPosition", "LATEST"),
                        batch_size=int(props.get("BatchSize", 100)),
                        report_failures=report,
                        bisect_on_error=bool(props.get("BisectBatchOnFunctionError", False)),
                        max_retries=int(props.get("MaximumRetryAttempts", -1)),
                        on_failure_queue_url=queue_urls.get(on_failure) if on_failure else None,
                        retry_delay=retry_delay,
                        stage=stage,
                    )
                )
    return triggers


def drain(triggers: list[SqsTrigger | StreamTrigger], *, max_rounds: int = 50) -> int:
    """Poll every trigger until none has anything left (or max_rounds); returns records delivered.

    For tests: the work a chain of triggers does (queue -> worker -> stream -> aggregator) runs
    to completion in the calling thread.
    """
    total = 0
    for _ in range(max_rounds):
        delivered = sum(t.poll_once(0) for t in triggers)
        total += delivered
        if not delivered:
            return total
    raise RuntimeError(f"triggers still busy after {max_rounds} rounds (a message that always fails?)")


class PollerThreads:
    """One daemon thread per trigger, polling until stopped (the local stack)."""

    def __init__(self, triggers: list[SqsTrigger | StreamTrigger], *, wait_seconds: int = 1) -> None:
        self.triggers = triggers
        self.wait_seconds = wait_seconds
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for trigger in self.triggers:
            if isinstance(trigger, StreamTrigger):
                trigger.start()
            thread = threading.Thread(
                target=self._loop, args=(trigger,), name=f"poll-{trigger.function_id}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def _loop(self, trigger: SqsTrigger | StreamTrigger) -> None:
        while not self._stop.is_set():
            try:
                trigger.poll_once(self.wait_seconds)
            except Exception:
                if self._stop.is_set():
                    return
                log.exception("poller for %s failed; retrying", trigger.description)
                self._stop.wait(2)

    def request_stop(self) -> None:
        """Ask every poller to finish its current poll and exit (returns at once)."""
        self._stop.set()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)
