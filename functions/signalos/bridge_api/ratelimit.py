"""Fixed-window request limits kept in DynamoDB (Lambda instances share nothing in memory).

One atomic ADD per request on `pk=<owner pk> sk=RATE#<name>#<subject>#<window start>`, expired by
TTL. A bridge that misbehaves (a loop posting heartbeats) gets 429 with Retry-After instead of
costing writes without bound; a normal agent (heartbeat every few seconds) never sees it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from signalos.common import settings
from signalos.common.clock import epoch_seconds
from signalos.common.dynamo import Table
from signalos.common.errors import TooManyRequests


@dataclass(frozen=True)
class Limit:
    name: str
    per_window: int
    window_seconds: int = 60

    def configured(self) -> int:
        """`BRIDGE_RATE_<NAME>` overrides the number per window (e.g. for load tests)."""
        return settings.env_int(f"BRIDGE_RATE_{self.name.upper()}", self.per_window)


HEARTBEAT = Limit("heartbeat", 60)  # one a second (agents default to one per 30 s)
REPORTS = Limit("reports", 120)  # each call carries up to 100 reports
SESSION = Limit("session", 30)
PAIR = Limit("pair", 10)  # per source address: guessing codes must be slow


def hit(tbl: Table, limit: Limit, *, owner_pk: str, subject: str, now: datetime) -> None:
    """Count one request; raise 429 when the window's budget is spent."""
    allowed = limit.configured()
    if allowed <= 0:
        return
    now_s = epoch_seconds(now)
    window = now_s - now_s % limit.window_seconds
    item = tbl.update(
        owner_pk,
        f"RATE#{limit.name}#{subject}#{window}",
        add_values={"hits": 1},
        set_values={"expires_at": window + limit.window_seconds * 2},
    )
    if int(item.get("hits", 0)) > allowed:
        retry = window + limit.window_seconds - now_s
        raise TooManyRequests(
            f"Too many {limit.name} requests; retry in {retry}s",
            code="RATE_LIMITED",
            details={"limit": allowed, "window_seconds": limit.window_seconds},
            retry_after=retry,
        )
