"""Command -> journal -> broker -> reports, at most once per command.

Order of events for an OpenOrder (the "never twice" pattern, shared/reference/mt5.md):
  1. already `done` in the journal (a redelivered message): return its stored reports, send nothing;
  2. `sending`/`unknown` (a crash or an unknown outcome earlier): look the tag up on the terminal;
     found -> record what is there and report it; not found -> the earlier attempt left nothing;
  3. expired -> report `expired`, send nothing;
  4. journal `sending` (committed, fsync'd), THEN the broker call, THEN the result, the order row
     and the reports in one transaction.
A BrokerUnavailable from the broker leaves the command in `sending`: the runner reconnects and
reconciles before anything else is sent. Report ids are deterministic (`<command_id>:<status>`,
`<order_id>:closed`), so a report regenerated after a crash is the same report.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from signalos.contracts.execution import CloseReason, ExecutionReport
from signalos.contracts.orders import ManageCommand, OpenOrder, OrderCommandEnvelope, order_tag

from bridge_agent.brokers.base import BrokerAdapter, ManageResult, OpenResult, TicketState
from bridge_agent.journal import CommandRecord, Journal, OrderRecord

FOUND_BY_TAG = "found on the terminal by its tag"
log = logging.getLogger(__name__)

Command = OpenOrder | ManageCommand


def open_report_id(command_id: str, status: str) -> str:
    return f"{command_id}:{status}"


def close_report_id(order_id: str) -> str:
    """A position closes once, whoever notices (a command or the monitor): one id for that event."""
    return f"{order_id}:closed"



class Executor:
    def __init__(
        self,
        broker: BrokerAdapter,
        journal: Journal,
        account_id: str,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.broker = broker
        self.journal = journal
        self.account_id = account_id
        self._clock = clock

    # ---- entry points -------------------------------------------------------------------------------
    def handle(
        self, command: Command, body: str | None = None, *, redelivered: bool = False
    ) -> list[ExecutionReport]:
        """Execute `command` unless the journal shows it was; return the reports it produced.

        `redelivered` (the queue's receive count > 1) with no journal record means another agent or
        a lost journal may have sent it: the terminal is searched by tag before anything is sent.
        """
        record = self.journal.command(command.command_id)
        if record is not None and record.state == "done":
            log.info("command %s already executed: answering from the journal", command.command_id)
            return self._stored(command.command_id)
        body = body or command.model_dump_json()
        if command.account_id != self.account_id:
            self._receive(command, body)
            return self._refuse(
                command, f"command for account {command.account_id}, this agent runs {self.account_id}"
            )
        if isinstance(command, OpenOrder):
            return self._open(command, record, body, redelivered=redelivered)
        self._receive(command, body)
        return self._manage(command)

    def _receive(self, command: Command, body: str) -> None:
        order_id = command.order_id if isinstance(command, OpenOrder) else None
        self.journal.record_received(command.command_id, command.type, order_id, body)

    def reconcile(self) -> list[ExecutionReport]:
        """Settle every command whose outcome the journal does not know, from what the terminal shows.

        Called at start-up and after the terminal came back. Commands not found stay unresolved: their
        queue message was not deleted, and on redelivery `handle` looks them up again before sending.
        """
        reports: list[ExecutionReport] = []
        for record in self.journal.unresolved_commands():
            try:
                command = OrderCommandEnvelope.parse_body(record.body)
            except ValueError:
                log.error("journal holds an unreadable command %s", record.command_id)
                continue
            if not isinstance(command, OpenOrder):
                continue  # manage actions re-check their own state on redelivery
            found = self.broker.find_by_tag(order_tag(command.order_id), None)
            if found is not None:
                log.warning(
                    "reconcile: %s is on the terminal (%s): recording it", command.order_id, found.state
                )
                reports += self._finish_open(command, found.as_open_result(FOUND_BY_TAG))
            else:
                log.info(
                    "reconcile: %s not on the terminal: it will be sent when redelivered", command.order_id
                )
        return reports

    # ---- open ---------------------------------------------------------------------------------------
    def _stored(self, command_id: str) -> list[ExecutionReport]:
        return [report for report, _status in self.journal.command_reports(command_id)]

    def _open(
        self, command: OpenOrder, record: CommandRecord | None, body: str, *, redelivered: bool = False
    ) -> list[ExecutionReport]:
        tag = order_tag(command.order_id)
        if record is None and redelivered:
            found = self.broker.find_by_tag(tag, command.broker_symbol)
            if found is not None:
                log.warning("%s: redelivered, unknown to this journal, already on the terminal", tag)
                self._receive(command, body)
                return self._finish_open(command, found.as_open_result(FOUND_BY_TAG))
        if record is not None and record.state in ("sending", "unknown"):
            found = self.broker.find_by_tag(tag, command.broker_symbol)
            if found is not None:
                log.warning("%s: found on the terminal after an interrupted send: not sending again", tag)
                return self._finish_open(command, found.as_open_result(FOUND_BY_TAG))
            if record.state == "unknown":
                # A `failed` report already told the cloud the outcome was unknown; do not send after it.
                return self._stored(command.command_id)
        now = self._clock()
        if command.is_expired(now):
            late = (now - command.expires_at).total_seconds()
            result = OpenResult(status="rejected", reason=f"expired {late:.0f}s before it could be executed")
            self._receive(command, body)
            return self._finish_open(command, result, expired=True)
        # The intent, durable (one fsync'd commit) before the broker is called.
        with self.journal.transaction():
            self._receive(command, body)
            self.journal.mark_sending(command.command_id)
        result = self.broker.execute_open(command)
        return self._finish_open(command, result)

    def _finish_open(
        self, command: OpenOrder, result: OpenResult, *, expired: bool = False
    ) -> list[ExecutionReport]:
        status = "expired" if expired else result.status
        now = self._clock()
        report = ExecutionReport(
            report_id=open_report_id(command.command_id, status),
            account_id=self.account_id,
            command_id=command.command_id,
            order_id=command.order_id,
            status=status,
            reason=_short(result.reason),
            retcode=result.retcode,
            broker_symbol=result.broker_symbol,
            side=command.side,
            ticket=result.ticket,
            deal=result.deal,
            volume=result.volume,
            price=result.price,
            stop_loss=result.stop_loss,
            take_profit=result.take_profit,
            executed_at=now,
        )
        with self.journal.transaction():
            if result.status in ("filled", "placed") and not expired:
                self.journal.upsert_order(
                    OrderRecord(
                        order_id=command.order_id,
                        command_id=command.command_id,
                        group_id=command.group_id,
                        leg=command.leg,
                        symbol=command.symbol,
                        broker_symbol=result.broker_symbol or command.symbol,
                        side=command.side,
                        tag=order_tag(command.order_id),
                        state="open" if result.status == "filled" else "pending",
                        ticket=result.ticket,
                        volume=result.volume,
                        price=result.price,
                        stop_loss=result.stop_loss,
                        take_profit=result.take_profit,
                        management=command.management.model_dump_json(),
                        opened_at=now.isoformat(),
                    )
                )
            self.journal.add_reports([report], source="command")
            self.journal.set_command_state(
                command.command_id, "unknown" if result.unknown else "done", note=result.reason
            )
        log.info(
            "%s %s: %s %s",
            command.order_id,
            status,
            result.broker_symbol or command.symbol,
            result.reason or "",
        )
        return self._stored(command.command_id)

    def _refuse(self, command: Command, reason: str) -> list[ExecutionReport]:
        targets = [command.order_id] if isinstance(command, OpenOrder) else command.target_order_ids
        reports = [
            ExecutionReport(
                report_id=f"{command.command_id}:{oid}:rejected",
                account_id=self.account_id,
                command_id=command.command_id,
                order_id=oid,
                status="rejected",
                reason=_short(reason),
                executed_at=self._clock(),
            )
            for oid in targets
        ]
        with self.journal.transaction():
            self.journal.add_reports(reports, source="command")
            self.journal.set_command_state(command.command_id, "done", note=reason)
        return self._stored(command.command_id)

    # ---- manage -------------------------------------------------------------------------------------
    def _manage(self, command: ManageCommand) -> list[ExecutionReport]:
        now = self._clock()
        expired = command.is_expired(now)
        for order_id in command.target_order_ids:
            previous = self.journal.action_state(command.command_id, order_id)
            if previous == "done":
                continue
            if expired:
                self._record_action(
                    command,
                    order_id,
                    [
                        self._manage_report(
                            command,
                            order_id,
                            "expired",
                            reason="the command expired before it could be applied",
                        )
                    ],
                )
                continue
            order = self.journal.order(order_id)
            if order is None:
                self._record_action(
                    command,
                    order_id,
                    [
                        self._manage_report(
                            command, order_id, "rejected", reason="no such order was executed on this account"
                        )
                    ],
                )
                continue
            if order.state not in ("pending", "open"):
                self._record_action(
                    command,
                    order_id,
                    [
                        self._manage_report(
                            command, order_id, "rejected", reason=f"the order is already {order.state}"
                        )
                    ],
                )
                continue
            self.journal.set_action_state(command.command_id, order_id, "sending")
            self._apply(command, order, resumed=previous == "sending")
        with self.journal.transaction():
            self.journal.set_command_state(command.command_id, "done")
        return self._stored(command.command_id)

    def _apply(self, command: ManageCommand, order: OrderRecord, *, resumed: bool) -> None:
        tag = order_tag(command.command_id)
        assert order.ticket is not None
        action = command.action
        pending = order.state == "pending"
        if resumed and action in ("close", "close_partial") and not pending:
            # Interrupted mid-close: closing again would close more than asked. Did it happen?
            done = self.broker.find_close(order.ticket, tag)
            if done is not None:
                self._record_result(command, order, done)
                return
        if action == "modify":
            result = self.broker.modify(order.ticket, command.stop_loss, command.take_profit, tag)
        elif action == "breakeven":
            if pending:
                result = ManageResult(status="rejected", reason="the order has not been filled yet")
            else:
                result = self.broker.breakeven(order.ticket, tag)
        elif action == "cancel" or (action == "close" and pending):
            if pending:
                result = self.broker.cancel(order.ticket, tag)
            else:
                result = ManageResult(
                    status="rejected", reason="the order was already filled: close it instead"
                )
        elif action == "close_partial" and pending:
            result = ManageResult(status="rejected", reason="the order has not been filled yet")
        else:
            volume = None if action == "close" else round((order.volume or 0) * (command.fraction or 1), 8)
            result = self.broker.close(order.ticket, volume, tag)
        self._record_result(command, order, result)

    def _record_result(self, command: ManageCommand, order: OrderRecord, result: ManageResult) -> None:
        changes: dict = {}
        if result.status == "closed":
            state = (
                self.broker.track(order.ticket, pending=False)
                if order.ticket
                else TicketState(state="missing")
            )
            report = closed_report(
                self.account_id, command.command_id, order, state, result, "command", self._clock()
            )
            changes = {"state": "closed", "close_reason": "command", "closed_at": self._clock().isoformat()}
        elif result.status == "cancelled":
            report = self._manage_report(command, order.order_id, "cancelled", result=result)
            report = report.model_copy(update={"report_id": f"{order.order_id}:cancelled"})
            changes = {"state": "cancelled", "closed_at": self._clock().isoformat()}
        else:
            report = self._manage_report(command, order.order_id, result.status, result=result, order=order)
            if result.status == "modified":
                changes = {"stop_loss": result.stop_loss, "take_profit": result.take_profit}
            elif result.status == "partially_closed" and result.volume:
                changes = {"volume": round((order.volume or 0) - result.volume, 8)}
        with self.journal.transaction():
            if changes:
                self.journal.update_order(order.order_id, **changes)
            self._record_action(command, order.order_id, [report])

    def _record_action(self, command: ManageCommand, order_id: str, reports: list[ExecutionReport]) -> None:
        with self.journal.transaction():
            self.journal.add_reports(reports, source="command")
            self.journal.set_action_state(command.command_id, order_id, "done")

    def _manage_report(
        self,
        command: ManageCommand,
        order_id: str,
        status: str,
        *,
        reason: str | None = None,
        result: ManageResult | None = None,
        order: OrderRecord | None = None,
    ) -> ExecutionReport:
        return ExecutionReport(
            report_id=f"{command.command_id}:{order_id}:{status}",
            account_id=self.account_id,
            command_id=command.command_id,
            order_id=order_id,
            status=status,  # type: ignore[arg-type]
            reason=_short(reason or (result.reason if result else None)),
            retcode=result.retcode if result else None,
            broker_symbol=order.broker_symbol if order else None,
            side=order.side if order else None,  # type: ignore[arg-type]
            ticket=result.ticket if result else None,
            deal=result.deal if result else None,
            volume=result.volume if result else None,
            price=result.price if result else None,
            stop_loss=result.stop_loss if result else None,
            take_profit=result.take_profit if result else None,
            profit=result.profit if result else None,
            commission=result.commission if result else None,
            swap=result.swap if result else None,
            executed_at=self._clock(),
        )


def _short(reason: str | None) -> str | None:
    """Reasons fit the report's 500 characters (a broker comment can be anything)."""
    return reason[:500] if reason else None


def closed_report(
    account_id: str,
    command_id: str,
    order: OrderRecord,
    state: TicketState,
    result: ManageResult | None,
    default_reason: CloseReason,
    now: datetime,
) -> ExecutionReport:
    """The one `closed` report of a position, from the terminal's deals when it has them."""
    close = state.close
    reason: CloseReason = close.reason if close else default_reason
    if reason == "sl" and order.be_done:
        reason = "breakeven"  # the stop that hit was the one moved to entry after TP1
    if default_reason == "command":
        reason = "command"
    return ExecutionReport(
        report_id=close_report_id(order.order_id),
        account_id=account_id,
        command_id=command_id,
        order_id=order.order_id,
        status="closed",
        broker_symbol=order.broker_symbol,
        side=order.side,  # type: ignore[arg-type]
        ticket=order.ticket,
        deal=close.deal if close else (result.deal if result else None),
        volume=close.volume if close else (result.volume if result else order.volume),
        price=close.price if close else (result.price if result else None),
        stop_loss=order.stop_loss,
        take_profit=order.take_profit,
        profit=close.profit if close else (result.profit if result else None),
        commission=close.commission if close else (result.commission if result else None),
        swap=close.swap if close else (result.swap if result else None),
        close_reason=reason,
        executed_at=(close.time if close and close.time else now),
    )
