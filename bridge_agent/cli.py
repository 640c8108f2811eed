"""`signalos-bridge`: register | run | doctor | status.

    signalos-bridge register --api-url https://api.signalos.example --code ABCD-EFGH
    signalos-bridge register --api-url ... --username trader@example.com --name "IC Markets live" --kind live
    signalos-bridge run
    signalos-bridge doctor
    signalos-bridge status
Errors are one clear line on stderr (exit code 2), never a stack trace; details go to the log file.
"""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import logging.handlers
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bridge_agent import __version__
from bridge_agent.api_client import ApiError, BridgeApiClient
from bridge_agent.brokers.base import BrokerAdapter, BrokerUnavailable, SymbolNotFound
from bridge_agent.config import (
    BridgeConfig,
    ConfigError,
    data_dir,
    default_config_path,
    load_config,
    write_config,
)
from bridge_agent.credentials import CredentialError, TokenStore
from bridge_agent.journal import Journal

log = logging.getLogger("bridge_agent")


class CliError(Exception):
    pass


def setup_logging(
    config: BridgeConfig | None, *, verbose: bool = False, console: bool = True, quiet_console: bool = False
) -> None:
    """Rotating file (when configured) + console; one-shot commands keep the console to warnings."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "signalos_bridge", False):  # ours from an earlier call; leave others alone
            root.removeHandler(handler)
    level = (
        logging.DEBUG
        if verbose
        else getattr(logging, (config.log_level if config else "INFO").upper(), logging.INFO)
    )
    root.setLevel(level)
    fmt = logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    if console:
        stream = logging.StreamHandler(sys.stderr)
        stream.setFormatter(fmt)
        if quiet_console and not verbose:
            stream.setLevel(logging.WARNING)
        stream.signalos_bridge = True  # type: ignore[attr-defined]
        root.addHandler(stream)
    if config is not None:
        path = config.resolved_log_file()
        path.parent.mkdir(parents=True, exist_ok=True)
        rotating = logging.handlers.RotatingFileHandler(
            path, maxBytes=5_000_000, backupCount=5, encoding="utf-8"
        )
        rotating.setFormatter(fmt)
        rotating.signalos_bridge = True  # type: ignore[attr-defined]
        root.addHandler(rotating)
    for noisy in ("botocore", "boto3", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


# ---- building the parts ------------------------------------------------------------------------------
def build_broker(config: BridgeConfig) -> BrokerAdapter:
    if config.broker == "paper":
        from bridge_agent.brokers.paper import PaperBroker

        settings = config.paper
        if settings.state_path is None:
            settings = settings.model_copy(
                update={"state_path": str(data_dir() / f"paper-{config.account_id}.json")}
            )
        return PaperBroker(settings, symbol_map=config.symbol_map)
    try:
        import MetaTrader5
    except ImportError:
        raise CliError(
            "the MetaTrader5 package is not installed (it exists for Windows only): "
            'run `pip install MetaTrader5` on the VPS, or set broker = "paper"'
        ) from None
    from bridge_agent.brokers.mt5 import Mt5Broker

    return Mt5Broker(
        MetaTrader5,
        settings=config.mt5,
        magic=config.magic,
        symbol_map=config.symbol_map,
        suffix=config.symbol_suffix,
    )


def load_token(config: BridgeConfig, store: TokenStore | None = None) -> str:
    if config.token:
        return config.token
    if not config.account_id:
        raise CliError("no account_id in the config: run `signalos-bridge register` first")
    token = (store or TokenStore(data_dir())).load(config.account_id)
    if not token:
        raise CliError(f"no bridge token stored for {config.account_id}: run `signalos-bridge register`")
    return token


def build_runner(
    config: BridgeConfig, *, broker: BrokerAdapter | None = None, api: BridgeApiClient | None = None
):
    from bridge_agent.queue import OrderQueue
    from bridge_agent.runner import Runner

    api = api or BridgeApiClient(config.api_url, load_token(config))
    broker = broker or build_broker(config)
    journal = Journal(config.resolved_journal_path())
    return Runner(config, api, broker, journal, OrderQueue(api.session))


# ---- commands --------------------------------------------------------------------------------------
def cmd_register(args: argparse.Namespace, config_path: Path) -> int:
    existing: dict[str, Any] = {}
    if config_path.exists():
        try:
            existing = load_config(config_path).model_dump()
        except ConfigError:
            existing = {}
    api_url = args.api_url or existing.get("api_url")
    if not api_url:
        raise CliError("--api-url is required (no config file yet)")
    api = BridgeApiClient(api_url)
    if args.code:
        answer = api.pair(args.code)
    else:
        username = args.username or input("SignalOS username: ").strip()
        password = args.password or getpass.getpass("SignalOS password: ")
        access = api.login(username, password)
        broker = args.broker or existing.get("broker") or "mt5"
        request = {
            "name": args.name or ("Paper account" if broker == "paper" else "MT5 account"),
            "kind": args.kind or ("paper" if broker == "paper" else "demo"),
            "broker_server": args.server,
            "login": args.login,
            "symbol_map": dict(m.split("=", 1) for m in args.map) if args.map else None,
            "symbol_suffix": args.symbol_suffix,
        }
        answer = api.register(access, request)
    account_id, token = answer.get("account_id"), answer.get("bridge_token")
    if not account_id or not token:
        raise CliError("the API answered without an account id or a bridge token")
    where = TokenStore(data_dir()).save(account_id, token)
    settings = {**existing, "api_url": api_url, "account_id": account_id}
    if args.broker:
        settings["broker"] = args.broker
    if args.login or args.server:
        settings["mt5"] = {**existing.get("mt5", {}), "login": args.login, "server": args.server}
    if args.map:
        settings["symbol_map"] = {**existing.get("symbol_map", {}), **dict(m.split("=", 1) for m in args.map)}
    if args.symbol_suffix:
        settings["symbol_suffix"] = args.symbol_suffix
    settings.pop("token", None)
    write_config(BridgeConfig.model_validate(settings), config_path)
    print(f"registered account {account_id}")
    print(f"bridge token stored in {where}")
    print(f"config written to {config_path}")
    print("next: `signalos-bridge doctor`, then `signalos-bridge run`")
    return 0


def cmd_run(args: argparse.Namespace, config: BridgeConfig) -> int:
    from bridge_agent.single_instance import AlreadyRunning, InstanceLock

    journal_path = config.resolved_journal_path()
    try:
        lock = InstanceLock(journal_path.with_name(journal_path.name + ".lock")).acquire()
    except AlreadyRunning as exc:
        raise CliError(str(exc)) from None
    try:
        return _run_locked(config)
    finally:
        lock.release()


def _run_locked(config: BridgeConfig) -> int:
    runner = build_runner(config)
    # SIGTERM (service managers, `kill`) stops as cleanly as Ctrl+C: the loop ends between steps.
    signal.signal(signal.SIGTERM, lambda signum, frame: runner.stop())
    try:
        runner.run()
    except KeyboardInterrupt:
        runner.stop()
    return 0


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


def run_doctor(
    config: BridgeConfig,
    broker: BrokerAdapter,
    api: BridgeApiClient,
    queue_factory: Callable[[], Any] | None = None,
    *,
    max_skew_seconds: float = 5.0,
) -> list[Check]:
    """Every check the agent needs to pass before it can trade; each says what to fix."""
    from bridge_agent.queue import OrderQueue
    from bridge_agent.runner import Runner

    checks: list[Check] = []
    try:
        broker.connect()
        checks.append(Check("terminal running", True, f"{broker.name} broker reachable"))
        account = broker.account()
    except BrokerUnavailable as exc:
        checks.append(Check("terminal running", False, str(exc)))
        account = None
    if account is not None:
        checks.append(
            Check(
                "terminal connected",
                account.terminal_connected,
                "connected to the trade server"
                if account.terminal_connected
                else "the terminal is not connected to the broker's server",
            )
        )
        checks.append(
            Check(
                "algo trading on",
                account.trade_allowed,
                "trading allowed"
                if account.trade_allowed
                else "press 'Algo Trading' in the MT5 toolbar (and check the account is not investor-only)",
            )
        )
        if broker.name == "mt5" and config.mt5.login:
            same = account.login == config.mt5.login
            checks.append(
                Check("account matches", same, f"terminal account {account.login}, config {config.mt5.login}")
            )
        for symbol in config.tracked_symbols():
            try:
                name = broker.resolve_symbol(symbol, config.symbol_map.get(symbol), config.symbol_suffix)
                spec = broker.symbol_spec(symbol, name)
                tradable = spec.trade_mode == 4
                checks.append(
                    Check(
                        f"symbol {symbol}",
                        tradable,
                        f"{name}: "
                        + ("tradable" if tradable else f"trade mode {spec.trade_mode} (not fully tradable)"),
                    )
                )
            except (SymbolNotFound, BrokerUnavailable) as exc:
                checks.append(Check(f"symbol {symbol}", False, str(exc)))
    try:
        session = api.session()
        checks.append(Check("API reachable", True, f"session for {session.account_id}"))
        same_account = session.account_id == config.account_id
        checks.append(Check("token account", same_account, f"token is for {session.account_id}"))
        queue = queue_factory() if queue_factory else OrderQueue(lambda: session)
        depth = queue.depth()
        checks.append(Check("queue reachable", True, f"{depth} orders waiting"))
    except (ApiError, Exception) as exc:  # any failure here is a finding, not a crash
        checks.append(Check("API and queue reachable", False, f"{type(exc).__name__}: {exc}"))
    if account is not None:
        try:
            runner = Runner(config, api, broker, Journal(":memory:"), queue=None)  # type: ignore[arg-type]
            heartbeat = runner.build_heartbeat()
            server_time = api.heartbeat(heartbeat)
            if server_time is None:
                checks.append(Check("clock in sync", False, "the API did not say its time"))
            else:
                skew = (heartbeat.sent_at - server_time).total_seconds()
                checks.append(
                    Check(
                        "clock in sync",
                        abs(skew) <= max_skew_seconds,
                        f"{skew:+.1f}s against the server"
                        + ("" if abs(skew) <= max_skew_seconds else ": turn on Windows time sync"),
                    )
                )
        except Exception as exc:
            checks.append(Check("heartbeat and clock", False, f"{type(exc).__name__}: {exc}"))
    return checks


def cmd_doctor(args: argparse.Namespace, config: BridgeConfig) -> int:
    broker = build_broker(config)
    api = BridgeApiClient(config.api_url, load_token(config), retries=0)
    checks = run_doctor(config, broker, api)
    for check in checks:
        print(f"[{'OK' if check.ok else 'FAIL':4}] {check.name}: {check.detail}")
    failed = [c for c in checks if not c.ok]
    print("all checks passed" if not failed else f"{len(failed)} check(s) failed")
    return 0 if not failed else 1


def cmd_status(args: argparse.Namespace, config: BridgeConfig) -> int:
    path = config.resolved_journal_path()
    if not path.exists():
        print(f"no journal yet at {path}: the agent has not run")
        return 0
    journal = Journal(path)
    summary = journal.summary()
    summary["account_id"] = config.account_id
    summary["broker"] = config.broker
    summary["open_orders"] = [
        {
            "order_id": o.order_id,
            "symbol": o.broker_symbol,
            "side": o.side,
            "volume": o.volume,
            "state": o.state,
            "ticket": o.ticket,
            "stop_loss": o.stop_loss,
            "take_profit": o.take_profit,
        }
        for o in journal.live_orders()
    ]
    journal.close()
    if args.json:
        print(json.dumps(summary, indent=2, default=str))
        return 0
    print(f"account {config.account_id} ({config.broker})")
    print(f"last heartbeat: {summary['last_heartbeat'] or 'never'}")
    print(f"last error: {summary['last_error'] or 'none'}")
    print(f"reports: {summary['reports'] or {}}  commands: {summary['commands'] or {}}")
    for o in summary["open_orders"]:
        print(
            f"  {o['state']:7} {o['side']:4} {o['volume']} {o['symbol']} ticket {o['ticket']} "
            f"SL {o['stop_loss']} TP {o['take_profit']} ({o['order_id']})"
        )
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="signalos-bridge", description="SignalOS bridge agent for MetaTrader 5")
    p.add_argument("--config", type=Path, default=None, help=f"config file (default {default_config_path()})")
    p.add_argument("-v", "--verbose", action="store_true")
    p.add_argument("--version", action="version", version=f"signalos-bridge {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    reg = sub.add_parser("register", help="pair this agent with a SignalOS trading account")
    reg.add_argument("--api-url")
    reg.add_argument("--code", help="one-time pairing code from the SignalOS app (XXXX-XXXX)")
    reg.add_argument("--username")
    reg.add_argument("--password", help="prompted for when omitted")
    reg.add_argument("--name", help="account name shown in SignalOS")
    reg.add_argument("--kind", choices=["live", "demo", "paper"])
    reg.add_argument("--broker", choices=["mt5", "paper"])
    reg.add_argument("--login", type=int, help="MT5 account number")
    reg.add_argument("--server", help="MT5 server name")
    reg.add_argument("--symbol-suffix")
    reg.add_argument(
        "--map", action="append", metavar="CANONICAL=BROKER", help="e.g. XAUUSD=GOLD (repeatable)"
    )
    sub.add_parser("run", help="execute orders until stopped")
    sub.add_parser(
        "doctor", help="check the terminal, the account, the symbols, the API, the queue and the clock"
    )
    st = sub.add_parser("status", help="what the journal knows: open orders, pending reports, last heartbeat")
    st.add_argument("--json", action="store_true")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    config_path = args.config or default_config_path()
    try:
        if args.command == "register":
            setup_logging(None, verbose=args.verbose, quiet_console=True)
            return cmd_register(args, config_path)
        config = load_config(args.config)
        setup_logging(config, verbose=args.verbose, console=args.command == "run" or args.verbose)
        handler = {"run": cmd_run, "doctor": cmd_doctor, "status": cmd_status}[args.command]
        return handler(args, config)
    except (ConfigError, CredentialError, CliError, ApiError) as exc:
        log.debug("command failed", exc_info=True)
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
