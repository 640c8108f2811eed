"""Lockout math: 5 failures -> 1 min, doubling to a 15 min cap; time-boxed; old streaks forgotten."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from signalos.auth import lockout

NOW = datetime(2026, 11, 22, 10, 30, tzinfo=UTC)


def test_no_lock_below_threshold():
    assert [lockout.lock_seconds(n) for n in range(0, 5)] == [0, 0, 0, 0, 0]


def test_exponential_backoff_capped_at_fifteen_minutes():
    assert [lockout.lock_seconds(n) for n in range(5, 12)] == [60, 120, 240, 480, 900, 900, 900]
    assert lockout.lock_seconds(10_000) == 900


def test_failures_count_up_within_a_day_and_restart_after():
    assert lockout.counted_failures(0, None, NOW) == 1
    assert lockout.counted_failures(4, NOW - timedelta(minutes=5), NOW) == 5
    assert lockout.counted_failures(9, NOW - timedelta(hours=25), NOW) == 1


def test_lock_always_ends():
    until = lockout.locked_until(50, NOW)
    assert until == NOW + timedelta(minutes=15)
    assert lockout.retry_after(until, NOW) == 900
    assert lockout.retry_after(until, until) == 0
    assert lockout.retry_after(until, until + timedelta(seconds=1)) == 0
    assert lockout.retry_after(None, NOW) == 0


def test_retry_after_rounds_up():
    assert lockout.retry_after(NOW + timedelta(milliseconds=300), NOW) == 1
    assert lockout.retry_after(NOW + timedelta(seconds=59, milliseconds=1), NOW) == 60
