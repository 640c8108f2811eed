"""Bridge unit tests: the MetaTrader5 test double on sys.path, a fresh simulated terminal per test."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

DOUBLES = str(Path(__file__).resolve().parents[2] / "doubles")
if DOUBLES not in sys.path:
    sys.path.insert(0, DOUBLES)

import MetaTrader5  # noqa: E402  (the double, found through the path above)
from MetaTrader5 import _core  # noqa: E402


@pytest.fixture
def mt5():
    """The MetaTrader5 module (the double) with a fresh terminal: gold as XAUUSDm, EURUSD."""
    term = _core.reset()
    term.add_gold("XAUUSDm", bid=1950.00, filling_mode=1)
    term.add_forex("EURUSD", bid=1.08500, filling_mode=2)
    return MetaTrader5


@pytest.fixture
def terminal(mt5) -> _core.SimulatedTerminal:
    return _core.terminal()
