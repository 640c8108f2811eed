"""JSON counters for `/metrics` and `/api/v1/status/metrics`, gathered from every context.

The hook: a context that has counters to show adds a module `signalos/<ctx>/status_metrics.py`
with a function `metrics() -> dict[str, Any]` (JSON-serialisable, cheap: a few key reads, never
a scan). It is found by name, so adding one needs no change here:

    # signalos/analytics/status_metrics.py
    def metrics() -> dict[str, Any]:
        return {"signals_parsed": ..., "orders_filled": ...}

Its result appears under its context's name: `{"providers": {"analytics": {...}}}`. A provider
that fails shows `{"error": "unavailable"}` (logged) and never breaks the endpoint.
Code can also `register(name, function)` at import time (tests, one-off providers).
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable
from typing import Any

from signalos.common.observability import logger

CONTEXTS = ("auth", "signals", "telegram", "trading", "bridge_api", "analytics", "admin")
PROVIDER_MODULES = {ctx: f"signalos.{ctx}.status_metrics" for ctx in CONTEXTS}

_registered: dict[str, Callable[[], dict[str, Any]]] = {}
_started = time.time()


def register(name: str, provider: Callable[[], dict[str, Any]]) -> None:
    _registered[name] = provider


def unregister(name: str) -> None:
    _registered.pop(name, None)


def _discovered() -> dict[str, Callable[[], dict[str, Any]]]:
    found: dict[str, Callable[[], dict[str, Any]]] = {}
    for name, module_name in PROVIDER_MODULES.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:  # this context has no provider (yet)
                continue
            logger.exception("metrics provider failed to import", extra={"provider": module_name})
            found[name] = _broken
            continue
        function = getattr(module, "metrics", None)
        if callable(function):
            found[name] = function
    return found


def _broken() -> dict[str, Any]:
    raise RuntimeError("provider module failed to import")


def collect() -> dict[str, Any]:
    providers: dict[str, Any] = {}
    for name, function in {**_discovered(), **_registered}.items():
        try:
            providers[name] = dict(function())
        except Exception:
            logger.exception("metrics provider failed", extra={"provider": name})
            providers[name] = {"error": "unavailable"}
    return {"providers": providers, "process": {"uptime_seconds": round(time.time() - _started, 1)}}
