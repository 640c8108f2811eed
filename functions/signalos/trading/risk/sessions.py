"""Trading-session windows: when a subscription allows new trades (all in UTC).

An entry is one of
  "08:00-17:00"            every day, 08:00 up to (not including) 17:00
  "22:00-02:00"            overnight: 22:00 to midnight and midnight to 02:00
  "mon-fri"                whole days, Monday to Friday
  "mon,wed,fri"            whole days
  "mon-fri 07:00-16:30"    those days, that window (the window's start day decides overnight windows)
A time is allowed when any entry matches; an empty list allows every time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TIME = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)$")


@dataclass(frozen=True)
class SessionWindow:
    days: frozenset[int]  # 0 = Monday
    start_minute: int  # minutes after midnight
    end_minute: int  # exclusive; may be <= start for an overnight window

    def contains(self, moment: datetime) -> bool:
        moment = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
        minute = moment.hour * 60 + moment.minute
        day = moment.weekday()
        if self.start_minute < self.end_minute:
            return day in self.days and self.start_minute <= minute < self.end_minute
        # Overnight (or whole day when start == end == 0): the part after midnight belongs to the
        # day the window started on.
        if minute >= self.start_minute:
            return day in self.days
        yesterday = (moment - timedelta(days=1)).weekday()
        return minute < self.end_minute and yesterday in self.days


def _parse_days(text: str) -> frozenset[int]:
    days: set[int] = set()
    for part in text.split(","):
        part = part.strip().lower()
        if "-" in part:
            first, last = (p.strip()[:3] for p in part.split("-", 1))
            if first not in DAYS or last not in DAYS:
                raise ValueError(f"unknown weekday in {text!r} (use mon, tue, wed, thu, fri, sat, sun)")
            i, j = DAYS.index(first), DAYS.index(last)
            span = range(i, j + 1) if i <= j else [*range(i, 7), *range(0, j + 1)]
            days.update(span)
        else:
            if part[:3] not in DAYS:
                raise ValueError(f"unknown weekday in {text!r} (use mon, tue, wed, thu, fri, sat, sun)")
            days.add(DAYS.index(part[:3]))
    return frozenset(days)


def _parse_minute(text: str, whole: str) -> int:
    match = _TIME.match(text.strip())
    if not match:
        raise ValueError(f"bad time {text!r} in session {whole!r}: use HH:MM (UTC)")
    minute = int(match.group(1)) * 60 + int(match.group(2))
    if minute > 24 * 60:
        raise ValueError(f"bad time {text!r} in session {whole!r}: after 24:00")
    return minute


def parse_session(entry: str) -> SessionWindow:
    """Parse one session entry; raises ValueError with a message a user can act on."""
    text = entry.strip()
    if not text:
        raise ValueError("empty session entry")
    days_part, _, time_part = text.rpartition(" ")
    if not days_part and ":" not in time_part:  # only days, e.g. "mon-fri"
        return SessionWindow(_parse_days(time_part), 0, 24 * 60)
    if ":" not in time_part:
        raise ValueError(f"bad session {entry!r}: expected 'HH:MM-HH:MM', 'mon-fri' or 'mon-fri HH:MM-HH:MM'")
    days = _parse_days(days_part) if days_part else frozenset(range(7))
    if time_part.count("-") != 1:
        raise ValueError(f"bad session {entry!r}: the window needs a start and an end, 'HH:MM-HH:MM'")
    start_text, end_text = time_part.split("-")
    start, end = _parse_minute(start_text, entry), _parse_minute(end_text, entry)
    if start == 24 * 60:
        raise ValueError(f"bad session {entry!r}: a window cannot start at 24:00")
    if start == end:
        raise ValueError(f"bad session {entry!r}: start and end are the same time")
    return SessionWindow(days, start, end)


def in_sessions(entries: list[str], moment: datetime) -> bool:
    if not entries:
        return True
    return any(parse_session(e).contains(moment) for e in entries)
