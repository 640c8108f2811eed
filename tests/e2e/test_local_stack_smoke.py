"""The local stack answers over real HTTP the way the deployed HTTP API does."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any


def request(
    method: str, url: str, *, headers: dict[str, str] | None = None, body: bytes | None = None
) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(url, method=method, headers=headers or {}, data=body)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, {k.lower(): v for k, v in err.headers.items()}, err.read()


def wait_for_line(stack: Any, needle: str, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(needle in line for line in stack.lines):
            return True
        time.sleep(0.05)
    return False


def test_healthz_is_served_by_the_status_function(local_stack):
    status, headers, body = request("GET", f"{local_stack}/healthz")
    assert status == 200
    assert headers["content-type"].startswith("application/json")
    assert json.loads(body)["status"] in {"healthy", "ok"}
    # One line per request: method, path, status, duration, function.
    assert wait_for_line(local_stack, "GET /healthz 200 "), local_stack.output()
    assert any(
        line.startswith("GET /healthz 200 ") and line.endswith("StatusFunction") for line in local_stack.lines
    )


def test_unknown_route_is_404_in_the_platform_error_body(local_stack):
    status, headers, body = request("GET", f"{local_stack}/api/v1/no-such-thing")
    assert status == 404
    error = json.loads(body)["error"]
    assert error["code"] == "NOT_FOUND"
    assert set(error) >= {"code", "message", "details", "timestamp", "request_id"}
    assert error["timestamp"].endswith("Z")
    assert "Traceback" not in body.decode()
    assert headers["content-type"].startswith("application/json")
    # The request id API Gateway assigned is the one the function reports.
    assert error["request_id"] == headers["apigw-requestid"]


def test_cors_preflight_is_answered_from_the_template(local_stack):
    status, headers, body = request(
        "OPTIONS",
        f"{local_stack}/api/v1/auth/login",
        headers={
            "Origin": "https://app.example.test",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,authorization",
        },
    )
    assert status == 204
    assert headers["access-control-allow-origin"] == "*"
    assert "POST" in headers["access-control-allow-methods"]
    assert "authorization" in headers["access-control-allow-headers"]
    assert body == b""


def test_the_ready_banner_names_the_webhook_secret_and_admin(local_stack):
    out = local_stack.output()
    assert local_stack.webhook_secret in out
    assert f"Admin user: {local_stack.admin_username}" in out
    # A password given through the environment is not echoed.
    assert local_stack.admin_password not in out
