"""A paper bridge agent for the local stack (`make run`) and end-to-end tests.

    from bridge_agent.local_demo import start_demo_agent
    agent = start_demo_agent("http://127.0.0.1:3000", username="admin", password="...")
    ...                                   # orders for agent.account_id now fill on paper
    agent.stop()                          # or agent(): the handle is its own stop callable

It logs in, registers a paper account (`POST /api/v1/bridge/register`, kind "paper") unless it
is given an account and its bridge token, and runs the normal agent loop (session credentials,
the account's queue on the embedded AWS, journal, reports, heartbeats) on the paper broker in a
daemon thread. Nothing here is special-cased for local use except where files go (a temp dir).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
from pathlib import Path

from bridge_agent.api_client import BridgeApiClient
from bridge_agent.brokers.paper import PaperBroker
from bridge_agent.config import BridgeConfig, PaperSettings
from bridge_agent.journal import Journal
from bridge_agent.queue import OrderQueue
from bridge_agent.runner import Runner

log = logging.getLogger(__name__)

DEMO_SYMBOLS = ("XAUUSD", "XAGUSD", "EURUSD", "GBPUSD", "USDJPY", "BTCUSD", "US30", "NAS100")


class DemoAgent:
    """Handle of a running demo agent: `stop()` (or call it) ends it and removes its files."""

    def __init__(
        self,
        runner: Runner,
        thread: threading.Thread,
        account_id: str,
        bridge_token: str,
        data_dir: Path,
        owns_dir: bool,
    ) -> None:
        self.runner = runner
        self.thread = thread
        self.account_id = account_id
        self.bridge_token = bridge_token
        self.data_dir = data_dir
        self._owns_dir = owns_dir

    @property
    def broker(self) -> PaperBroker:
        return self.runner.broker  # type: ignore[return-value]

    def stop(self, timeout: float = 10.0) -> None:
        self.runner.stop()
        self.thread.join(timeout)
        if self.thread.is_alive():  # still finishing a call: leave its journal open (daemon thread)
            log.warning("the demo agent did not stop within %.0fs", timeout)
            return
        self.runner.journal.close()
        if self._owns_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    __call__ = stop


def start_demo_agent(
    api_url: str,
    *,
    username: str | None = None,
    password: str | None = None,
    account_id: str | None = None,
    bridge_token: str | None = None,
    account_name: str = "Paper demo",
    data_dir: str | Path | None = None,
    prices: dict[str, float] | None = None,
    start_prices: dict[str, float] | None = None,
    volatility_points: float = 2.0,
    heartbeat_seconds: float = 5.0,
    poll_wait_seconds: int = 5,
    symbols: tuple[str, ...] = DEMO_SYMBOLS,
) -> DemoAgent:
    """Start a paper agent against the SignalOS API at `api_url`; returns its handle (stop callable).

    Give either `username`/`password` (a paper account is registered for that user) or an existing
    `account_id` with its `bridge_token`. `prices` fixes mid prices (no walk), `start_prices` seeds
    the random walks (default: XAUUSD 1950, EURUSD 1.085, ...).
    """
    api = BridgeApiClient(api_url, retries=5, backoff_seconds=0.2)
    if bridge_token is None or account_id is None:
        if not (username and password):
            raise ValueError("give username and password, or account_id and bridge_token")
        access = api.login(username, password)
        answer = api.register(access, {"name": account_name, "kind": "paper"})
        account_id, bridge_token = answer["account_id"], answer["bridge_token"]
        log.info("demo paper account %s registered for %s", account_id, username)
    api.token = bridge_token
    owns_dir = data_dir is None
    directory = Path(data_dir) if data_dir is not None else Path(tempfile.mkdtemp(prefix="signalos-paper-"))
    config = BridgeConfig(
        api_url=api_url,
        account_id=account_id,
        broker="paper",
        symbols=list(symbols),
        heartbeat_seconds=heartbeat_seconds,
        poll_wait_seconds=poll_wait_seconds,
        monitor_seconds=0.5,
        journal_path=str(directory / "journal.db"),
        paper=PaperSettings(
            prices=dict(prices or {}),
            start_prices=dict(start_prices or {}),
            volatility_points=volatility_points,
            state_path=str(directory / "paper-state.json"),
        ),
    )
    broker = PaperBroker(config.paper, symbol_map=config.symbol_map)
    runner = Runner(config, api, broker, Journal(config.journal_path), OrderQueue(api.session))
    thread = threading.Thread(target=runner.run, name=f"paper-agent-{account_id}", daemon=True)
    thread.start()
    return DemoAgent(runner, thread, account_id, bridge_token, directory, owns_dir)
