"""The run loop: receive -> execute -> report -> delete, plus monitoring and heartbeats.

Threads: a receiver thread long-polls the queue (20 s) and hands each batch to the main thread,
which does everything that touches the terminal and the journal (the MetaTrader5 module is not
documented as thread-safe). While the receiver waits, the main thread keeps monitoring positions
every `monitor_seconds` and heartbeating every `heartbeat_seconds`.

Failure handling: any network, API, queue or terminal error backs off exponentially (capped at
60 s) and the loop carries on. After the terminal was lost, the agent reconnects and reconciles
the journal with the terminal before it acts on anything. A message is deleted only after the
API accepted every report its command produced; otherwise it comes back and is answered from
the journal (never executed twice).
"""

from __future__ import annotations

import json
import logging
import queue as stdqueue
import random
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

from pydantic import ValidationError
from signalos.contracts.execution import ExecutionReport, Heartbeat, PositionSnapshot
from signalos.contracts.orders import OrderCommandEnvelope

from bridge_agent import __version__
from bridge_agent.api_client import ApiAuthError, ApiError, BridgeApiClient
from bridge_agent.brokers.base import BrokerAdapter, BrokerUnavailable, SymbolNotFound
from bridge_agent.config import BridgeConfig
from bridge_agent.executor import Executor
from bridge_agent.journal import Journal
from bridge_agent.monitor import Monitor
from bridge_agent.queue import QueueMessage, QueueUnavailable, VisibilityKeeper

log = logging.getLogger(__name__)


class QueueLike(Protocol):
    def receive(
        self, wait_seconds: int = 20, max_messages: int = 10, visibility_seconds: int = 60
    ) -> list[QueueMessage]: ...

    def delete(self, receipt_handle: str) -> None: ...

    def extend(self, receipt_handle: str, seconds: int) -> None: ...


class Backoff:
    """Capped exponential backoff with jitter: 1, 2, 4 ... 60 s."""

    def __init__(self, base: float = 1.0, cap: float = 60.0) -> None:
        self.base, self.cap, self.failures = base, cap, 0

    def next(self) -> float:
        delay = min(self.cap, self.base * 2**self.failures)
        self.failures += 1
        return delay * random.uniform(0.8, 1.0)

    def reset(self) -> None:
        self.failures = 0


class Runner:
    def __init__(
        self,
        config: BridgeConfig,
        api: BridgeApiClient,
        broker: BrokerAdapter,
        journal: Journal,
        queue: QueueLike,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.api = api
        self.broker = broker
        self.journal = journal
        self.queue = queue
        self._clock = clock
        self._monotonic = monotonic
        self.executor = Executor(broker, journal, config.account_id, clock=clock)
        self.monitor = Monitor(broker, journal, config.account_id, clock=clock)
        self.stop_event = threading.Event()
        self.backoff = Backoff()
        self.broker_ready = False
        self._next_heartbeat = 0.0
        self._inbox: stdqueue.Queue[tuple[float, list[QueueMessage]]] = stdqueue.Queue(maxsize=1)
        self._batch_done = threading.Event()
        self._receiver: threading.Thread | None = None
        self.processed = 0  # messages handled (tests, status)

    # ---- life cycle ---------------------------------------------------------------------------------
    def run(self) -> None:
        """Run until `stop()` (or Ctrl+C)."""
        log.info(
            "signalos-bridge %s starting for account %s on %s",
            __version__,
            self.config.account_id,
            self.broker.name,
        )
        self._receiver = threading.Thread(target=self._receive_loop, name="queue-receiver", daemon=True)
        self._receiver.start()
        try:
            while not self.stop_event.is_set():
                self.step()
        finally:
            self.stop_event.set()
            self._batch_done.set()
            # Not waiting out a long poll in flight: the daemon thread ends when it returns.
            self._receiver.join(timeout=2)
            try:
                self.broker.disconnect()
            except Exception as exc:  # shutting down anyway
                log.debug("disconnect: %s", exc)
            log.info("signalos-bridge stopped")

    def stop(self) -> None:
        self.stop_event.set()

    def _wait(self, seconds: float) -> None:
        self.stop_event.wait(seconds)

    def _note_error(self, message: str) -> None:
        self.journal.set_meta("last_error", {"at": self._clock().isoformat(), "error": message})

    def step(self, *, receive_wait: int = 0) -> None:
        """One iteration. With no receiver thread (tests), receives directly with `receive_wait`."""
        try:
            if not self.broker_ready:
                self.connect_and_reconcile()
            batch = self._next_batch(receive_wait)
            try:
                for message in batch:
                    if self.stop_event.is_set():
                        break
                    self.process_message(message)
            finally:
                self._batch_done.set()
            self.monitor.poll()
            self.flush_reports()
            if self._monotonic() >= self._next_heartbeat:
                self.heartbeat()
            self.backoff.reset()
        except BrokerUnavailable as exc:
            self.broker_ready = False
            delay = self.backoff.next()
            log.warning("terminal unavailable (%s); reconnecting in %.0fs", exc, delay)
            self._note_error(f"terminal: {exc}")
            self._wait(delay)
        except ApiAuthError as exc:
            delay = self.backoff.next()
            log.error("%s", exc)
            self._note_error(str(exc))
            self._wait(max(delay, 30.0))
        except (ApiError, QueueUnavailable) as exc:
            delay = self.backoff.next()
            log.warning("%s; retrying in %.0fs", exc, delay)
            self._note_error(str(exc))
            self._wait(delay)
        except Exception as exc:  # survive anything; the journal keeps the state consistent
            delay = self.backoff.next()
            log.exception("unexpected error; retrying in %.0fs", delay)
            self._note_error(f"{type(exc).__name__}: {exc}")
            self._wait(delay)

    def connect_and_reconcile(self) -> None:
        """(Re)connect the terminal, then settle the journal against it before acting on anything."""
        self.broker.connect()
        self.journal.prune()
        self.journal.add_reports(self.executor.reconcile(), source="command")
        self.monitor.poll()
        self.broker_ready = True
        self._next_heartbeat = 0.0  # heartbeat right away after a (re)start
        log.info("terminal ready; journal reconciled")

    # ---- queue --------------------------------------------------------------------------------------
    def _receive_loop(self) -> None:
        backoff = Backoff()
        while not self.stop_event.is_set():
            try:
                messages = self.queue.receive(
                    wait_seconds=self.config.poll_wait_seconds,
                    max_messages=10,
                    visibility_seconds=self.config.visibility_seconds,
                )
                backoff.reset()
            except Exception as exc:  # network, credentials, API: wait and try again
                delay = backoff.next()
                log.warning("queue receive failed (%s); retrying in %.0fs", exc, delay)
                self.stop_event.wait(delay)
                continue
            if not messages:
                continue
            self._batch_done.clear()
            self._inbox.put((self._monotonic(), messages))
            while not self._batch_done.wait(1.0):
                if self.stop_event.is_set():
                    return

    def _next_batch(self, receive_wait: int) -> list[QueueMessage]:
        if self._receiver is None:
            return self.queue.receive(
                wait_seconds=receive_wait, max_messages=10, visibility_seconds=self.config.visibility_seconds
            )
        try:
            received_at, messages = self._inbox.get(timeout=self.config.monitor_seconds)
        except stdqueue.Empty:
            return []
        if self._monotonic() - received_at > self.config.visibility_seconds * 0.8:
            # Held too long (the terminal was down): they are visible again and will come back.
            log.info("dropping a stale batch of %d messages; they will be redelivered", len(messages))
            return []
        return messages

    def process_message(self, message: QueueMessage) -> None:
        try:
            command = OrderCommandEnvelope.parse_body(message.body)
        except (ValidationError, ValueError) as exc:
            self._malformed(message, exc)
            return
        keeper = VisibilityKeeper(
            self.queue,
            message.receipt_handle,
            seconds=self.config.visibility_seconds,
            every=self.config.visibility_seconds / 3,
        )  # type: ignore[arg-type]
        with keeper:
            reports = self.executor.handle(command, message.body, redelivered=message.receive_count > 1)
        self.processed += 1
        self._deliver_and_delete(message, [r.report_id for r in reports])

    def _deliver_and_delete(self, message: QueueMessage, report_ids: list[str]) -> None:
        self.flush_reports()
        statuses = [self.journal.report_status(rid) for rid in report_ids]
        if report_ids and all(s in ("applied", "duplicate") for s in statuses):
            self.queue.delete(message.receipt_handle)
        else:
            log.info("keeping message %s until its reports are accepted (%s)", message.message_id, statuses)

    def _malformed(self, message: QueueMessage, exc: Exception) -> None:
        """A body that is not an order command: report it when it names itself, never execute it."""
        try:
            raw = json.loads(message.body)
        except ValueError:
            raw = None
        reason = f"malformed command: {str(exc)[:400]}"
        if isinstance(raw, dict) and isinstance(raw.get("command_id"), str):
            targets = (
                [raw["order_id"]]
                if isinstance(raw.get("order_id"), str)
                else [t for t in raw.get("target_order_ids") or [] if isinstance(t, str)]
            )
            reports = [
                ExecutionReport(
                    report_id=f"{raw['command_id']}:{oid}:rejected",
                    account_id=self.config.account_id,
                    command_id=raw["command_id"],
                    order_id=oid,
                    status="rejected",
                    reason=reason,
                    executed_at=self._clock(),
                )
                for oid in targets
            ]
            if reports:
                self.journal.add_reports(reports, source="command")
                log.error("rejected message %s: %s", message.message_id, reason)
                self._deliver_and_delete(message, [r.report_id for r in reports])
                return
        # Nothing to report against: leave it; after maxReceiveCount it lands in the dead-letter queue.
        log.error("unreadable message %s left for the dead-letter queue: %s", message.message_id, reason)

    # ---- reports and heartbeats ---------------------------------------------------------------------
    def flush_reports(self) -> int:
        """POST the outbox; returns how many reports the API acknowledged."""
        delivered = 0
        while True:
            pending = self.journal.pending_reports(limit=100)
            if not pending:
                return delivered
            results = self.api.post_reports(pending)
            self.journal.mark_reports(results)
            for res in results:
                if res.accepted:
                    delivered += 1
                else:
                    log.error("the API rejected report %s: %s", res.report_id, res.error)
            answered = {r.report_id for r in results}
            if not answered & {r.report_id for r in pending}:
                log.warning("the API answered no result for %d reports", len(pending))
                return delivered

    def build_heartbeat(self) -> Heartbeat:
        account = self.broker.account()
        tags = self.journal.tags()
        positions = [
            PositionSnapshot(
                ticket=p.ticket,
                symbol=p.symbol,
                side=p.side,
                volume=p.volume,
                price_open=p.price_open,
                stop_loss=p.stop_loss,
                take_profit=p.take_profit,
                profit=p.profit,
                order_id=tags.get(p.comment),
            )
            for p in self.broker.positions()
        ][:1000]
        canonical = set(self.config.tracked_symbols()) | {o.symbol for o in self.journal.live_orders()}
        specs = []
        for symbol in sorted(canonical)[:500]:
            try:
                broker_symbol = self.broker.resolve_symbol(
                    symbol, self.config.symbol_map.get(symbol), self.config.symbol_suffix
                )
                specs.append(self.broker.symbol_spec(symbol, broker_symbol))
            except SymbolNotFound as exc:
                log.warning("heartbeat: %s", exc)
        return Heartbeat(
            account_id=self.config.account_id,
            sent_at=self._clock(),
            agent_version=__version__,
            broker=self.broker.name,
            login=account.login,
            currency=account.currency,  # type: ignore[arg-type]
            balance=account.balance,
            equity=account.equity,
            margin_free=account.margin_free,
            leverage=account.leverage,
            terminal_connected=account.terminal_connected,
            trade_allowed=account.trade_allowed,
            positions=positions,
            symbols=specs,
        )

    def heartbeat(self) -> None:
        heartbeat = self.build_heartbeat()
        try:
            server_time = self.api.heartbeat(heartbeat)
        finally:
            # Try again soon after a failure, on schedule after a success.
            self._next_heartbeat = self._monotonic() + self.config.heartbeat_seconds
        skew = (heartbeat.sent_at - server_time).total_seconds() if server_time else None
        self.journal.set_meta(
            "last_heartbeat",
            {
                "at": heartbeat.sent_at.isoformat(),
                "clock_skew_seconds": skew,
                "balance": heartbeat.balance,
                "equity": heartbeat.equity,
            },
        )
