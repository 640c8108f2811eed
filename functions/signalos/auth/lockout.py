"""Per-account lockout after repeated failed logins: time-boxed, exponential, capped. Pure.

5 failures lock the account for 1 minute, each further failure doubles it, up to 15 minutes.
A lock always ends on its own (an attacker can slow a victim down, never lock them out for
good), failures older than a day are forgotten, and a successful login resets everything.
"""

from __future__ import annotations

from datetime import datetime, timedelta

THRESHOLD = 5
BASE_SECONDS = 60
CAP_SECONDS = 15 * 60
FORGET_AFTER = timedelta(hours=24)


def lock_seconds(failures: int) -> int:
    """How long the account locks after its `failures`-th consecutive failure."""
    if failures < THRESHOLD:
        return 0
    exponent = min(failures - THRESHOLD, 16)  # 2**16 minutes is far past the cap already
    return min(BASE_SECONDS * (2 ** exponent), CAP_SECONDS)


def counted_failures(previous: int, last_failed_at: datetime | None, now: datetime) -> int:
    """Failures so far, including the one happening now (old streaks are forgotten)."""
    if last_failed_at is None or now - last_failed_at > FORGET_AFTER:
        return 1
    return max(0, previous) + 1


def locked_until(failures: int, now: datetime) -> datetime | None:
    seconds = lock_seconds(failures)
    return now + timedelta(seconds=seconds) if seconds else None


def retry_after(locked_until_at: datetime | None, now: datetime) -> int:
    """Seconds left on a lock (0 when not locked)."""
    if locked_until_at is None or locked_until_at <= now:
        return 0
    return max(1, int((locked_until_at - now).total_seconds() + 0.999))
