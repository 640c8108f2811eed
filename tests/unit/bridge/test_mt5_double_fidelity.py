"""The MetaTrader5 test double must carry the real package's constants, name for name, value for value.

Downloads the real Windows wheel from PyPI (pip download, no install: it has no Linux build),
parses its `MetaTrader5/__init__.py` with `ast` (never imports it) and compares. A guessed
constant in a double is how public bridges shipped TRADE_ACTION_PENDING=4 (it is 5).
"""

from __future__ import annotations

import ast
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

DOUBLE = Path(__file__).resolve().parents[2] / "doubles" / "MetaTrader5" / "__init__.py"


def _constants(source: str) -> dict[str, object]:
    """Top-level `NAME = <expr>` assignments of UPPER_CASE names, evaluated the way Python would."""
    tree = ast.parse(source)
    found: dict[str, object] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id
            if name.isupper():
                # The file uses literals and `|` of literals (TIMEFRAME_H1 = 1 | 0x4000): no names, no calls.
                assert all(
                    isinstance(n, ast.Constant | ast.BinOp | ast.BitOr | ast.UnaryOp | ast.USub)
                    for n in ast.walk(node.value)
                ), f"unexpected expression for {name}"
                found[name] = eval(compile(ast.Expression(node.value), name, "eval"), {"__builtins__": {}})
    return found


def _version(source: str) -> str:
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "__version__":
            return node.value.value
    raise AssertionError("no __version__")


@pytest.fixture(scope="module")
def real_init(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The real `MetaTrader5/__init__.py` of the version the double was copied from."""
    version = _version(DOUBLE.read_text())
    dest = tmp_path_factory.mktemp("mt5wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--platform",
            "win_amd64",
            "--python-version",
            "3.12",
            "--only-binary=:all:",
            f"MetaTrader5=={version}",
            "-d",
            str(dest),
        ],
        check=True,
        capture_output=True,
        timeout=240,
    )
    (wheel,) = dest.glob("*.whl")
    with zipfile.ZipFile(wheel) as zf:
        return zf.read("MetaTrader5/__init__.py").decode()


def test_every_real_constant_is_in_the_double_with_the_same_value(real_init: str) -> None:
    real = _constants(real_init)
    double = _constants(DOUBLE.read_text())
    assert len(real) > 200  # the parse really found the constant table
    missing = sorted(set(real) - set(double))
    wrong = {k: (double[k], v) for k, v in real.items() if k in double and double[k] != v}
    assert not missing, f"constants missing from the double: {missing}"
    assert not wrong, f"constants with other values in the double (double, real): {wrong}"


def test_the_double_invents_no_constant(real_init: str) -> None:
    invented = sorted(set(_constants(DOUBLE.read_text())) - set(_constants(real_init)))
    assert not invented, f"constants the real package does not have: {invented}"


def test_the_constants_the_bridge_depends_on_are_the_reference_values() -> None:
    import MetaTrader5 as mt5  # the double: tests/unit/bridge/conftest.py puts tests/doubles on sys.path

    assert Path(mt5.__file__).resolve() == DOUBLE
    assert (mt5.TRADE_ACTION_DEAL, mt5.TRADE_ACTION_PENDING, mt5.TRADE_ACTION_SLTP) == (1, 5, 6)
    assert (mt5.TRADE_ACTION_MODIFY, mt5.TRADE_ACTION_REMOVE, mt5.TRADE_ACTION_CLOSE_BY) == (7, 8, 10)
    assert (mt5.ORDER_FILLING_FOK, mt5.ORDER_FILLING_IOC, mt5.ORDER_FILLING_RETURN) == (0, 1, 2)
    assert (mt5.TRADE_RETCODE_DONE, mt5.TRADE_RETCODE_TIMEOUT, mt5.TRADE_RETCODE_INVALID_FILL) == (
        10009,
        10012,
        10030,
    )
    assert (mt5.DEAL_ENTRY_IN, mt5.DEAL_ENTRY_OUT) == (0, 1)


def test_the_brokers_copy_of_position_closed_is_the_packages():
    import MetaTrader5 as mt5  # the double, whose constants are the real wheel's (checked above)

    from bridge_agent.brokers.base import TRADE_RETCODE_POSITION_CLOSED

    assert mt5.TRADE_RETCODE_POSITION_CLOSED == TRADE_RETCODE_POSITION_CLOSED
