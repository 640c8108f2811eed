"""Helpers for testing the shared HTTP pieces against a real Powertools resolver."""

from __future__ import annotations

import json
from typing import Any

import pytest


def http_event(method: str, path: str, *, body: Any = None, raw_body: str | None = None,
               headers: dict[str, str] | None = None, query: dict[str, str] | None = None,
               request_id: str = "req-test-1") -> dict[str, Any]:
    """An API Gateway HTTP API payload-2.0 event (infra.local.events), with a fixed request id."""
    from infra.local.events import http_event as build

    hdrs = {"content-type": "application/json", "user-agent": "pytest", **(headers or {})}
    payload = raw_body if raw_body is not None else (json.dumps(body) if body is not None else None)
    return build(method, path, body=payload, headers=hdrs, query=query, request_id=request_id)


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
