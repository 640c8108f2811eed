"""`signalos-bridge` commands end to end in-process: register (code / login), doctor, status, errors."""

from __future__ import annotations

import itertools
import logging
import sys
from datetime import timedelta
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

DOUBLES = str(Path(__file__).resolve().parents[1] / "doubles")
if DOUBLES not in sys.path:
    sys.path.insert(0, DOUBLES)

from bridge_api_server import FakeBridgeApi  # noqa: E402
from bridge_fixtures import ACCOUNT_ID, open_order  # noqa: E402
from MetaTrader5 import _core  # noqa: E402

from bridge_agent import cli  # noqa: E402
from bridge_agent.config import load_config  # noqa: E402
from bridge_agent.credentials import TokenStore  # noqa: E402
from bridge_agent.executor import Executor  # noqa: E402
from bridge_agent.journal import Journal  # noqa: E402

_n = itertools.count(1)


@pytest.fixture(scope="module")
def embedded_aws():
    with mock_aws():
        yield


@pytest.fixture
def api(embedded_aws):
    sqs = boto3.client("sqs", region_name="us-east-1")
    url = sqs.create_queue(QueueName=f"cli-{next(_n)}.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    server = FakeBridgeApi(account_id=ACCOUNT_ID, queue_url=url)
    server.start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _drop_cli_log_handlers():
    """The CLI installs console/file handlers on the root logger; do not leak them into other tests."""
    yield
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "signalos_bridge", False):
            root.removeHandler(handler)
            handler.close()


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("SIGNALOS_BRIDGE_HOME", str(tmp_path))
    for var in ("SIGNALOS_BRIDGE_CONFIG", "SIGNALOS_BRIDGE_API_URL", "SIGNALOS_BRIDGE_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    return tmp_path


def test_register_with_a_pairing_code_stores_the_token_and_writes_the_config(api, home, capsys):
    api.pairing_codes["WXYZ-1234"] = ACCOUNT_ID
    config_path = home / "bridge.toml"
    code = cli.main(
        [
            "--config",
            str(config_path),
            "register",
            "--api-url",
            api.url,
            "--code",
            "wxyz-1234",
            "--broker",
            "paper",
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert ACCOUNT_ID in out and api.token not in out  # the token is never printed
    config = load_config(config_path, environ={})
    assert (config.account_id, config.api_url, config.broker) == (ACCOUNT_ID, api.url, "paper")
    assert api.token not in config_path.read_text()
    assert TokenStore(home, use_keyring=False).load(ACCOUNT_ID) == api.token


def test_register_with_username_and_password(api, home, capsys):
    api.users["trader"] = "s3cret-pass"
    config_path = home / "bridge.toml"
    code = cli.main(
        [
            "--config",
            str(config_path),
            "register",
            "--api-url",
            api.url,
            "--username",
            "trader",
            "--password",
            "s3cret-pass",
            "--login",
            "5001234",
            "--server",
            "SimBroker-Demo",
            "--map",
            "XAUUSD=XAUUSDm",
        ]
    )
    assert code == 0
    config = load_config(config_path, environ={})
    assert config.mt5.login == 5001234 and config.symbol_map == {"XAUUSD": "XAUUSDm"}


def test_wrong_password_is_one_clear_line(api, home, capsys):
    api.users["trader"] = "right"
    code = cli.main(
        [
            "--config",
            str(home / "b.toml"),
            "register",
            "--api-url",
            api.url,
            "--username",
            "trader",
            "--password",
            "wrong",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: ") and "Traceback" not in err


def _paper_config(home: Path, api: FakeBridgeApi, **extra: str) -> Path:
    TokenStore(home, use_keyring=False).save(ACCOUNT_ID, api.token)
    lines = [
        f'api_url = "{api.url}"',
        f'account_id = "{ACCOUNT_ID}"',
        'broker = "paper"',
        'symbols = ["XAUUSD"]',
    ]
    lines += [f"{k} = {v}" for k, v in extra.items()]
    path = home / "bridge.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_doctor_passes_on_a_healthy_paper_setup(api, home, capsys):
    code = cli.main(["--config", str(_paper_config(home, api)), "doctor"])
    out = capsys.readouterr().out
    assert code == 0, out
    for name in (
        "terminal running",
        "algo trading on",
        "symbol XAUUSD",
        "API reachable",
        "queue reachable",
        "clock in sync",
    ):
        assert f"[OK  ] {name}" in out


def test_doctor_names_a_skewed_clock_and_an_unknown_symbol(api, home, capsys):
    api.clock_offset = timedelta(seconds=40)
    config = _paper_config(home, api)
    config.write_text(config.read_text().replace('["XAUUSD"]', '["XAUUSD", "NOSUCH"]'))
    code = cli.main(["--config", str(config), "doctor"])
    out = capsys.readouterr().out
    assert code == 1
    assert "[FAIL] clock in sync" in out and "time sync" in out
    assert "[FAIL] symbol NOSUCH" in out


def test_doctor_on_mt5_says_algo_trading_is_off(api, home, capsys):
    term = _core.reset()
    term.add_gold("XAUUSDm")
    term.algo_trading = False
    config = _paper_config(home, api)
    config.write_text(
        config.read_text().replace('broker = "paper"', 'broker = "mt5"\nsymbol_suffix = "m"')
        + f"\n[mt5]\nlogin = {term.login}\n"
    )
    code = cli.main(["--config", str(config), "doctor"])
    out = capsys.readouterr().out
    assert code == 1
    assert "[FAIL] algo trading on: press 'Algo Trading'" in out
    assert "[OK  ] account matches" in out
    assert "[OK  ] symbol XAUUSD: XAUUSDm: tradable" in out


def test_doctor_when_the_terminal_is_not_running(api, home, capsys):
    term = _core.reset()
    term.crash()
    config = _paper_config(home, api)
    config.write_text(config.read_text().replace('broker = "paper"', 'broker = "mt5"'))
    assert cli.main(["--config", str(config), "doctor"]) == 1
    assert "[FAIL] terminal running: MT5 initialize failed" in capsys.readouterr().out


def test_status_shows_open_orders_and_pending_reports(api, home, capsys):
    config_path = _paper_config(home, api)
    config = load_config(config_path, environ={})
    broker = cli.build_broker(config)
    broker.connect()
    journal = Journal(config.resolved_journal_path())
    order = open_order()
    Executor(broker, journal, ACCOUNT_ID).handle(order)
    journal.close()
    assert cli.main(["--config", str(config_path), "status"]) == 0
    out = capsys.readouterr().out
    assert order.order_id in out and "open" in out and "pending" in out


def test_run_without_a_token_is_a_clear_error(api, home, capsys):
    path = home / "bridge.toml"
    path.write_text(f'api_url = "{api.url}"\naccount_id = "acc_unpaired"\nbroker = "paper"\n')
    assert cli.main(["--config", str(path), "run"]) == 2
    assert "signalos-bridge register" in capsys.readouterr().err


def test_missing_config_is_a_clear_error(home, capsys):
    assert cli.main(["--config", str(home / "nope.toml"), "status"]) == 2
    assert "no such config file" in capsys.readouterr().err
