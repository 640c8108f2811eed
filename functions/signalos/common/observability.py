"""Logging, metrics and tracing, configured once for every function.

- `logger`: Powertools Logger, JSON lines, correlation id = the API Gateway request id
  (`requestContext.requestId`), or the Lambda request id for queue/stream events.
- `metrics()`: Powertools Metrics (CloudWatch EMF), created on first use and flushed after
  each invocation that recorded something. `count("LoginFailed")` is the usual call.
- `tracer()`: Powertools Tracer only when `TRACING_ENABLED=true` (creating one costs ~670 ms
  of imports), else None.
- `instrumented(app_or_function)`: the Lambda entry point every handler.py uses.

    lambda_handler = instrumented(app)            # an HTTP resolver (create_app)
    lambda_handler = instrumented(process_batch)  # any function(event, context)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from aws_lambda_powertools import Logger

from signalos.common import settings

logger = Logger(service=settings.service_name(), level=settings.env("LOG_LEVEL", "INFO"))

METRICS_NAMESPACE = "SignalOS"
_cold_start = True


@lru_cache(maxsize=1)
def metrics() -> Any:
    """The process's Metrics object (imported on first use: most requests record none)."""
    from aws_lambda_powertools import Metrics

    m = Metrics(namespace=settings.env("POWERTOOLS_METRICS_NAMESPACE", METRICS_NAMESPACE),
                service=settings.service_name())
    m.set_default_dimensions(stage=settings.stage())
    return m


def count(name: str, value: int | float = 1) -> None:
    """Add to a CloudWatch counter (emitted as EMF when the invocation ends)."""
    from aws_lambda_powertools.metrics import MetricUnit

    metrics().add_metric(name=name, unit=MetricUnit.Count, value=value)


@lru_cache(maxsize=1)
def tracer() -> Any | None:
    """An X-Ray Tracer when TRACING_ENABLED is true and the SDK is present; otherwise None."""
    if not settings.env_bool("TRACING_ENABLED"):
        return None
    try:
        from aws_lambda_powertools import Tracer

        return Tracer(service=settings.service_name())
    except Exception:  # the X-Ray SDK is optional; tracing must never break a request
        logger.warning("tracing requested but unavailable", exc_info=True)
        return None


def _flush_metrics() -> None:
    if metrics.cache_info().currsize == 0:
        return  # nothing was ever recorded in this process
    m = metrics()
    if m.metric_set:
        m.flush_metrics(raise_on_empty_metrics=False)


def correlation_id(event: Any, context: Any) -> str | None:
    if isinstance(event, Mapping):
        rid = (event.get("requestContext") or {}).get("requestId")
        if rid:
            return str(rid)
    return getattr(context, "aws_request_id", None)


def _is_http_event(event: Any) -> bool:
    return isinstance(event, Mapping) and "requestContext" in event and "rawPath" in event


def instrumented(target: Any) -> Callable[[Any, Any], Any]:
    """Wrap an HTTP resolver (anything with `.resolve(event, context)`) or a plain
    `function(event, context)` into a Lambda handler with logging, metrics and tracing."""
    call: Callable[[Any, Any], Any] = target.resolve if hasattr(target, "resolve") else target

    def lambda_handler(event: Any, context: Any) -> Any:
        global _cold_start
        cold, _cold_start = _cold_start, False
        logger.clear_state()
        logger.set_correlation_id(correlation_id(event, context))
        logger.append_keys(cold_start=cold, function_name=getattr(context, "function_name", None))
        started = time.perf_counter()
        t = tracer()
        try:
            if t is not None:
                with t.provider.in_subsegment("## handler") as subsegment:
                    subsegment.put_annotation("ColdStart", cold)
                    result = call(event, context)
            else:
                result = call(event, context)
        finally:
            _flush_metrics()
        if _is_http_event(event):
            http = (event.get("requestContext") or {}).get("http") or {}
            status = result.get("statusCode") if isinstance(result, Mapping) else None
            logger.info("request", extra={
                "method": http.get("method"), "path": event.get("rawPath"), "status": status,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1),
            })
        return result

    lambda_handler.__wrapped__ = call  # type: ignore[attr-defined]
    return lambda_handler
