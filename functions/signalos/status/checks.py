"""Dependency checks for `/health/detailed` and `/ready`: each AWS resource this stage uses.

Every table (DescribeTable), queue (GetQueueAttributes), the reports bucket (HeadBucket) and the
JWT signing secret (GetSecretValue, the value is not kept). Checks run concurrently with short
timeouts, so a slow dependency costs at most a few seconds. Results name resources by their
environment variable, never by physical name or ARN, and carry an error code, never a message.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from signalos.common import settings

TABLES = ("USERS_TABLE", "SIGNALS_TABLE", "TRADING_TABLE", "ANALYTICS_TABLE", "AUDIT_TABLE",
          "IDEMPOTENCY_TABLE")
QUEUES = ("SIGNAL_JOBS_QUEUE_URL", "FANOUT_QUEUE_URL")
BUCKETS = ("REPORTS_BUCKET",)
SECRETS = ("JWT_SECRET_ARN",)
READY_CHECKS = ("USERS_TABLE", "JWT_SECRET_ARN")


@dataclass(frozen=True)
class CheckResult:
    name: str
    kind: str
    ok: bool
    latency_ms: float
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "ok": self.ok, "latency_ms": self.latency_ms}
        if self.error:
            out["error"] = self.error
        return out


@lru_cache(maxsize=8)
def _client(service: str) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(service, config=Config(connect_timeout=2, read_timeout=3,
                                               retries={"max_attempts": 1, "mode": "standard"}))


def reset_clients() -> None:
    _client.cache_clear()


def _error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = (response.get("Error") or {}).get("Code")
        if code:
            return str(code)
    return type(exc).__name__


def _probe(kind: str, value: str) -> Callable[[], None]:
    if kind == "table":
        client = _client("dynamodb")
        return lambda: client.describe_table(TableName=value)
    if kind == "queue":
        client = _client("sqs")
        return lambda: client.get_queue_attributes(QueueUrl=value, AttributeNames=["QueueArn"])
    if kind == "bucket":
        client = _client("s3")
        return lambda: client.head_bucket(Bucket=value)
    client = _client("secretsmanager")
    return lambda: client.get_secret_value(SecretId=value)


def _run(name: str, kind: str, probe: Callable[[], None] | None) -> CheckResult:
    if probe is None:
        return CheckResult(name, kind, False, 0.0, "NotConfigured")
    started = time.perf_counter()
    error = None
    try:
        probe()
    except Exception as exc:
        error = _error_code(exc)
    return CheckResult(name, kind, error is None, round((time.perf_counter() - started) * 1000, 1), error)


def planned_checks(only: tuple[str, ...] | None = None) -> list[tuple[str, str]]:
    plan = ([(n, "table") for n in TABLES] + [(n, "queue") for n in QUEUES]
            + [(n, "bucket") for n in BUCKETS] + [(n, "secret") for n in SECRETS])
    return [(n, k) for n, k in plan if only is None or n in only]


def run_checks(only: tuple[str, ...] | None = None) -> list[CheckResult]:
    plan = planned_checks(only)
    # Clients are built here, on one thread: boto3 client creation is not thread-safe.
    probes = []
    for name, kind in plan:
        value = settings.env(name)
        probes.append((name, kind, _probe(kind, value) if value else None))
    workers = max(1, min(len(probes), settings.env_int("HEALTH_CHECK_CONCURRENCY", 8)))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda p: _run(*p), probes))
