"""A failure inside a real handler answers 500 in the error format, with no internals."""

from __future__ import annotations

import json


def test_dependency_failure_is_a_clean_500(aws, call_api):
    aws.client("dynamodb").delete_table(TableName=aws.ref("UsersTable"))
    status, headers, body = call_api("POST", "/api/v1/auth/login",
                                     json={"username": "someone", "password": "whatever123"})
    assert status == 500
    assert body["error"]["code"] == "INTERNAL_ERROR" and body["error"]["message"] == "Internal error"
    assert body["error"]["details"] == {}
    text = json.dumps(body)
    for leak in ("Traceback", "ResourceNotFound", "botocore", ".py", aws.ref("UsersTable")):
        assert leak not in text
    assert headers["content-type"].startswith("application/json")


def test_detailed_health_reports_the_broken_dependency_without_internals(aws, call_api):
    status, _, body = call_api("GET", "/api/v1/status/health/detailed")
    assert status == 200 and body["status"] == "healthy"
    aws.client("dynamodb").delete_table(TableName=aws.ref("AuditTable"))
    status, _, body = call_api("GET", "/health/detailed")
    assert status == 503 and body["status"] == "unhealthy"
    audit = body["checks"]["audit_table"]
    assert audit["ok"] is False and audit["kind"] == "table" and audit["error"] == "ResourceNotFoundException"
    assert body["components"]["users_table"] == "healthy"
    assert aws.ref("AuditTable") not in json.dumps(body)
