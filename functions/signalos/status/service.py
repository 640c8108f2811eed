"""What the status routes report (no HTTP here)."""

from __future__ import annotations

from typing import Any

from signalos.common import settings
from signalos.common.clock import iso
from signalos.status import checks
from signalos.status.version import app_version, version_info


def health() -> dict[str, Any]:
    return {"status": "healthy", "timestamp": iso(), "version": app_version(), "stage": settings.stage()}


def detailed(*, ready_only: bool = False) -> dict[str, Any]:
    results = checks.run_checks(checks.READY_CHECKS if ready_only else None)
    healthy = all(r.ok for r in results)
    return {
        **health(),
        "status": "healthy" if healthy else "unhealthy",
        "components": {r.name.lower(): "healthy" if r.ok else "unhealthy" for r in results},
        "checks": {r.name.lower(): r.as_dict() for r in results},
    }


def metrics() -> dict[str, Any]:
    from signalos.status import metrics as registry

    return registry.collect()


def version() -> dict[str, Any]:
    return version_info()
