"""Bulk import: JSON lines or CSV -> one row per signal, or a per-line error. Pure.

Every input line gets an outcome in the report: a row to ingest, or an error naming the
line and the reason (nothing is skipped silently, blank lines included).
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import datetime

from signalos.common.clock import parse_iso
from signalos.signals import config

_ID_CHARS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


@dataclass(frozen=True, slots=True)
class ImportRow:
    line: int
    text: str | None = None
    provider_id: str | None = None
    signal_time: datetime | None = None
    error: str | None = None


class TooManyLines(ValueError):
    pass


def _row(line: int, raw: dict[str, object], default_provider: str | None, now: datetime) -> ImportRow:
    text = raw.get("text")
    if not isinstance(text, str) or not text.strip():
        return ImportRow(line, error="`text` is missing or empty")
    if len(text) > config.MAX_TEXT_CHARS:
        return ImportRow(line, error=f"`text` is longer than {config.MAX_TEXT_CHARS} characters")
    provider = raw.get("provider_id") or default_provider
    if provider is not None and (
        not isinstance(provider, str) or not provider or len(provider) > 64 or set(provider) - _ID_CHARS
    ):
        return ImportRow(line, error="`provider_id` is not a valid id")
    when = raw.get("signal_time")
    signal_time = None
    if when not in (None, ""):
        try:
            signal_time = parse_iso(str(when))
        except ValueError:
            return ImportRow(line, error="`signal_time` is not an ISO 8601 time (e.g. 2026-11-22T10:30:00Z)")
        if signal_time.tzinfo is None or signal_time > now:
            return ImportRow(line, error="`signal_time` must be a past UTC time with a zone (Z or +00:00)")
    return ImportRow(line, text=text, provider_id=provider, signal_time=signal_time)


def parse_import(fmt: str, content: str, *, default_provider: str | None, now: datetime) -> list[ImportRow]:
    if fmt == "jsonl":
        return _jsonl(content, default_provider, now)
    return _csv(content, default_provider, now)


def _check_count(count: int) -> None:
    if count > config.MAX_IMPORT_LINES:
        raise TooManyLines(f"{count} lines; at most {config.MAX_IMPORT_LINES} per import")


def _jsonl(content: str, default_provider: str | None, now: datetime) -> list[ImportRow]:
    lines = content.splitlines()
    while lines and not lines[-1].strip():
        lines.pop()  # a trailing newline is not a line
    _check_count(len(lines))
    rows = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            rows.append(ImportRow(number, error="empty line"))
            continue
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            rows.append(ImportRow(number, error=f"not valid JSON ({exc.msg} at column {exc.colno})"))
            continue
        if not isinstance(raw, dict):
            rows.append(ImportRow(number, error="a line must be a JSON object with `text`"))
            continue
        rows.append(_row(number, raw, default_provider, now))
    return rows


def _csv(content: str, default_provider: str | None, now: datetime) -> list[ImportRow]:
    reader = csv.DictReader(io.StringIO(content))
    fields = [f.strip().lower() for f in (reader.fieldnames or [])]
    if "text" not in fields:
        raise ValueError("the CSV needs a header row with a `text` column")
    reader.fieldnames = fields
    rows: list[ImportRow] = []
    try:
        for record in reader:
            number = reader.line_num  # physical line of the row's end (the header is line 1)
            if len(rows) >= config.MAX_IMPORT_LINES:
                raise TooManyLines(
                    f"more than {config.MAX_IMPORT_LINES} rows; at most {config.MAX_IMPORT_LINES} per import"
                )
            if None in record:
                rows.append(ImportRow(number, error="more values than header columns"))
                continue
            if all(not (v or "").strip() for v in record.values()):
                rows.append(ImportRow(number, error="empty row"))
                continue
            rows.append(_row(number, dict(record), default_provider, now))
    except csv.Error as exc:
        raise ValueError(f"the CSV cannot be read at line {reader.line_num}: {exc}") from None
    return rows
