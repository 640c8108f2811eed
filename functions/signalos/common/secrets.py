"""Secrets Manager JSON secrets through Powertools Parameters (cached, default 5 minutes).

Each secret is named by an environment variable holding its ARN (template.yaml) and may be
overridden field by field with a plain environment variable for the local stack:

    jwt_signing_key()                        JWT_SECRET_ARN  {"signing_key"}   override JWT_SIGNING_KEY
    secret_field("TELEGRAM_SECRET_ARN", "webhook_secret", override_env="TELEGRAM_WEBHOOK_SECRET")

Powertools and boto3 are imported on the first secret read, not at import.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from signalos.common import settings

DEFAULT_MAX_AGE_SECONDS = 300


class SecretUnavailable(RuntimeError):
    """A secret is not configured or could not be read (a deployment problem, never the caller's)."""


@lru_cache(maxsize=1)
def _provider() -> Any:
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

    return SecretsProvider()


def reset() -> None:
    """Forget the cached provider and values (tests that start a new embedded AWS call this)."""
    if _provider.cache_info().currsize:
        _provider().clear_cache()
    _provider.cache_clear()


def get_secret_json(arn_env: str, *, max_age: int = DEFAULT_MAX_AGE_SECONDS) -> dict[str, Any]:
    """The JSON object stored in the secret whose ARN is in env `arn_env`."""
    arn = settings.env(arn_env)
    if not arn:
        raise SecretUnavailable(f"environment variable {arn_env} (a secret ARN) is not set")
    try:
        raw = _provider().get(arn, max_age=max_age)
    except Exception as exc:
        raise SecretUnavailable(f"secret {arn_env} could not be read") from exc
    if isinstance(raw, bytes):
        raw = raw.decode()
    try:
        value = json.loads(raw) if isinstance(raw, str) else raw
    except json.JSONDecodeError as exc:
        raise SecretUnavailable(f"secret {arn_env} is not JSON") from exc
    if not isinstance(value, dict):
        raise SecretUnavailable(f"secret {arn_env} is not a JSON object")
    return value


def secret_field(arn_env: str, field: str, *, override_env: str | None = None,
                 max_age: int = DEFAULT_MAX_AGE_SECONDS) -> str:
    """One string field of a JSON secret; on the local stack `override_env`, when set, wins.

    Only there: in dev/prod a stray environment variable must never replace a signing key or
    a webhook secret that Secrets Manager holds."""
    if override_env and settings.is_local():
        override = settings.env(override_env)
        if override:
            return override
    value = get_secret_json(arn_env, max_age=max_age).get(field)
    if not isinstance(value, str) or not value:
        raise SecretUnavailable(f"secret {arn_env} has no field {field!r}")
    return value


def jwt_signing_key() -> str:
    return secret_field("JWT_SECRET_ARN", "signing_key", override_env="JWT_SIGNING_KEY")
