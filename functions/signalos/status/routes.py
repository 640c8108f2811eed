"""Status routes: liveness, readiness, dependency health, metrics, version, API docs. Thin."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from pydantic import BaseModel

from signalos.common.clock import iso
from signalos.common.guards import require_admin
from signalos.status import service

router = Router()
TAGS = ["status"]
P = "/api/v1/status"


class HealthOut(BaseModel):
    status: str
    timestamp: str
    version: str
    stage: str


class CheckOut(BaseModel):
    kind: str
    ok: bool
    latency_ms: float
    error: str | None = None


class DetailedHealthOut(HealthOut):
    components: dict[str, str]
    checks: dict[str, CheckOut]


class VersionOut(BaseModel):
    service: str
    version: str
    stage: str
    python_version: str
    git_sha: str | None


class MetricsOut(BaseModel):
    timestamp: str
    providers: dict[str, dict[str, Any]]
    process: dict[str, Any]


def _with_status(body: DetailedHealthOut, healthy: bool) -> Response[DetailedHealthOut]:
    return Response(status_code=200 if healthy else 503, content_type=content_types.APPLICATION_JSON,
                    body=body.model_dump(mode="json"))


@router.get(f"{P}/health", tags=TAGS, summary="Is the API up (no dependency calls)")
@router.get("/health", tags=TAGS, summary="Alias of /api/v1/status/health")
def health() -> HealthOut:
    return HealthOut(**service.health())


@router.get(f"{P}/healthz", tags=TAGS, summary="Liveness")
@router.get("/healthz", tags=TAGS, summary="Liveness")
def healthz() -> HealthOut:
    return HealthOut(**service.health())


@router.get(f"{P}/ready", tags=TAGS, summary="Readiness: users table and signing secret reachable",
            responses={200: {"description": "ready"}, 503: {"description": "not ready"}})
@router.get("/ready", tags=TAGS, summary="Readiness",
            responses={200: {"description": "ready"}, 503: {"description": "not ready"}})
def ready() -> Response[DetailedHealthOut]:
    result = service.detailed(ready_only=True)
    return _with_status(DetailedHealthOut(**result), result["status"] == "healthy")


@router.get(f"{P}/health/detailed", tags=TAGS, summary="Every AWS dependency, with latency",
            responses={200: {"description": "healthy"}, 503: {"description": "a dependency is down"}})
@router.get("/health/detailed", tags=TAGS, summary="Alias of /api/v1/status/health/detailed",
            responses={200: {"description": "healthy"}, 503: {"description": "a dependency is down"}})
def health_detailed() -> Response[DetailedHealthOut]:
    result = service.detailed()
    return _with_status(DetailedHealthOut(**result), result["status"] == "healthy")


@router.get(f"{P}/metrics", tags=TAGS, summary="Counters from every context (admin)")
@router.get("/metrics", tags=TAGS, summary="Counters from every context (admin)")
@require_admin
def metrics() -> MetricsOut:
    return MetricsOut(timestamp=iso(), **service.metrics())


@router.get(f"{P}/version", tags=TAGS, summary="Version, stage, Python, git commit")
@router.get("/version", tags=TAGS, summary="Version, stage, Python, git commit")
def version() -> VersionOut:
    return VersionOut(**service.version())


@router.get("/api/openapi.json", include_in_schema=False)
def openapi_json():  # no annotation: a bare Response has no schema
    from signalos.status import docs

    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=docs.openapi_json())


@router.get("/api/docs", include_in_schema=False)
def swagger_ui():  # no annotation: a bare Response has no schema
    from signalos.status import docs

    return Response(status_code=200, content_type="text/html; charset=utf-8", body=docs.swagger_html())
