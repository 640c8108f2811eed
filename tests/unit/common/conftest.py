"""Helpers for testing the shared HTTP pieces against a real Powertools resolver."""

from __future__ import annotations

import json
from typing import Any

import pytest


def http_event(method: str, path: str, *, body: Any = None, raw_body: str | None = None,
               headers: dict[str, str] | None = None, query: dict[str, str] | None = None,
               request_id: str = "req-test-1", base64: bool = False) -> dict[str, Any]:
    """An API Gateway HTTP API payload-2.0 event, as API Gateway sends it."""
    hdrs = {"content-type": "application/json", "host": "api.example.test", "user-agent": "pytest"}
    hdrs.update({k.lower(): v for k, v in (headers or {}).items()})
    text = raw_body if raw_body is not None else (json.dumps(body) if body is not None else None)
    return {
        "version": "2.0",
        "routeKey": f"{method} {path}",
        "rawPath": path,
        "rawQueryString": "&".join(f"{k}={v}" for k, v in (query or {}).items()),
        "headers": hdrs,
        "queryStringParameters": query or None,
        "requestContext": {
            "accountId": "123456789012", "apiId": "api", "domainName": "api.example.test",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.9",
                     "userAgent": "pytest"},
            "requestId": request_id, "routeKey": f"{method} {path}", "stage": "$default",
            "time": "22/Nov/2026:10:30:00 +0000", "timeEpoch": 1795343400000,
        },
        "body": text,
        "isBase64Encoded": base64,
    }


class FakeLambdaContext:
    function_name = "signalos-test"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:signalos-test"
    aws_request_id = "lambda-req-1"


def invoke(handler: Any, method: str, path: str, **kwargs: Any) -> tuple[int, dict[str, str], Any]:
    resp = handler(http_event(method, path, **kwargs), FakeLambdaContext())
    body = resp.get("body")
    is_json = resp["headers"].get("Content-Type", "").startswith("application/json")
    parsed = json.loads(body) if body and is_json else body
    return resp["statusCode"], resp["headers"], parsed


@pytest.fixture
def call():
    return invoke
