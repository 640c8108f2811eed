"""Bridge agent figures (run with `make bench`; they print, they do not gate):

1. Agent overhead per order, excluding the broker: parse the queue body, journal the intent
   (fsync'd), execute through the adapter, journal the result and reports, serialise the
   reports as posted. Every call into the MetaTrader5 module (the test double) is timed and
   subtracted, so what remains is the agent's own work (adapter logic included). The paper
   broker's whole execute_open is subtracted likewise. Median and p99 over N orders.
2. Resident memory of an idle agent: `signalos-bridge run` (paper broker) as a subprocess,
   long-polling a real SQS FIFO queue (moto server) with credentials from a bridge API server,
   heartbeating; RSS sampled from /proc while it idles.
3. Local end-to-end latency, Telegram webhook POST -> paper fill, p50/p95 over 200 posts: the
   local stack as a subprocess, a paper agent, one provider linked to a channel, one subscription.
"""

from __future__ import annotations

import importlib.util
import itertools
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest

DOUBLES = str(Path(__file__).resolve().parents[1] / "doubles")
if DOUBLES not in sys.path:
    sys.path.insert(0, DOUBLES)

import MetaTrader5  # noqa: E402  (the test double)
from bridge_api_server import FakeBridgeApi  # noqa: E402
from bridge_fixtures import ACCOUNT_ID, open_order  # noqa: E402
from MetaTrader5 import _core  # noqa: E402
from signalos.contracts.orders import OrderCommandEnvelope  # noqa: E402

from bridge_agent.brokers.mt5 import Mt5Broker  # noqa: E402
from bridge_agent.brokers.paper import PaperBroker  # noqa: E402
from bridge_agent.config import PaperSettings  # noqa: E402
from bridge_agent.executor import Executor  # noqa: E402
from bridge_agent.journal import Journal  # noqa: E402

ORDERS = int(os.environ.get("BRIDGE_BENCH_ORDERS", "400"))
IDLE_SECONDS = float(os.environ.get("BRIDGE_BENCH_IDLE_SECONDS", "10"))


class TimedModule:
    """The MetaTrader5 module with every function call timed (time spent 'in the broker')."""

    def __init__(self, module: ModuleType) -> None:
        self._module = module
        self.spent = 0.0

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._module, name)
        if not callable(value) or name.isupper():
            return value

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return value(*args, **kwargs)
            finally:
                self.spent += time.perf_counter() - started

        return timed


class TimedBroker:
    """A broker whose execute_open is timed and subtracted (paper: the simulation is the broker)."""

    def __init__(self, broker: Any) -> None:
        self._broker = broker
        self.spent = 0.0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._broker, name)

    def execute_open(self, order: Any) -> Any:
        started = time.perf_counter()
        try:
            return self._broker.execute_open(order)
        finally:
            self.spent += time.perf_counter() - started


def _percentile(samples: list[float], pct: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def _overhead(executor: Executor, timer: Any, n: int) -> list[float]:
    samples = []
    for i in range(n):
        body = open_order(
            side="buy" if i % 2 else "sell", price=1950.0, stop_loss=None, take_profit=None, volume=0.01
        ).model_dump_json()
        before = timer.spent
        started = time.perf_counter()
        command = OrderCommandEnvelope.parse_body(body)
        reports = executor.handle(command, body)
        payload = {"reports": [r.model_dump(mode="json") for r in reports]}
        elapsed = time.perf_counter() - started
        assert payload["reports"][0]["status"] == "filled", payload
        samples.append((elapsed - (timer.spent - before)) * 1000)
    return samples


def _print(name: str, samples: list[float]) -> None:
    print(
        f"  {name:<44} median {statistics.median(samples):7.3f} ms   p99 {_percentile(samples, 99):7.3f} ms"
        f"   (n={len(samples)})"
    )


def test_agent_overhead_per_order_excluding_the_broker(tmp_path):
    term = _core.reset(balance=1e9)
    term.add_gold("XAUUSDm", bid=1950.00)
    timed = TimedModule(MetaTrader5)
    mt5_broker = Mt5Broker(timed, suffix="m", sleep=lambda s: None)
    mt5_broker.connect()
    mt5_journal = Journal(tmp_path / "mt5.db")
    mt5_samples = _overhead(Executor(mt5_broker, mt5_journal, ACCOUNT_ID), timed, ORDERS)

    paper = TimedBroker(PaperBroker(PaperSettings(balance=1e9, prices={"XAUUSD": 1950.1})))
    paper_journal = Journal(tmp_path / "paper.db")
    paper_samples = _overhead(Executor(paper, paper_journal, ACCOUNT_ID), paper, ORDERS)

    # The same MT5 path without fsync: how much of the overhead is the disk making the journal durable.
    nosync_journal = Journal(tmp_path / "nosync.db", durable=False)
    nosync_samples = _overhead(Executor(mt5_broker, nosync_journal, ACCOUNT_ID), timed, ORDERS)

    print("\nbridge agent overhead per order (broker time subtracted; 2 fsync'd journal commits per order):")
    _print("MT5 adapter on the double (MT5 calls excluded)", mt5_samples)
    _print("paper broker (execute_open excluded)", paper_samples)
    _print("MT5 path, journal without fsync (reference)", nosync_samples)
    assert len(term.positions) == 2 * ORDERS  # every order was executed exactly once
    for journal in (mt5_journal, paper_journal, nosync_journal):
        journal.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_idle_agent_resident_memory(tmp_path):
    from moto.server import ThreadedMotoServer

    port = _free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    moto.start()
    endpoint = f"http://127.0.0.1:{port}"
    api = None
    proc = None
    try:
        sqs = boto3.client(
            "sqs",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        url = sqs.create_queue(QueueName="bench-orders.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
        api = FakeBridgeApi(account_id=ACCOUNT_ID, queue_url=url, endpoint_url=endpoint)
        api.start()
        config = tmp_path / "bridge.toml"
        config.write_text(
            f'api_url = "{api.url}"\naccount_id = "{ACCOUNT_ID}"\nbroker = "paper"\n'
            'symbols = ["XAUUSD", "EURUSD"]\nheartbeat_seconds = 2\n'
        )
        env = {**os.environ, "SIGNALOS_BRIDGE_HOME": str(tmp_path), "SIGNALOS_BRIDGE_TOKEN": api.token}
        proc = subprocess.Popen(
            [sys.executable, "-m", "bridge_agent.cli", "--config", str(config), "run"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 30
        while not api.heartbeats and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.1)
        assert api.heartbeats, "the agent never heartbeated"
        samples = []
        end = time.monotonic() + IDLE_SECONDS
        while time.monotonic() < end:
            assert proc.poll() is None, "the agent exited while idle"
            samples.append(_rss_kib(proc.pid))
            time.sleep(0.25)
        print(f"\nidle agent (paper, long-polling moto SQS, heartbeat every 2 s) over {IDLE_SECONDS:.0f}s:")
        print(
            f"  RSS median {statistics.median(samples) / 1024:6.1f} MiB   max {max(samples) / 1024:6.1f} MiB"
            f"   ({len(api.heartbeats)} heartbeats, {api.sessions} session(s))"
        )
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0, proc.stderr.read()[-2000:] if proc.stderr else ""
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(10)
        if api is not None:
            api.stop()
        moto.stop()


# ---- 3. local end-to-end latency: Telegram webhook -> paper fill ------------------------------------------
# The local stack (python -m infra.local) as the e2e suite starts it; reports/heartbeats are rate-limited
# per account in the API, raised here (the limit's documented load-test override) for 200 posts in a row.
os.environ.setdefault("BRIDGE_RATE_REPORTS", "100000")
os.environ.setdefault("BRIDGE_RATE_HEARTBEAT", "100000")
_e2e_conftest = Path(__file__).resolve().parents[1] / "e2e" / "conftest.py"
_spec = importlib.util.spec_from_file_location("bridge_bench_e2e_conftest", _e2e_conftest)
assert _spec is not None and _spec.loader is not None
_e2e = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_e2e)
local_stack = _e2e.local_stack  # the session fixture, reused as is

POSTS = int(os.environ.get("BRIDGE_BENCH_POSTS", "200"))


def _iso_epoch(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


@pytest.mark.timeout(1800)
def test_local_webhook_to_paper_fill_latency(local_stack):
    import requests

    from bridge_agent.local_demo import start_demo_agent

    base = str(local_stack)
    username, password = f"bench_{uuid.uuid4().hex[:8]}", "correct horse battery staple"
    requests.post(
        f"{base}/api/v1/auth/register", json={"username": username, "password": password}, timeout=30
    )
    token = requests.post(
        f"{base}/api/v1/auth/login", json={"username": username, "password": password}, timeout=30
    ).json()["access_token"]
    h = {"Authorization": f"Bearer {token}"}
    agent = start_demo_agent(
        base,
        username=username,
        password=password,
        prices={"XAUUSD": 1950.10},
        heartbeat_seconds=30,  # the production default: heartbeats are not what is measured
        poll_wait_seconds=20,
    )
    try:
        provider_id = requests.post(
            f"{base}/api/v1/signals/providers", json={"name": "Bench"}, headers=h, timeout=30
        ).json()["provider_id"]
        chat = {"id": -1002000000000 - uuid.uuid4().int % 10**8, "title": "Bench", "type": "channel"}
        secret = {"X-Telegram-Bot-Api-Secret-Token": local_stack.webhook_secret}
        updates = itertools.count(990_000_000)
        messages = itertools.count(1)

        def post(text: str) -> float:
            update = {
                "update_id": next(updates),
                "channel_post": {
                    "message_id": next(messages),
                    "chat": chat,
                    "date": int(time.time()),
                    "text": text,
                },
            }
            sent = time.time()
            r = requests.post(f"{base}/api/v1/telegram/webhook", json=update, headers=secret, timeout=120)
            assert r.status_code == 200, r.text
            return sent

        code = requests.post(
            f"{base}/api/v1/telegram/link-codes", json={"provider_id": provider_id}, headers=h, timeout=30
        ).json()["command"]
        post(code)
        r = requests.post(
            f"{base}/api/v1/subscriptions",
            headers=h,
            timeout=30,
            json={
                "provider_id": provider_id,
                "account_id": agent.account_id,
                "rules": {"sizing_mode": "fixed_lot", "fixed_lot": 0.01, "max_daily_trades": 10_000},
            },
        )
        assert r.status_code == 201, r.text
        deadline = time.monotonic() + 30
        while (
            requests.get(
                f"{base}/api/v1/trades/account",
                params={"account_id": agent.account_id},
                headers=h,
                timeout=30,
            )
            .json()
            .get("heartbeat")
            is not True
        ):
            assert time.monotonic() < deadline, "no heartbeat"
            time.sleep(0.1)

        latencies: list[float] = []
        webhook_ms: list[float] = []
        journal = agent.runner.journal
        for i in range(POSTS):
            sent = post(f"XAUUSD BUY NOW SL 1940 TP {1960 + (i % 50) * 0.1:.1f}")
            webhook_ms.append((time.time() - sent) * 1000)
            # Watch the agent's own journal (in this process, one cheap query every 10 ms) rather than
            # poll the API, which would load the single-process local stack being measured.
            deadline = time.monotonic() + 60
            while (stats := journal.order_stats())[0] <= i:
                if time.monotonic() > deadline:
                    rejections = requests.get(
                        f"{base}/api/v1/trades/rejections", headers=h, timeout=60
                    ).json()
                    raise AssertionError(
                        f"post {i} was not filled\nrejections: {rejections['items'][:3]}\n"
                        f"stack: {local_stack.output()[-4000:]}"
                    )
                time.sleep(0.01)
            latencies.append((_iso_epoch(stats[1]) - sent) * 1000)
        # And the cloud side agrees: every order is filled in the trades API (once the outbox is empty).
        deadline = time.monotonic() + 30
        while journal.pending_reports():
            assert time.monotonic() < deadline, "reports not delivered"
            time.sleep(0.05)
        filled, cursor = 0, None
        while True:
            params = {"account_id": agent.account_id, "limit": 100, **({"cursor": cursor} if cursor else {})}
            page = requests.get(f"{base}/api/v1/trades/history", params=params, headers=h, timeout=30).json()
            filled += sum(o["state"] == "filled" for o in page["items"])
            if not (cursor := page.get("next_cursor")):
                break
        assert filled == POSTS
        print(f"\nlocal end-to-end, webhook POST -> paper fill (sequential posts, n={len(latencies)}):")
        first, last = webhook_ms[: len(webhook_ms) // 10 or 1], webhook_ms[-(len(webhook_ms) // 10 or 1) :]
        print(
            f"  POST -> paper fill     p50 {statistics.median(latencies):7.1f} ms   "
            f"p95 {_percentile(latencies, 95):7.1f} ms   max {max(latencies):7.1f} ms"
        )
        print(
            f"  of which the webhook   p50 {statistics.median(webhook_ms):7.1f} ms   "
            f"p95 {_percentile(webhook_ms, 95):7.1f} ms   (first 10%: {statistics.median(first):.0f} ms, "
            f"last 10%: {statistics.median(last):.0f} ms)"
        )
        after = [lat - web for lat, web in zip(latencies, webhook_ms, strict=True)]
        print(
            f"  answer -> paper fill   p50 {statistics.median(after):7.1f} ms   "
            f"p95 {_percentile(after, 95):7.1f} ms   (negative: filled before the webhook answered)"
        )
        assert len(agent.broker.positions()) == POSTS
    finally:
        agent.stop()
