"""What is running: package version, stage, Python, git commit."""

from __future__ import annotations

import platform
from functools import lru_cache
from typing import Any

from signalos.common import settings


@lru_cache(maxsize=1)
def app_version() -> str:
    """The installed package's version; in Lambda (code copied, no dist-info) APP_VERSION or
    the package's `__version__`."""
    from importlib import metadata

    try:
        return metadata.version("signalos")
    except metadata.PackageNotFoundError:
        pass
    import signalos

    return settings.env("APP_VERSION") or getattr(signalos, "__version__", None) or "0.0.0+unknown"


def version_info() -> dict[str, Any]:
    return {
        "service": settings.service_name(),
        "version": app_version(),
        "stage": settings.stage(),
        "python_version": platform.python_version(),
        "git_sha": settings.git_sha(),
    }
