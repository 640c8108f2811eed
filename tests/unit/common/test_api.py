"""create_app: the error body, limits, validation, headers, CORS and request ids, on a real resolver."""

from __future__ import annotations

import base64
import json

import pytest
from aws_lambda_powertools.event_handler.api_gateway import Router
from pydantic import BaseModel, Field
from signalos.common.api import body_size, create_app
from signalos.common.errors import Conflict, TooManyRequests
from signalos.common.observability import instrumented

router = Router()


class ThingIn(BaseModel):
    name: str = Field(min_length=2)
    size: int = Field(ge=1)


@router.post("/things")
def create_thing(body: ThingIn) -> dict:
    return {"name": body.name, "size": body.size}


@router.get("/things/<thing_id>")
def get_thing(thing_id: str, limit: int = 10) -> dict:
    return {"thing_id": thing_id, "limit": limit}


@router.get("/conflict")
def conflict() -> dict:
    raise Conflict("That thing exists", code="THING_EXISTS", details={"thing_id": "t1"})


@router.get("/slow-down")
def slow_down() -> dict:
    raise TooManyRequests("Slow down", retry_after=30)


@router.get("/boom")
def boom() -> dict:
    raise RuntimeError("db password is hunter2 at /var/task/signalos/secret.py")


@router.post("/raw")
def raw_json() -> dict:
    return {"keys": sorted(router.current_event.json_body)}


app = create_app("test")
app.include_router(router)
handler = instrumented(app)


def assert_error_body(body, code, request_id="req-test-1"):
    err = body["error"]
    assert set(err) == {"code", "message", "details", "timestamp", "request_id"}
    assert err["code"] == code and err["request_id"] == request_id
    assert err["timestamp"].endswith("Z")
    return err


def test_success(call):
    status, headers, body = call(handler, "POST", "/things", body={"name": "ab", "size": 2})
    assert status == 200 and body == {"name": "ab", "size": 2}
    assert headers["Content-Type"] == "application/json"


def test_api_error_becomes_its_status_and_body(call):
    status, _, body = call(handler, "GET", "/conflict")
    assert status == 409
    err = assert_error_body(body, "THING_EXISTS")
    assert err["message"] == "That thing exists" and err["details"] == {"thing_id": "t1"}


def test_too_many_requests_carries_retry_after(call):
    status, headers, body = call(handler, "GET", "/slow-down")
    assert status == 429 and headers["Retry-After"] == "30"
    assert_error_body(body, "TOO_MANY_REQUESTS")


def test_validation_error_names_every_bad_field(call):
    status, _, body = call(handler, "POST", "/things", body={"name": "a", "size": 0, "extra": 1})
    assert status == 422
    err = assert_error_body(body, "VALIDATION_ERROR")
    fields = {f["field"]: f["type"] for f in err["details"]["fields"]}
    assert fields == {"body.name": "string_too_short", "body.size": "greater_than_equal"}


def test_validation_error_never_echoes_the_input(call):
    status, _, body = call(handler, "POST", "/things", body={"name": "s3cr3t-value-x", "size": "NaN-ish"})
    assert status == 422 and "NaN-ish" not in json.dumps(body)


def test_query_and_path_validation(call):
    status, _, body = call(handler, "GET", "/things/t1", query={"limit": "many"})
    assert status == 422
    assert body["error"]["details"]["fields"][0]["field"] == "query.limit"
    assert call(handler, "GET", "/things/t1", query={"limit": "5"})[2] == {"thing_id": "t1", "limit": 5}


def test_missing_body_is_422(call):
    status, _, body = call(handler, "POST", "/things", raw_body="")
    assert status == 422 and body["error"]["details"]["fields"][0]["field"] == "body"


@pytest.mark.parametrize("raw", ["{bad json", "{\"name\": ", "[1, 2", "\x00"])
def test_malformed_json_is_400(call, raw):
    status, _, body = call(handler, "POST", "/things", raw_body=raw)
    assert status == 400
    assert_error_body(body, "MALFORMED_JSON")


def test_malformed_json_read_by_the_route_itself_is_400(call):
    status, _, body = call(handler, "POST", "/raw", raw_body="{nope")
    assert status == 400 and body["error"]["code"] == "MALFORMED_JSON"


def test_oversize_body_is_413_before_parsing(call):
    big = json.dumps({"name": "x" * (256 * 1024), "size": 1})
    status, _, body = call(handler, "POST", "/things", raw_body=big)
    assert status == 413
    assert assert_error_body(body, "PAYLOAD_TOO_LARGE")["details"] == {"max_bytes": 262144}
    # an oversize body to an unknown route is still 413 (the body is refused first)
    assert call(handler, "POST", "/nowhere", raw_body=big)[0] == 413


def test_body_at_the_limit_is_accepted(call):
    filler = 256 * 1024 - len(json.dumps({"name": "", "size": 1}))
    body = json.dumps({"name": "x" * filler, "size": 1})
    assert len(body.encode()) == 256 * 1024
    assert call(handler, "POST", "/things", raw_body=body)[0] == 200


def test_base64_body_size_counts_decoded_bytes():
    raw = b"x" * 1000
    event = {"body": base64.b64encode(raw).decode(), "isBase64Encoded": True}
    assert body_size(event) == 1000
    assert body_size({"body": "é", "isBase64Encoded": False}) == 2
    assert body_size({"body": None}) == 0


def test_unknown_route_is_404_in_the_error_format(call):
    status, _, body = call(handler, "GET", "/api/v1/nothing-here")
    assert status == 404
    err = assert_error_body(body, "NOT_FOUND")
    assert err["details"] == {"method": "GET", "path": "/api/v1/nothing-here"}


def test_unexpected_exception_is_500_without_internals(call, caplog):
    status, _, body = call(handler, "GET", "/boom")
    assert status == 500
    err = assert_error_body(body, "INTERNAL_ERROR")
    text = json.dumps(body)
    assert "hunter2" not in text and "Traceback" not in text and ".py" not in text
    assert err["message"] == "Internal error"
    # the stack goes to the log (under the request's correlation id), not to the caller
    record = next(r for r in caplog.records if r.getMessage() == "unhandled error")
    assert record.exc_info and "hunter2" in str(record.exc_info[1])
    from signalos.common.observability import logger

    assert logger.get_correlation_id() == "req-test-1"


def test_security_headers_on_success_and_error(call):
    for path in ("/things/t1", "/nowhere", "/boom"):
        _, headers, _ = call(handler, "GET", path)
        assert headers["Strict-Transport-Security"].startswith("max-age=")
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Cache-Control"] == "no-store"
        assert headers["Content-Security-Policy"].startswith("default-src 'none'")
        assert headers["X-Request-Id"] == "req-test-1"


def test_request_id_comes_from_the_api_gateway_event(call):
    _, headers, body = call(handler, "GET", "/conflict", request_id="abc-123")
    assert body["error"]["request_id"] == "abc-123" and headers["X-Request-Id"] == "abc-123"


def test_cors_preflight(call):
    status, headers, _ = call(handler, "OPTIONS", "/things", headers={
        "origin": "https://app.example.test", "access-control-request-method": "POST"})
    assert status == 204
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert "X-API-Key" in headers["Access-Control-Allow-Headers"]
    assert "Authorization" in headers["Access-Control-Allow-Headers"]
