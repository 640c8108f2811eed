"""Bridge unit tests: the MetaTrader5 test double on sys.path, a fresh simulated terminal per test."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

DOUBLES = str(Path(__file__).resolve().parents[2] / "doubles")
if DOUBLES not in sys.path:
    sys.path.insert(0, DOUBLES)

import MetaTrader5  # noqa: E402  (the double, found through the path above)
from bridge_fixtures import ACCOUNT_ID  # noqa: E402
from MetaTrader5 import _core  # noqa: E402

from bridge_agent.brokers.mt5 import Mt5Broker  # noqa: E402
from bridge_agent.config import Mt5Settings  # noqa: E402
from bridge_agent.executor import Executor  # noqa: E402
from bridge_agent.journal import Journal  # noqa: E402
from bridge_agent.monitor import Monitor  # noqa: E402


@pytest.fixture
def mt5():
    """The MetaTrader5 module (the double) with a fresh terminal: gold as XAUUSDm (FOK only), EURUSD (IOC)."""
    term = _core.reset()
    term.add_gold("XAUUSDm", bid=1950.00, filling_mode=1)
    term.add_forex("EURUSD", bid=1.08500, filling_mode=2)
    return MetaTrader5


@pytest.fixture
def terminal(mt5) -> _core.SimulatedTerminal:
    return _core.terminal()


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def broker(mt5, sleeps) -> Mt5Broker:
    b = Mt5Broker(mt5, settings=Mt5Settings(lookup_attempts=2), suffix="m", sleep=sleeps.append)
    b.connect()
    return b


@pytest.fixture
def journal(tmp_path) -> Journal:
    # Without fsync: unit tests check the order of writes, not the disk (the agent always fsyncs).
    j = Journal(tmp_path / "journal.db", durable=False)
    yield j
    j.close()


@pytest.fixture
def executor(broker, journal) -> Executor:
    return Executor(broker, journal, ACCOUNT_ID)


@pytest.fixture
def monitor(broker, journal) -> Monitor:
    return Monitor(broker, journal, ACCOUNT_ID)
