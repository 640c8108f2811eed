"""boto3 clients: one per service per process, created at first use, pointed at the embedded AWS
when AWS_ENDPOINT_URL (or AWS_ENDPOINT_URL_<SERVICE>) says so.

Lazy on purpose: importing boto3 costs a cold start ~380 ms, and routes that never reach AWS
should not pay it. Tests that start a new embedded AWS call `reset_clients()`.
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any


def endpoint_url(service: str) -> str | None:
    key = service.upper().replace("-", "_")
    return os.environ.get(f"AWS_ENDPOINT_URL_{key}") or os.environ.get("AWS_ENDPOINT_URL") or None


def region_name() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


@cache
def client(service: str) -> Any:
    import boto3
    from botocore.config import Config

    endpoint = endpoint_url(service)
    extra: dict[str, Any] = {}
    if service == "s3":
        # Presigned report links: SigV4, and path-style URLs on a local endpoint (no bucket DNS there).
        extra = {"signature_version": "s3v4", "s3": {"addressing_style": "path" if endpoint else "auto"}}
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=region_name(),
        config=Config(retries={"max_attempts": 4, "mode": "standard"}, connect_timeout=3, read_timeout=20,
                      **extra),
    )


def reset_clients() -> None:
    client.cache_clear()
