"""The durable local journal (SQLite, WAL, synchronous=FULL): the agent's memory across crashes.

What makes "never the same order twice" hold:
  - a command is recorded when received; its state becomes `sending` (committed and fsync'd)
    BEFORE order_send is called, and `done` together with its result and reports in one
    transaction after;
  - a command found in `sending` or `unknown` at start-up (or after an unknown outcome) is
    reconciled with the terminal by its tag before anything is sent again;
  - reports wait in an outbox until the API acknowledges them; a redelivered message for a
    `done` command is answered from the outbox (same report_id), never executed again.

Tables: commands (every command seen), orders (one per OpenOrder that reached the broker: the
positions the monitor watches), actions (one per manage command and target order), reports
(the outbox), meta (small key/values: last heartbeat, last error).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from signalos.contracts.execution import ExecutionReport
from signalos.contracts.orders import TradeManagement

from bridge_agent.api_client import ReportResult

SCHEMA = """
CREATE TABLE IF NOT EXISTS commands (
    command_id  TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,            -- open | manage
    order_id    TEXT,
    body        TEXT NOT NULL,            -- the command as received (JSON)
    state       TEXT NOT NULL,            -- received | sending | done | unknown
    attempts    INTEGER NOT NULL DEFAULT 0,
    note        TEXT,
    received_at TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS orders (
    order_id      TEXT PRIMARY KEY,
    command_id    TEXT NOT NULL,
    group_id      TEXT NOT NULL,
    leg           INTEGER NOT NULL,
    symbol        TEXT NOT NULL,
    broker_symbol TEXT NOT NULL,
    side          TEXT NOT NULL,
    tag           TEXT NOT NULL,
    state         TEXT NOT NULL,          -- pending | open | closed | cancelled | expired
    ticket        INTEGER,
    volume        REAL,
    price         REAL,
    stop_loss     REAL,
    take_profit   REAL,
    management    TEXT NOT NULL DEFAULT '{}',
    be_done       INTEGER NOT NULL DEFAULT 0,
    close_reason  TEXT,
    opened_at     TEXT,
    closed_at     TEXT,
    updated_at    TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS orders_state ON orders(state);
CREATE INDEX IF NOT EXISTS orders_group ON orders(group_id);
CREATE TABLE IF NOT EXISTS actions (
    command_id TEXT NOT NULL,
    order_id   TEXT NOT NULL,
    state      TEXT NOT NULL,             -- sending | done
    updated_at TEXT NOT NULL,
    PRIMARY KEY (command_id, order_id)
);
CREATE TABLE IF NOT EXISTS reports (
    report_id    TEXT PRIMARY KEY,
    command_id   TEXT NOT NULL,
    order_id     TEXT NOT NULL,
    source       TEXT NOT NULL,           -- command | monitor
    body         TEXT NOT NULL,
    status       TEXT NOT NULL DEFAULT 'pending',   -- pending | applied | duplicate | rejected
    error        TEXT,
    created_at   TEXT NOT NULL,
    delivered_at TEXT
);
CREATE INDEX IF NOT EXISTS reports_status ON reports(status);
CREATE INDEX IF NOT EXISTS reports_command ON reports(command_id);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def _now() -> str:
    return datetime.now(UTC).isoformat()


@dataclass
class CommandRecord:
    command_id: str
    kind: str
    order_id: str | None
    body: str
    state: str
    attempts: int
    note: str | None
    received_at: str
    updated_at: str


@dataclass
class OrderRecord:
    order_id: str
    command_id: str
    group_id: str
    leg: int
    symbol: str
    broker_symbol: str
    side: str
    tag: str
    state: str
    ticket: int | None = None
    volume: float | None = None
    price: float | None = None
    stop_loss: float | None = None
    take_profit: float | None = None
    management: str = "{}"
    be_done: int = 0
    close_reason: str | None = None
    opened_at: str | None = None
    closed_at: str | None = None
    updated_at: str = ""

    @property
    def trade_management(self) -> TradeManagement:
        return TradeManagement.model_validate_json(self.management or "{}")


_ORDER_COLUMNS = [f.name for f in fields(OrderRecord)]


class Journal:
    def __init__(self, path: Path | str, *, durable: bool = True) -> None:
        """`durable=False` skips fsync (benchmarks use it to show what the fsyncs cost; never the agent)."""
        self.path = Path(path)
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=30)
        self._conn.row_factory = sqlite3.Row
        self._lock = threading.RLock()
        self._depth = 0
        self._conn.execute("PRAGMA journal_mode=WAL")
        # FULL: every commit is fsync'd, so an intent recorded before order_send survives a power cut.
        self._conn.execute("PRAGMA synchronous=FULL" if durable else "PRAGMA synchronous=OFF")
        self._conn.execute("PRAGMA foreign_keys=ON")
        self._conn.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic unit; nested uses join the outer one."""
        with self._lock:
            if self._depth == 0:
                self._conn.execute("BEGIN IMMEDIATE")
            self._depth += 1
            try:
                yield self._conn
            except BaseException:
                self._depth -= 1
                if self._depth == 0:
                    self._conn.execute("ROLLBACK")
                raise
            self._depth -= 1
            if self._depth == 0:
                self._conn.execute("COMMIT")

    def _one(self, sql: str, *args: Any) -> sqlite3.Row | None:
        with self._lock:
            return self._conn.execute(sql, args).fetchone()

    def _all(self, sql: str, *args: Any) -> list[sqlite3.Row]:
        with self._lock:
            return self._conn.execute(sql, args).fetchall()

    # ---- commands --------------------------------------------------------------------------------
    def command(self, command_id: str) -> CommandRecord | None:
        row = self._one("SELECT * FROM commands WHERE command_id = ?", command_id)
        return CommandRecord(**dict(row)) if row else None

    def record_received(self, command_id: str, kind: str, order_id: str | None, body: str) -> CommandRecord:
        now = _now()
        with self.transaction() as tx:
            tx.execute(
                "INSERT OR IGNORE INTO commands"
                " (command_id, kind, order_id, body, state, received_at, updated_at)"
                " VALUES (?, ?, ?, ?, 'received', ?, ?)",
                (command_id, kind, order_id, body, now, now),
            )
        record = self.command(command_id)
        assert record is not None
        return record

    def set_command_state(
        self, command_id: str, state: str, note: str | None = None, *, attempt: bool = False
    ) -> None:
        with self.transaction() as tx:
            tx.execute(
                "UPDATE commands SET state = ?, note = COALESCE(?, note), attempts = attempts + ?,"
                " updated_at = ?"
                " WHERE command_id = ?",
                (state, note, 1 if attempt else 0, _now(), command_id),
            )

    def mark_sending(self, command_id: str) -> None:
        """The intent, durable before the broker is called."""
        self.set_command_state(command_id, "sending", attempt=True)

    def unresolved_commands(self) -> list[CommandRecord]:
        rows = self._all("SELECT * FROM commands WHERE state IN ('sending', 'unknown') ORDER BY received_at")
        return [CommandRecord(**dict(r)) for r in rows]

    # ---- orders ----------------------------------------------------------------------------------
    def upsert_order(self, order: OrderRecord) -> None:
        order.updated_at = _now()
        values = [getattr(order, c) for c in _ORDER_COLUMNS]
        placeholders = ", ".join("?" for _ in _ORDER_COLUMNS)
        with self.transaction() as tx:
            tx.execute(
                f"INSERT OR REPLACE INTO orders ({', '.join(_ORDER_COLUMNS)}) VALUES ({placeholders})", values
            )

    def update_order(self, order_id: str, **changes: Any) -> None:
        unknown = set(changes) - set(_ORDER_COLUMNS)
        if unknown:
            raise ValueError(f"unknown order fields {unknown}")
        changes["updated_at"] = _now()
        assignments = ", ".join(f"{k} = ?" for k in changes)
        with self.transaction() as tx:
            tx.execute(f"UPDATE orders SET {assignments} WHERE order_id = ?", [*changes.values(), order_id])

    def order(self, order_id: str) -> OrderRecord | None:
        row = self._one("SELECT * FROM orders WHERE order_id = ?", order_id)
        return OrderRecord(**dict(row)) if row else None

    def order_by_ticket(self, ticket: int) -> OrderRecord | None:
        row = self._one("SELECT * FROM orders WHERE ticket = ?", ticket)
        return OrderRecord(**dict(row)) if row else None

    def live_orders(self) -> list[OrderRecord]:
        rows = self._all(
            "SELECT * FROM orders WHERE state IN ('pending', 'open') ORDER BY opened_at, order_id"
        )
        return [OrderRecord(**dict(r)) for r in rows]

    def group_orders(self, group_id: str) -> list[OrderRecord]:
        rows = self._all("SELECT * FROM orders WHERE group_id = ? ORDER BY leg", group_id)
        return [OrderRecord(**dict(r)) for r in rows]

    def order_stats(self) -> tuple[int, str | None]:
        """How many orders reached the broker, and when the latest was recorded (one cheap query)."""
        row = self._one("SELECT COUNT(*) AS n, MAX(opened_at) AS latest FROM orders")
        return (row["n"], row["latest"]) if row else (0, None)

    def tags(self) -> dict[str, str]:
        """tag -> order_id of the orders still live (heartbeats name positions by SignalOS order id)."""
        return {
            r["tag"]: r["order_id"]
            for r in self._all("SELECT tag, order_id FROM orders WHERE state IN ('pending', 'open')")
        }

    # ---- manage actions --------------------------------------------------------------------------
    def action_state(self, command_id: str, order_id: str) -> str | None:
        row = self._one(
            "SELECT state FROM actions WHERE command_id = ? AND order_id = ?", command_id, order_id
        )
        return row["state"] if row else None

    def set_action_state(self, command_id: str, order_id: str, state: str) -> None:
        with self.transaction() as tx:
            tx.execute(
                "INSERT INTO actions (command_id, order_id, state, updated_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT(command_id, order_id)"
                " DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
                (command_id, order_id, state, _now()),
            )

    # ---- reports (the outbox) --------------------------------------------------------------------
    def add_reports(self, reports: Iterable[ExecutionReport], source: str) -> None:
        now = _now()
        with self.transaction() as tx:
            for r in reports:
                tx.execute(
                    "INSERT OR IGNORE INTO reports"
                    " (report_id, command_id, order_id, source, body, created_at)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (r.report_id, r.command_id, r.order_id, source, r.model_dump_json(), now),
                )

    def report(self, report_id: str) -> ExecutionReport | None:
        row = self._one("SELECT body FROM reports WHERE report_id = ?", report_id)
        return ExecutionReport.model_validate_json(row["body"]) if row else None

    def report_status(self, report_id: str) -> str | None:
        row = self._one("SELECT status FROM reports WHERE report_id = ?", report_id)
        return row["status"] if row else None

    def pending_reports(self, limit: int = 100) -> list[ExecutionReport]:
        rows = self._all(
            "SELECT body FROM reports WHERE status = 'pending' ORDER BY created_at, rowid LIMIT ?", limit
        )
        return [ExecutionReport.model_validate_json(r["body"]) for r in rows]

    def command_reports(self, command_id: str) -> list[tuple[ExecutionReport, str]]:
        """The reports a command produced (not the monitor's later ones), with their delivery status."""
        rows = self._all(
            "SELECT body, status FROM reports WHERE command_id = ? AND source = 'command'"
            " ORDER BY created_at, rowid",
            command_id,
        )
        return [(ExecutionReport.model_validate_json(r["body"]), r["status"]) for r in rows]

    def mark_reports(self, results: Iterable[ReportResult]) -> None:
        now = _now()
        with self.transaction() as tx:
            for res in results:
                tx.execute(
                    "UPDATE reports SET status = ?, error = ?, delivered_at = ? WHERE report_id = ?",
                    (res.status, res.error, now, res.report_id),
                )

    # ---- meta and status -------------------------------------------------------------------------
    def set_meta(self, key: str, value: Any) -> None:
        with self.transaction() as tx:
            tx.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, json.dumps(value)))

    def get_meta(self, key: str, default: Any = None) -> Any:
        row = self._one("SELECT value FROM meta WHERE key = ?", key)
        return json.loads(row["value"]) if row else default

    def prune(self, older_than_days: int = 30) -> int:
        """Forget what can no longer matter: delivered reports, finished commands and closed orders.

        Never touches a command whose outcome is unknown, an order still live, or an undelivered report.
        """
        cutoff = (datetime.now(UTC) - timedelta(days=older_than_days)).isoformat()
        with self.transaction() as tx:
            removed = tx.execute(
                "DELETE FROM reports WHERE status != 'pending' AND created_at < ?", (cutoff,)
            ).rowcount
            removed += tx.execute(
                "DELETE FROM orders WHERE state NOT IN ('pending', 'open') AND updated_at < ?", (cutoff,)
            ).rowcount
            removed += tx.execute(
                "DELETE FROM commands WHERE state = 'done' AND updated_at < ?"
                " AND command_id NOT IN (SELECT command_id FROM reports)"
                " AND command_id NOT IN (SELECT command_id FROM orders)",
                (cutoff,),
            ).rowcount
            removed += tx.execute("DELETE FROM actions WHERE updated_at < ?", (cutoff,)).rowcount
        return removed

    def summary(self) -> dict[str, Any]:
        def counts(table: str, column: str = "state") -> dict[str, int]:
            return {
                r[0]: r[1] for r in self._all(f"SELECT {column}, COUNT(*) FROM {table} GROUP BY {column}")
            }

        return {
            "commands": counts("commands"),
            "orders": counts("orders"),
            "reports": counts("reports", "status"),
            "last_heartbeat": self.get_meta("last_heartbeat"),
            "last_error": self.get_meta("last_error"),
        }
