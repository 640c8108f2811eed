"""Agent configuration: one TOML file, with environment variables that override it.

Example (bridge_agent/README.md has the full one):

    api_url = "https://api.signalos.example"
    account_id = "acc_01JD..."
    broker = "mt5"            # or "paper"
    heartbeat_seconds = 30
    symbols = ["XAUUSD", "EURUSD"]
    symbol_suffix = "m"
    [symbol_map]
    XAUUSD = "GOLD"
    [mt5]
    path = 'C:\\Program Files\\MetaTrader 5\\terminal64.exe'
    login = 5001234
    server = "Broker-Demo"

Environment overrides (`SIGNALOS_BRIDGE_<NAME>`): API_URL, ACCOUNT_ID, BROKER, HEARTBEAT_SECONDS,
JOURNAL_PATH, LOG_FILE, SYMBOL_SUFFIX, MT5_PATH, MT5_LOGIN, MT5_SERVER, MT5_PASSWORD, TOKEN; and
SIGNALOS_BRIDGE_CONFIG names the file. The broker password is read from the environment only
(never written to the file by us).
"""

from __future__ import annotations

import os
import sys
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from signalos.contracts.orders import SIGNALOS_MAGIC

ENV_PREFIX = "SIGNALOS_BRIDGE_"


class ConfigError(Exception):
    """The configuration cannot be used; the message says what to fix."""


def data_dir() -> Path:
    """Where the agent keeps its journal, logs and (without a keyring) its token."""
    if override := os.environ.get(ENV_PREFIX + "HOME"):
        return Path(override)
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / "SignalOS" / "bridge"
    return Path.home() / ".signalos-bridge"


def default_config_path() -> Path:
    return Path(os.environ.get(ENV_PREFIX + "CONFIG") or data_dir() / "bridge.toml")


class Mt5Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str | None = Field(default=None, description="terminal64.exe; None = the running terminal")
    login: int | None = None
    server: str | None = None
    password: str | None = Field(default=None, exclude=True, repr=False)
    timeout_ms: int = Field(default=60_000, ge=1000)
    max_requotes: int = Field(default=3, ge=0, le=10)
    busy_retries: int = Field(default=3, ge=0, le=10)
    lookup_attempts: int = Field(default=3, ge=1, le=10)
    history_lookback_hours: int = Field(default=72, ge=1)
    server_utc_offset_seconds: int = 0
    max_tick_age_seconds: float | None = Field(default=None, gt=0)


class PaperSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    balance: float = Field(default=10_000.0, gt=0)
    currency: str = "USD"
    leverage: int = Field(default=100, ge=1)
    spread_points: float = Field(default=20, ge=0)
    slippage_points: float = Field(default=0, ge=0)
    commission_per_lot: float = Field(default=0.0, ge=0)
    seed: int = 7
    volatility_points: float = Field(default=5, ge=0, description="random-walk step per second, in points")
    prices: dict[str, float] = Field(default_factory=dict, description="fixed mid prices (no walk)")
    start_prices: dict[str, float] = Field(default_factory=dict, description="where each walk starts")
    state_path: str | None = Field(default=None, description="persist paper positions across restarts")


class BridgeConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    api_url: str
    account_id: str = Field(default="", description="filled in by `signalos-bridge register`")
    broker: Literal["mt5", "paper"] = "mt5"
    symbols: list[str] = Field(default_factory=list, description="canonical symbols reported in heartbeats")
    symbol_map: dict[str, str] = Field(default_factory=dict)
    symbol_suffix: str = ""
    magic: int = SIGNALOS_MAGIC
    heartbeat_seconds: float = Field(default=30, ge=1, le=3600)
    monitor_seconds: float = Field(default=1.0, gt=0, le=60)
    poll_wait_seconds: int = Field(default=20, ge=0, le=20)
    visibility_seconds: int = Field(default=60, ge=10, le=43_200)
    journal_path: str = ""
    log_file: str = ""
    log_level: str = "INFO"
    token: str | None = Field(default=None, exclude=True, repr=False, description="env/tests only")
    mt5: Mt5Settings = Field(default_factory=Mt5Settings)
    paper: PaperSettings = Field(default_factory=PaperSettings)

    @field_validator("api_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        # The bridge token and STS credentials travel on this URL: plain http only to loopback.
        from urllib.parse import urlparse

        url = urlparse(value)
        local = url.hostname in {"localhost", "127.0.0.1", "::1"}
        if url.scheme != "https" and not (url.scheme == "http" and local):
            raise ValueError("api_url must start with https:// (http:// only for a local stack on this host)")
        return value.rstrip("/")

    def resolved_journal_path(self) -> Path:
        return (
            Path(self.journal_path)
            if self.journal_path
            else data_dir() / f"journal-{self.account_id or 'new'}.db"
        )

    def resolved_log_file(self) -> Path:
        return Path(self.log_file) if self.log_file else data_dir() / "logs" / "signalos-bridge.log"

    def tracked_symbols(self) -> list[str]:
        return sorted({*self.symbols, *self.symbol_map})


_ENV_FIELDS: dict[str, tuple[str, ...]] = {
    "API_URL": ("api_url",),
    "ACCOUNT_ID": ("account_id",),
    "BROKER": ("broker",),
    "HEARTBEAT_SECONDS": ("heartbeat_seconds",),
    "JOURNAL_PATH": ("journal_path",),
    "LOG_FILE": ("log_file",),
    "LOG_LEVEL": ("log_level",),
    "SYMBOL_SUFFIX": ("symbol_suffix",),
    "TOKEN": ("token",),
    "MT5_PATH": ("mt5", "path"),
    "MT5_LOGIN": ("mt5", "login"),
    "MT5_SERVER": ("mt5", "server"),
    "MT5_PASSWORD": ("mt5", "password"),
}


def _apply_env(raw: dict, environ: dict[str, str]) -> dict:
    for suffix, path in _ENV_FIELDS.items():
        value = environ.get(ENV_PREFIX + suffix)
        if value is None or value == "":
            continue
        target = raw
        for key in path[:-1]:
            target = target.setdefault(key, {})
        target[path[-1]] = value
    return raw


def load_config(path: Path | str | None = None, environ: dict[str, str] | None = None) -> BridgeConfig:
    """Read the TOML file (if it exists), apply env overrides, validate. ConfigError says what is wrong."""
    environ = dict(os.environ if environ is None else environ)
    file = Path(path) if path else default_config_path()
    raw: dict = {}
    if file.exists():
        try:
            raw = tomllib.loads(file.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{file}: not valid TOML: {exc}") from None
    elif path:
        raise ConfigError(f"{file}: no such config file")
    raw = _apply_env(raw, environ)
    if "api_url" not in raw:
        raise ConfigError(f"api_url is not set (in {file} or {ENV_PREFIX}API_URL)")
    try:
        return BridgeConfig.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"{file}: {problems}") from None


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def write_config(config: BridgeConfig, path: Path) -> None:
    """Write the non-secret settings as TOML (tomllib reads only; the format is simple enough)."""
    data = config.model_dump(exclude_defaults=False)
    lines: list[str] = []
    tables: dict[str, dict] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            tables[key] = value
        elif value is not None:
            lines.append(f"{key} = {_toml_value(value)}")
    for name, table in tables.items():
        lines.append(f"\n[{name}]")
        for key, value in table.items():
            if value is None or isinstance(value, dict):
                continue
            quoted = key if key.replace("_", "").isalnum() else _toml_value(key)
            lines.append(f"{quoted} = {_toml_value(value)}")
        for key, value in table.items():
            if isinstance(value, dict) and value:
                lines.append(f"\n[{name}.{key}]")
                lines.extend(f"{_toml_value(k)} = {_toml_value(v)}" for k, v in value.items())
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.replace(tmp, path)
