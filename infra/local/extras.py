"""Extra processes or threads the local stack starts once it is ready (e.g. a paper bridge agent).

To add one, write a starter and append it to STARTERS:

    def start_paper_bridge(stack: LocalStackInfo) -> Stoppable | None:
        ...start a thread or subprocess using stack.base_url / stack.aws_endpoint_url...
        return handle                      # anything with .stop(); None if nothing was started

    STARTERS.append(start_paper_bridge)

Starters run in order after the ready line is printed; one that raises is logged and skipped
(the API stays up). On shutdown each handle's `stop()` is called in reverse order, before the
pollers and the embedded AWS stop. SIGNALOS_LOCAL_EXTRAS=0 starts none of them.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from infra.local.resources import LocalResource

log = logging.getLogger("signalos.local.extras")


class Stoppable(Protocol):
    def stop(self) -> None: ...


@dataclass(frozen=True)
class LocalStackInfo:
    """What an extra needs to know about the running stack."""

    base_url: str  # the HTTP API, e.g. http://127.0.0.1:3000
    aws_endpoint_url: str  # the embedded AWS (moto server)
    region: str
    stage: str
    resources: dict[str, LocalResource]  # template logical id -> local resource
    env: dict[str, str]  # the functions' Globals environment
    admin_username: str | None = None
    admin_password: str | None = None
    telegram_webhook_secret: str | None = None
    extra: dict[str, str] = field(default_factory=dict)


Starter = Callable[[LocalStackInfo], Stoppable | None]

STARTERS: list[Starter] = []


def start_extras(stack: LocalStackInfo) -> list[Stoppable]:
    """Start every registered extra; returns the handles to stop at shutdown."""
    if os.environ.get("SIGNALOS_LOCAL_EXTRAS", "1").strip().lower() in {"0", "false", "no", "off"}:
        return []
    handles: list[Stoppable] = []
    for starter in STARTERS:
        try:
            handle = starter(stack)
        except Exception:
            log.exception(
                "extra %s failed to start; the stack runs without it", getattr(starter, "__name__", starter)
            )
            continue
        if handle is not None:
            handles.append(handle)
    return handles


def stop_extras(handles: list[Stoppable]) -> None:
    for handle in reversed(handles):
        try:
            handle.stop()
        except Exception:
            log.exception("extra %r failed to stop cleanly", handle)


def start_paper_bridge(stack: LocalStackInfo) -> Stoppable | None:
    """A bridge agent on the paper broker for the seeded admin, so orders fill with no MT5 anywhere.

    It registers a paper trading account for the admin through the bridge API, then runs the
    normal agent loop (STS session, the account's queue, journal, reports, heartbeats).
    """
    if not (stack.admin_username and stack.admin_password):
        log.warning("no admin user, so no paper bridge agent")
        return None
    from bridge_agent.local_demo import start_demo_agent

    agent = start_demo_agent(stack.base_url, username=stack.admin_username, password=stack.admin_password)
    print(f"Paper bridge agent: account {agent.account_id} of {stack.admin_username}", flush=True)
    return agent


STARTERS.append(start_paper_bridge)
