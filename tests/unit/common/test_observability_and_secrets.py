"""The Lambda wrapper (correlation id, metrics flush, no tracer by default) and secret lookups."""

from __future__ import annotations

import json

import pytest
from signalos.common import observability, secrets


def test_instrumented_plain_function_and_correlation_id():
    seen = {}

    def work(event, context):
        seen["correlation_id"] = observability.logger.get_correlation_id()
        seen["event"] = event
        return {"done": True}

    handler = observability.instrumented(work)
    result = handler({"Records": []}, type("Ctx", (), {"aws_request_id": "lambda-9", "function_name": "f"})())
    assert result == {"done": True} and seen == {"event": {"Records": []}, "correlation_id": "lambda-9"}
    http_event = {"rawPath": "/x", "requestContext": {"requestId": "apigw-1"}}
    assert observability.correlation_id(http_event, None) == "apigw-1"


def test_metrics_are_flushed_as_emf_after_the_invocation(capfd):
    def work(event, context):
        observability.count("UnitTestCounter", 2)
        return "ok"

    observability.instrumented(work)({}, None)
    emf = [json.loads(x) for x in capfd.readouterr().out.splitlines() if '"_aws"' in x]
    assert any(e.get("UnitTestCounter") == [2.0] for e in emf)
    # flushed: the next invocation emits nothing
    observability.instrumented(lambda e, c: "ok")({}, None)
    assert '"_aws"' not in capfd.readouterr().out


def test_tracer_is_off_unless_enabled(monkeypatch):
    observability.tracer.cache_clear()
    monkeypatch.delenv("TRACING_ENABLED", raising=False)
    assert observability.tracer() is None
    observability.tracer.cache_clear()


def test_secret_override_wins(monkeypatch):
    monkeypatch.setenv("JWT_SIGNING_KEY", "local-override-key")
    monkeypatch.delenv("JWT_SECRET_ARN", raising=False)
    assert secrets.jwt_signing_key() == "local-override-key"


def test_missing_secret_configuration_is_explicit(monkeypatch):
    monkeypatch.delenv("JWT_SIGNING_KEY", raising=False)
    monkeypatch.delenv("JWT_SECRET_ARN", raising=False)
    with pytest.raises(secrets.SecretUnavailable, match="JWT_SECRET_ARN"):
        secrets.jwt_signing_key()
