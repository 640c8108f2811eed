"""Trading counters for `/api/v1/status/metrics` (the provider hook of signalos.status.metrics).

Platform-wide, from the aggregator's PLATFORM records (signalos.analytics.platform): one key
query per window, never a scan.
"""

from __future__ import annotations

from typing import Any

from signalos.analytics import platform


def metrics() -> dict[str, Any]:
    week = platform.read_days(7)
    today_prefix = f"DAY#{platform.utc_now().date().isoformat()}#"
    today = [item for item in week if str(item.get("sk", "")).startswith(today_prefix)]
    return {"today": platform.summarize(today), "last_7_days": platform.summarize(week)}
