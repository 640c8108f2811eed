"""Lambda events exactly as AWS builds them: API Gateway HTTP API payload 2.0, SQS, DynamoDB streams.

`http_event` follows the documented payload format 2.0: header names lower-cased and repeated
headers joined with commas, cookies moved out of the headers into `cookies`, repeated query
parameters joined with commas, `pathParameters` only when the route has variables, and a body
that is not UTF-8 text sent base64-encoded with `isBase64Encoded: true`.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode

from infra.local.template import LOCAL_ACCOUNT_ID, LOCAL_REGION

LOCAL_API_ID = "signaloslocal"
LOCAL_DOMAIN = "127.0.0.1"
DEFAULT_SOURCE_IP = "127.0.0.1"
DEFAULT_USER_AGENT = "signalos-local"

Headers = Mapping[str, str] | Iterable[tuple[str, str]]


def _header_pairs(headers: Headers | None) -> list[tuple[str, str]]:
    if headers is None:
        return []
    if isinstance(headers, Mapping):
        return [(str(k), str(v)) for k, v in headers.items()]
    return [(str(k), str(v)) for k, v in headers]


def _apigw_time(now: datetime) -> str:
    # API Gateway's requestContext.time format: "12/Mar/2020:19:03:58 +0000"
    return now.strftime("%d/%b/%Y:%H:%M:%S +0000")


def http_event(
    method: str,
    path: str,
    *,
    body: bytes | str | Mapping[str, Any] | list[Any] | None = None,
    headers: Headers | None = None,
    query: Mapping[str, str | list[str]] | str | None = None,
    route_key: str | None = None,
    path_parameters: Mapping[str, str] | None = None,
    source_ip: str = DEFAULT_SOURCE_IP,
    stage: str = "$default",
    request_id: str | None = None,
    domain_name: str = LOCAL_DOMAIN,
) -> dict[str, Any]:
    """An API Gateway HTTP API (payload format 2.0) event for one request.

    `body`: bytes/str are sent as-is (bytes that are not UTF-8 are base64-encoded); a dict or list
    is JSON-encoded and gets `content-type: application/json` unless a content type is given.
    `query`: a mapping (a list value repeats the key) or a raw query string.
    `route_key`: "GET /api/v1/x/{proxy+}" as matched by routing (defaults to "METHOD path").
    """
    method = method.upper()
    path = path.split("?", 1)[0] or "/"
    pairs = _header_pairs(headers)

    if isinstance(body, Mapping | list):
        body = json.dumps(body)
        if not any(k.lower() == "content-type" for k, _ in pairs):
            pairs.append(("content-type", "application/json"))

    # Header names are case-insensitive: API Gateway lower-cases them and joins repeats with ",".
    joined: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in pairs:
        key = name.lower()
        if key == "cookie":
            cookies.extend(c.strip() for c in value.split(";") if c.strip())
            continue
        joined[key] = f"{joined[key]},{value}" if key in joined else value

    raw_body: str | None
    is_base64 = False
    if body is None:
        raw_body = None
    elif isinstance(body, bytes):
        try:
            raw_body = body.decode("utf-8")
        except UnicodeDecodeError:
            raw_body = base64.b64encode(body).decode("ascii")
            is_base64 = True
    else:
        raw_body = str(body)
    if raw_body is not None and "content-length" not in joined:
        joined["content-length"] = str(
            len(base64.b64decode(raw_body)) if is_base64 else len(raw_body.encode())
        )

    joined.setdefault("host", domain_name)
    joined.setdefault("user-agent", DEFAULT_USER_AGENT)
    joined.setdefault("x-forwarded-for", source_ip)
    joined.setdefault("x-forwarded-proto", "http")
    joined.setdefault("x-forwarded-port", "80")

    if query is None:
        raw_query = ""
    elif isinstance(query, str):
        raw_query = query.lstrip("?")
    else:
        raw_query = urlencode(
            [(k, v) for k, vals in query.items() for v in (vals if isinstance(vals, list) else [vals])]
        )
    params: dict[str, str] = {}
    for k, v in parse_qsl(raw_query, keep_blank_values=True):
        params[k] = f"{params[k]},{v}" if k in params else v

    now = datetime.now(UTC)
    request_id = request_id or str(uuid.uuid4())
    route_key = route_key or f"{method} {path}"
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": raw_query,
        "headers": joined,
        "requestContext": {
            "accountId": LOCAL_ACCOUNT_ID,
            "apiId": LOCAL_API_ID,
            "domainName": domain_name,
            "domainPrefix": domain_name.split(".", 1)[0],
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": joined.get("user-agent", ""),
            },
            "requestId": request_id,
            "routeKey": route_key,
            "stage": stage,
            "time": _apigw_time(now),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": is_base64,
    }
    if cookies:
        event["cookies"] = cookies
    if params:
        event["queryStringParameters"] = params
    if path_parameters:
        event["pathParameters"] = dict(path_parameters)
    if raw_body is not None:
        event["body"] = raw_body
    return event


def sqs_record(message: Mapping[str, Any], *, queue_arn: str, region: str = LOCAL_REGION) -> dict[str, Any]:
    """A Lambda SQS event record from an SQS ReceiveMessage message (AttributeNames=All)."""
    attrs = message.get("Attributes", {})
    record_attrs = {
        "ApproximateReceiveCount": attrs.get("ApproximateReceiveCount", "1"),
        "SentTimestamp": attrs.get("SentTimestamp", str(int(time.time() * 1000))),
        "SenderId": attrs.get("SenderId", LOCAL_ACCOUNT_ID),
        "ApproximateFirstReceiveTimestamp": attrs.get(
            "ApproximateFirstReceiveTimestamp", str(int(time.time() * 1000))
        ),
    }
    for fifo_attr in ("MessageGroupId", "MessageDeduplicationId", "SequenceNumber", "AWSTraceHeader"):
        if fifo_attr in attrs:
            record_attrs[fifo_attr] = attrs[fifo_attr]
    message_attributes = {}
    for name, value in (message.get("MessageAttributes") or {}).items():
        entry: dict[str, Any] = {
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": value["DataType"],
        }
        if "StringValue" in value:
            entry["stringValue"] = value["StringValue"]
        if "BinaryValue" in value:
            entry["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode("ascii")
        message_attributes[name] = entry
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": record_attrs,
        "messageAttributes": message_attributes,
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


def dynamodb_stream_record(
    record: Mapping[str, Any], *, stream_arn: str, region: str = LOCAL_REGION
) -> dict[str, Any]:
    """A Lambda DynamoDB-stream event record from a dynamodbstreams GetRecords record."""
    ddb = dict(record.get("dynamodb", {}))
    created = ddb.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        ddb["ApproximateCreationDateTime"] = int(created.timestamp())
    return {
        "eventID": record.get("eventID", uuid.uuid4().hex),
        "eventName": record["eventName"],
        "eventVersion": "1.1",  # what Lambda's stream events carry (GetRecords says 1.0)
        "eventSource": "aws:dynamodb",
        "awsRegion": record.get("awsRegion", region),
        "dynamodb": ddb,
        "eventSourceARN": stream_arn,
    }
