"""Daily counters of parsing, kept as atomic ADDs so `GET /signals/stats` reads one item per day.

Pure: this module only decides which counters a transition adds and sums days back up.
The counters of a signal all land on the day it was received (UTC), so a slow-path parse
finishing after midnight still counts with its signal.

- `received`, `src_<source>`: every new signal (revision 0).
- `queued`: signals sent to the slow path.
- `out_<status>`: each signal's first final outcome (parsed / ignored / failed), once.
- `parser_<name>`, `band_<high|medium|low>`: for parsed signals.
- `lat_n`, `lat_sum_ms`, `lat_le_<ms>` / `lat_gt_<ms>`: receive-to-decision latency histogram.
- `parse_ms_sum`: compute time of the deciding parse.
- `edits`: re-parses caused by edits (not counted as new outcomes).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from signalos.signals.records import SignalRecord

LATENCY_BUCKETS_MS: tuple[int, ...] = (5, 20, 100, 500, 2_000, 10_000, 60_000)
BANDS: tuple[tuple[str, float], ...] = (("high", 0.85), ("medium", 0.6), ("low", 0.0))
OUTCOMES = ("parsed", "ignored", "failed")
PARSERS = ("rules", "llm", "ocr", "manual")
SOURCES = ("telegram", "api", "import", "upload", "manual")


def confidence_band(confidence: float) -> str:
    for name, floor in BANDS:
        if confidence >= floor:
            return name
    return "low"


def latency_bucket(latency_ms: float) -> str:
    for edge in LATENCY_BUCKETS_MS:
        if latency_ms <= edge:
            return f"lat_le_{edge}"
    return f"lat_gt_{LATENCY_BUCKETS_MS[-1]}"


def day_of(record: SignalRecord) -> str:
    return record.received_at.strftime("%Y-%m-%d")


def counters_for(before: SignalRecord | None, after: SignalRecord) -> dict[str, int | float]:
    """What to ADD to the day's counters when a signal goes from `before` to `after`."""
    add: dict[str, int | float] = {}
    if before is None and after.revision == 0:
        add["received"] = 1
        add[f"src_{after.source}"] = 1
    if after.revision > (before.revision if before else 0):
        add["edits"] = 1
    if after.status == "queued" and (before is None or before.status != "queued"):
        add["queued"] = 1
    first_outcome = after.is_final and after.revision == 0 and (before is None or not before.is_final)
    if first_outcome:
        add[f"out_{after.status}"] = 1
        if after.status == "parsed" and after.parser:
            add[f"parser_{after.parser}"] = 1
            add[f"band_{confidence_band(after.confidence or 0.0)}"] = 1
        latency = after.latency_ms
        if latency is not None:
            add["lat_n"] = 1
            add["lat_sum_ms"] = round(latency, 3)
            add[latency_bucket(latency)] = 1
        if after.parse_ms is not None:
            add["parse_ms_sum"] = round(after.parse_ms, 3)
    return add


def summarize(days: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Sum day items into the stats response (counts, shares, average and histogram)."""
    total: dict[str, float] = {}
    per_day: list[dict[str, Any]] = []
    for day in days:
        counts = {k: v for k, v in day.items() if isinstance(v, int | float) and not isinstance(v, bool)}
        counts.pop("expires_at", None)
        for key, value in counts.items():
            total[key] = total.get(key, 0) + value
        per_day.append(
            {
                "date": day.get("date") or str(day.get("sk", "")).removeprefix("STATS#"),
                "received": int(counts.get("received", 0)),
                "parsed": int(counts.get("out_parsed", 0)),
                "ignored": int(counts.get("out_ignored", 0)),
                "failed": int(counts.get("out_failed", 0)),
            }
        )

    def count(key: str) -> int:
        return int(total.get(key, 0))

    lat_n = count("lat_n")
    finished = sum(count(f"out_{o}") for o in OUTCOMES)
    histogram = [{"le_ms": edge, "count": count(f"lat_le_{edge}")} for edge in LATENCY_BUCKETS_MS]
    histogram.append({"le_ms": None, "count": count(f"lat_gt_{LATENCY_BUCKETS_MS[-1]}")})
    return {
        "received": count("received"),
        "pending": max(0, count("received") - finished),
        "queued_for_slow_path": count("queued"),
        "edits": count("edits"),
        "by_outcome": {o: count(f"out_{o}") for o in OUTCOMES},
        "by_parser": {p: count(f"parser_{p}") for p in PARSERS},
        "by_confidence": {name: count(f"band_{name}") for name, _ in BANDS},
        "by_source": {s: count(f"src_{s}") for s in SOURCES},
        "success_rate": round(count("out_parsed") / finished, 4) if finished else None,
        "latency": {
            "count": lat_n,
            "avg_ms": round(total.get("lat_sum_ms", 0.0) / lat_n, 3) if lat_n else None,
            "avg_parse_ms": round(total.get("parse_ms_sum", 0.0) / lat_n, 3) if lat_n else None,
            "histogram": histogram,
        },
        "days": per_day,
    }
