"""Time in one place, so tests can reason about it and every timestamp has one format."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(dt: datetime | None = None) -> str:
    """ISO 8601 in UTC with millisecond precision and a `Z`: sorts as text, parses everywhere."""
    dt = (dt or utc_now()).astimezone(UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def epoch_seconds(dt: datetime | None = None) -> int:
    return int((dt or utc_now()).timestamp())
