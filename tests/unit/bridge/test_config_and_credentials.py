"""Config file + environment overrides; the bridge token kept in a keyring or a private file."""

from __future__ import annotations

import stat
import sys
import types

import pytest

from bridge_agent.config import BridgeConfig, ConfigError, load_config, write_config
from bridge_agent.credentials import CredentialError, TokenStore

EXAMPLE = """
api_url = "https://api.signalos.example/"
account_id = "acc_1"
broker = "mt5"
heartbeat_seconds = 15
symbols = ["EURUSD"]
symbol_suffix = "m"

[symbol_map]
XAUUSD = "GOLD"

[mt5]
path = 'C:\\Program Files\\MetaTrader 5\\terminal64.exe'
login = 5001234
server = "Broker-Demo"
"""


def test_toml_is_read_and_validated(tmp_path):
    path = tmp_path / "bridge.toml"
    path.write_text(EXAMPLE)
    config = load_config(path, environ={})
    assert config.api_url == "https://api.signalos.example"
    assert (config.account_id, config.broker, config.heartbeat_seconds) == ("acc_1", "mt5", 15)
    assert config.symbol_map == {"XAUUSD": "GOLD"}
    assert config.mt5.path == r"C:\Program Files\MetaTrader 5\terminal64.exe"
    assert config.mt5.login == 5001234
    assert config.tracked_symbols() == ["EURUSD", "XAUUSD"]
    assert config.magic == 770_001


def test_environment_overrides_the_file(tmp_path):
    path = tmp_path / "bridge.toml"
    path.write_text(EXAMPLE)
    env = {
        "SIGNALOS_BRIDGE_BROKER": "paper",
        "SIGNALOS_BRIDGE_MT5_LOGIN": "777",
        "SIGNALOS_BRIDGE_MT5_PASSWORD": "pw",
        "SIGNALOS_BRIDGE_HEARTBEAT_SECONDS": "5",
    }
    config = load_config(path, environ=env)
    assert (config.broker, config.mt5.login, config.mt5.password, config.heartbeat_seconds) == (
        "paper",
        777,
        "pw",
        5,
    )


def test_env_only_config_works_without_a_file(tmp_path):
    env = {
        "SIGNALOS_BRIDGE_CONFIG": str(tmp_path / "none.toml"),
        "SIGNALOS_BRIDGE_API_URL": "http://127.0.0.1:3000",
    }
    assert load_config(None, environ=env).api_url == "http://127.0.0.1:3000"


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ('api_url = "ftp://x"', "api_url"),
        ('api_url = "http://api.example.com"', "api_url"),  # credentials never over plain http off this host
        ('api_url = "https://x"\nbroker = "mt4"', "broker"),
        ('api_url = "https://x"\nheartbeat_seconds = 0', "heartbeat_seconds"),
        ('api_url = "https://x"\nunknown_key = 1', "unknown_key"),
        ("api_url = ", "not valid TOML"),
        ('broker = "paper"', "api_url is not set"),
    ],
)
def test_bad_config_gets_a_clear_error(tmp_path, text, needle):
    path = tmp_path / "bridge.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_config(path, environ={})
    assert needle in str(err.value)


def test_written_config_reads_back_without_secrets(tmp_path):
    config = BridgeConfig.model_validate(
        {
            "api_url": "https://x",
            "account_id": "acc_9",
            "symbol_map": {"XAUUSD": "XAUUSD.pro"},
            "mt5": {"login": 5, "password": "secret"},
            "token": "sosb_x",
            "paper": {"prices": {"XAUUSD": 1950.5}},
        }
    )
    path = tmp_path / "out.toml"
    write_config(config, path)
    text = path.read_text()
    assert "secret" not in text and "sosb_x" not in text
    again = load_config(path, environ={})
    assert again.symbol_map == {"XAUUSD": "XAUUSD.pro"}
    assert again.paper.prices == {"XAUUSD": 1950.5}
    assert again.mt5.login == 5 and again.mt5.password is None


def test_token_file_is_private_and_round_trips(tmp_path):
    store = TokenStore(tmp_path, use_keyring=False)
    where = store.save("acc_1", "sosb_abc")
    assert where.endswith("token-acc_1")
    mode = stat.S_IMODE((tmp_path / "token-acc_1").stat().st_mode)
    assert mode == 0o600
    assert store.load("acc_1") == "sosb_abc"
    store.delete("acc_1")
    assert store.load("acc_1") is None


def test_a_token_file_others_can_read_is_refused(tmp_path):
    store = TokenStore(tmp_path, use_keyring=False)
    store.save("acc_1", "sosb_abc")
    (tmp_path / "token-acc_1").chmod(0o644)
    with pytest.raises(CredentialError, match="chmod 600"):
        store.load("acc_1")


def test_only_bridge_tokens_are_stored(tmp_path):
    with pytest.raises(CredentialError):
        TokenStore(tmp_path, use_keyring=False).save("acc_1", "eyJhbGciOi...")


class _MemoryKeyring:
    """A stand-in for an OS keyring backend (the real ones need a desktop session)."""

    priority = 5

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], str] = {}


def test_keyring_is_used_when_it_has_a_backend(tmp_path, monkeypatch):
    backend = _MemoryKeyring()
    fake = types.ModuleType("keyring")
    fake.get_keyring = lambda: backend
    fake.set_password = lambda s, u, p: backend.items.__setitem__((s, u), p)
    fake.get_password = lambda s, u: backend.items.get((s, u))
    fake.delete_password = lambda s, u: backend.items.pop((s, u))
    errors = types.ModuleType("keyring.errors")
    errors.KeyringError = Exception
    monkeypatch.setitem(sys.modules, "keyring", fake)
    monkeypatch.setitem(sys.modules, "keyring.errors", errors)

    store = TokenStore(tmp_path)
    assert store.save("acc_1", "sosb_k") == "the OS keyring"
    assert backend.items == {("signalos-bridge", "acc_1"): "sosb_k"}
    assert not (tmp_path / "token-acc_1").exists()
    assert store.load("acc_1") == "sosb_k"


def test_a_keyring_without_a_usable_backend_falls_back_to_the_file(tmp_path, monkeypatch):
    backend = _MemoryKeyring()
    backend.priority = 0  # keyring's "fail" backend has priority 0
    fake = types.ModuleType("keyring")
    fake.get_keyring = lambda: backend
    errors = types.ModuleType("keyring.errors")
    errors.KeyringError = Exception
    monkeypatch.setitem(sys.modules, "keyring", fake)
    monkeypatch.setitem(sys.modules, "keyring.errors", errors)
    store = TokenStore(tmp_path)
    assert store.save("acc_1", "sosb_f").endswith("token-acc_1")
