"""One page an administrator looks at first: dependencies, version, settings, queues, counters."""

from __future__ import annotations

from typing import Any

from signalos.admin import queues
from signalos.admin.settings import read_settings
from signalos.common.observability import logger


def system_status() -> dict[str, Any]:
    from signalos.status import service as status

    detailed = status.detailed()
    try:
        queue_part: dict[str, Any] = queues.queue_status()["totals"]
    except Exception:  # a queue listing failure must not hide the rest of the page
        logger.exception("queue status unavailable")
        queue_part = {"error": "unavailable"}
    return {
        "status": detailed["status"],
        "timestamp": detailed["timestamp"],
        "version": status.version(),
        "components": detailed["components"],
        "checks": detailed["checks"],
        "queues": queue_part,
        "settings": read_settings().model_dump(),
        "metrics": status.metrics()["providers"],
    }
