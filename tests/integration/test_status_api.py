"""Status routes through template routing on the embedded AWS: health, readiness, dependency checks,
metrics hook, version, OpenAPI document and Swagger UI."""

from __future__ import annotations

import re
import uuid

import pytest
from signalos.status import docs
from signalos.status import metrics as metrics_registry

pytestmark = pytest.mark.usefixtures("aws_module")


@pytest.mark.parametrize("path", ["/api/v1/status/health", "/health", "/healthz", "/api/v1/status/healthz"])
def test_liveness(call_api, path):
    status, _, body = call_api("GET", path)
    assert status == 200 and body["status"] == "healthy" and body["stage"] == "local"
    assert body["version"] and body["timestamp"].endswith("Z")


@pytest.mark.parametrize("path", ["/ready", "/api/v1/status/ready"])
def test_ready_checks_the_users_table_and_secret(call_api, path):
    status, _, body = call_api("GET", path)
    assert status == 200 and body["status"] == "healthy"
    assert set(body["checks"]) == {"users_table", "jwt_secret_arn"}


@pytest.mark.parametrize("path", ["/api/v1/status/health/detailed", "/health/detailed"])
def test_detailed_health_checks_every_dependency(call_api, path):
    status, _, body = call_api("GET", path)
    assert status == 200, body
    assert set(body["checks"]) == {
        "users_table", "signals_table", "trading_table", "analytics_table", "audit_table",
        "idempotency_table",
        "signal_jobs_queue_url", "fanout_queue_url", "reports_bucket", "jwt_secret_arn"}
    assert all(c["ok"] and c["latency_ms"] >= 0 for c in body["checks"].values())
    assert {c["kind"] for c in body["checks"].values()} == {"table", "queue", "bucket", "secret"}
    assert set(body["components"].values()) == {"healthy"}


def test_detailed_health_is_503_when_a_dependency_is_not_configured(call_api, monkeypatch):
    monkeypatch.delenv("FANOUT_QUEUE_URL")
    from signalos.status import service

    result = service.detailed()
    assert result["status"] == "unhealthy"
    assert result["checks"]["fanout_queue_url"] == {"kind": "queue", "ok": False, "latency_ms": 0.0,
                                                    "error": "NotConfigured"}


@pytest.mark.parametrize("path", ["/version", "/api/v1/status/version"])
def test_version(call_api, monkeypatch, path):
    monkeypatch.setenv("GIT_SHA", "abc1234")
    status, _, body = call_api("GET", path)
    assert status == 200
    assert body["service"] == "signalos" and body["stage"] == "local" and body["git_sha"] == "abc1234"
    assert re.match(r"^\d+\.\d+", body["version"]) and re.match(r"^3\.\d+\.\d+$", body["python_version"])


def _admin_token(call_api) -> dict[str, str]:
    from signalos.auth.bootstrap import seed_admin

    name = f"admin_{uuid.uuid4().hex[:8]}"
    seed_admin(name, "admin password 123")
    _, _, tokens = call_api("POST", "/api/v1/auth/login",
                            json={"username": name, "password": "admin password 123"})
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def test_metrics_collects_providers_and_survives_a_broken_one(call_api):
    headers = _admin_token(call_api)
    metrics_registry.register("unit_ok", lambda: {"widgets": 3})
    metrics_registry.register("unit_broken", lambda: 1 / 0)
    try:
        for path in ("/metrics", "/api/v1/status/metrics"):
            status, _, body = call_api("GET", path, headers=headers)
            assert status == 200
            assert body["providers"]["unit_ok"] == {"widgets": 3}
            assert body["providers"]["unit_broken"] == {"error": "unavailable"}
            auth = body["providers"]["auth"]
            assert auth["users_registered"] >= 1 and auth["logins_succeeded"] >= 1
    finally:
        metrics_registry.unregister("unit_ok")
        metrics_registry.unregister("unit_broken")


def test_openapi_document_covers_every_auth_and_status_route(call_api):
    status, headers, doc = call_api("GET", "/api/openapi.json")
    assert status == 200 and headers["content-type"].startswith("application/json")
    assert doc["openapi"].startswith("3.") and doc["info"]["title"] == "SignalOS API"
    paths = doc["paths"]
    for route in ["/api/v1/auth/register", "/api/v1/auth/login", "/api/v1/auth/refresh-token",
                  "/api/v1/auth/refresh", "/api/v1/auth/logout", "/api/v1/auth/profile",
                  "/api/v1/auth/change-password", "/api/v1/auth/verify-license",
                  "/api/v1/auth/license-status",
                  "/api/v1/auth/api-keys", "/api/v1/auth/api-keys/{key_id}", "/api/v1/auth/devices",
                  "/api/v1/status/health", "/api/v1/status/health/detailed", "/api/v1/status/metrics",
                  "/api/v1/status/version", "/health", "/healthz", "/ready", "/metrics", "/version"]:
        assert route in paths, route
    assert set(paths["/api/v1/auth/profile"]) == {"get", "patch"}
    login = paths["/api/v1/auth/login"]["post"]
    assert "LoginIn" in str(login["requestBody"]) and "TokenOut" in str(login["responses"])
    assert "bearerAuth" in doc["components"]["securitySchemes"]
    assert "/api/docs" not in paths and "/api/openapi.json" not in paths


def test_openapi_includes_every_route_of_the_modules_it_loads():
    from signalos.auth.routes import router as auth_router

    doc = docs.openapi_document()
    for (rule, methods, *_), _func in auth_router._routes.items():
        path = re.sub(r"<(\w+)>", r"{\1}", rule)
        for method in methods:
            assert method.lower() in doc["paths"][path], (method, path)


def test_missing_route_modules_are_skipped_not_fatal(monkeypatch):
    monkeypatch.setattr(docs, "ROUTE_MODULES", [*docs.ROUTE_MODULES, "signalos.not_written_yet.routes"])
    loaded, skipped = docs.load_routers()
    assert "signalos.not_written_yet.routes" in skipped
    assert "signalos.auth.routes" in [name for name, _ in loaded]


def test_swagger_ui_works_offline(call_api):
    status, headers, html = call_api("GET", "/api/docs")
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert "SwaggerUIBundle" in html and "/api/v1/auth/login" in html
    assert not re.search(r"""(src|href)=["']https?://""", html)  # every asset is inlined
    assert "script-src 'unsafe-inline'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY"


def test_docs_leave_the_serving_apps_alone(call_api):
    """Building the docs includes every router in a docs app; each router must keep answering
    through its own function's app (request state, principal cache) afterwards."""
    from signalos.auth.routes import router as auth_router

    call_api("GET", "/api/openapi.json")
    assert auth_router.api_resolver is None or auth_router.api_resolver.service == "auth"
    status, _, _ = call_api("POST", "/api/v1/auth/register",
                            json={"username": f"after_docs_{uuid.uuid4().hex[:6]}",
                                  "password": "long enough pw"})
    assert status == 201
