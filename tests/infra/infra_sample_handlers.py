"""Handlers for testing the local runtime itself (routing, invocation, triggers), not the product.

Each records what it received in CALLS so a test can see the exact event and context.
"""

from __future__ import annotations

import base64
import json
from typing import Any

CALLS: list[tuple[str, dict[str, Any], Any]] = []


def echo(event: dict[str, Any], context: Any) -> dict[str, Any]:
    CALLS.append(("echo", event, context))
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/json", "x-handler": "echo"},
        "cookies": ["a=1; Path=/", "b=2; Path=/"],
        "body": json.dumps({"routeKey": event["routeKey"], "pathParameters": event.get("pathParameters")}),
    }


def binary(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {
        "statusCode": 201,
        "headers": {"content-type": "image/png"},
        "isBase64Encoded": True,
        "body": base64.b64encode(b"\x89PNG\x00\xff").decode(),
    }


def bare_dict(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"hello": "world"}


def crash(event: dict[str, Any], context: Any) -> dict[str, Any]:
    raise RuntimeError("secret internal detail")


# Batch handlers: a message/record whose body (or NewImage.kind) says "fail" is reported failed.
def sqs_partial(event: dict[str, Any], context: Any) -> dict[str, Any]:
    CALLS.append(("sqs_partial", event, context))
    failed = [r["messageId"] for r in event["Records"] if r["body"] == "fail"]
    return {"batchItemFailures": [{"itemIdentifier": i} for i in failed]}


def sqs_malformed(event: dict[str, Any], context: Any) -> dict[str, Any]:
    CALLS.append(("sqs_malformed", event, context))
    return {"batchItemFailures": [{"itemIdentifier": "not-a-message-id"}]}


def sqs_raise(event: dict[str, Any], context: Any) -> dict[str, Any]:
    CALLS.append(("sqs_raise", event, context))
    raise RuntimeError("worker crashed")


def _kind(record: dict[str, Any]) -> str:
    return record["dynamodb"].get("NewImage", {}).get("kind", {}).get("S", "")


def stream_partial(event: dict[str, Any], context: Any) -> dict[str, Any]:
    CALLS.append(("stream_partial", event, context))
    failed = [r["dynamodb"]["SequenceNumber"] for r in event["Records"] if _kind(r) == "fail"]
    return {"batchItemFailures": [{"itemIdentifier": s} for s in failed]}


def stream_raise_on_poison(event: dict[str, Any], context: Any) -> dict[str, Any]:
    CALLS.append(("stream_raise_on_poison", event, context))
    if any(_kind(r) == "poison" for r in event["Records"]):
        raise RuntimeError("poison record")
    return {"batchItemFailures": []}
