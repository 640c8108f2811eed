"""The local stack as a subprocess (`python -m infra.local`), driven over real HTTP.

    def test_x(local_stack):
        requests.get(f"{local_stack}/healthz")          # local_stack is the base URL (a str)
        local_stack.admin_username, local_stack.admin_password, local_stack.webhook_secret
        local_stack.output()                            # everything the stack printed so far

One stack per test session (it takes a few seconds to start); tests must not depend on each
other's data. Every test in tests/e2e is marked `e2e`.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
READY_PREFIX = "SignalOS local stack ready at "
START_TIMEOUT_SECONDS = 90
STOP_TIMEOUT_SECONDS = 20


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalStackUrl(str):
    """The stack's base URL, carrying what a test needs to drive it."""

    admin_username: str
    admin_password: str
    webhook_secret: str
    process: subprocess.Popen[str]
    lines: list[str]

    def output(self) -> str:
        return "\n".join(self.lines)


@pytest.fixture(scope="session")
def local_stack() -> Iterator[LocalStackUrl]:
    port = _free_port()
    admin_password = "Adm1n-" + secrets.token_urlsafe(12)
    webhook_secret = secrets.token_urlsafe(24)
    env = {
        **os.environ,
        "PORT": str(port),
        "SIGNALOS_ADMIN_USERNAME": "e2e_admin",
        "SIGNALOS_ADMIN_PASSWORD": admin_password,
        "TELEGRAM_WEBHOOK_SECRET": webhook_secret,
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("AWS_ENDPOINT_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "infra.local"],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
    )
    lines: list[str] = []
    ready = threading.Event()
    base: list[str] = []

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))
            if line.startswith(READY_PREFIX):
                base.append(line[len(READY_PREFIX) :].strip())
                ready.set()
        ready.set()  # the process ended: stop waiting

    reader = threading.Thread(target=read, name="local-stack-output", daemon=True)
    reader.start()
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while not ready.wait(0.2) and time.monotonic() < deadline:
        pass
    if not base:
        proc.kill()
        proc.wait(10)
        pytest.fail("the local stack did not become ready:\n" + "\n".join(lines[-60:]))

    url = LocalStackUrl(base[0])
    url.admin_username = "e2e_admin"
    url.admin_password = admin_password
    url.webhook_secret = webhook_secret
    url.process = proc
    url.lines = lines
    try:
        yield url
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                code = proc.wait(STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
                pytest.fail(
                    "the local stack did not stop within "
                    f"{STOP_TIMEOUT_SECONDS}s of SIGTERM:\n" + "\n".join(lines[-30:])
                )
        else:
            code = proc.returncode
        reader.join(5)
        assert code == 0, f"the local stack exited with {code}:\n" + "\n".join(lines[-30:])
