"""Environment lookups in one place: names, defaults, and what each stage means.

Values are read when asked for (not at import) so tests and the local stack can change the
environment between invocations without reloading modules.
"""

from __future__ import annotations

import os

SERVICE_NAME_DEFAULT = "signalos"
STAGES = ("local", "dev", "prod")

# API Gateway HTTP API accepts up to 10 MB; nothing in SignalOS needs more than this, and a
# smaller cap bounds what a caller can make a function parse (OWASP API4).
MAX_BODY_BYTES = 256 * 1024


def env(name: str, default: str | None = None) -> str | None:
    """An environment variable, with empty strings treated as unset."""
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def require_env(name: str) -> str:
    value = env(name)
    if value is None:
        raise RuntimeError(f"environment variable {name} is not set")
    return value


def env_int(name: str, default: int) -> int:
    value = env(name)
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def env_bool(name: str, default: bool = False) -> bool:
    value = env(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def stage() -> str:
    """`local`, `dev` or `prod` (anything else is treated as `local`)."""
    value = (env("STAGE", "local") or "local").lower()
    return value if value in STAGES else "local"


def is_local() -> bool:
    return stage() == "local"


def service_name() -> str:
    return env("SERVICE_NAME", SERVICE_NAME_DEFAULT) or SERVICE_NAME_DEFAULT


def cors_allow_origin() -> str:
    """Origin allowed by CORS; `*` unless CORS_ALLOW_ORIGIN names the web app's origin.

    `*` is safe here because authentication is by header (Bearer / X-API-Key), never cookies.
    """
    return env("CORS_ALLOW_ORIGIN", "*") or "*"


def aws_endpoint_url() -> str | None:
    """The embedded AWS (moto server) on the local stack and in tests; None on AWS."""
    return env("AWS_ENDPOINT_URL")


def git_sha() -> str | None:
    return env("GIT_SHA") or env("SIGNALOS_GIT_SHA")
