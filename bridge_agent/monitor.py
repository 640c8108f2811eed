"""Watches what the agent opened: pending orders that trigger or go away, positions that close.

Closes come from the terminal's deal history (TP, SL, stop-out, manual, by command) and are
reported once as `closed` with profit, commission and swap. The order's trade management is
applied here, locally, so it works while the cloud is unreachable: stop loss to entry on the
group's other legs once TP1 is reached, and a trailing stop when the order asks for one.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime

from signalos.contracts.execution import ExecutionReport

from bridge_agent.brokers.base import BrokerAdapter, BrokerUnavailable
from bridge_agent.executor import closed_report, open_report_id
from bridge_agent.journal import Journal, OrderRecord

log = logging.getLogger(__name__)


class Monitor:
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

    def poll(self) -> list[ExecutionReport]:
        """One pass: new reports are stored in the journal's outbox and returned."""
        reports: list[ExecutionReport] = []
        for order in self.journal.live_orders():
            reports += self._follow(order)
        reports += self._manage_trades()
        if reports:
            self.journal.add_reports(reports, source="monitor")
        return reports

    # ---- order and position life cycle --------------------------------------------------------------
    def _report(self, order: OrderRecord, status: str, report_id: str, **fields) -> ExecutionReport:
        return ExecutionReport(
            report_id=report_id,
            account_id=self.account_id,
            command_id=order.command_id,
            order_id=order.order_id,
            status=status,  # type: ignore[arg-type]
            broker_symbol=order.broker_symbol,
            side=order.side,  # type: ignore[arg-type]
            ticket=order.ticket,
            executed_at=fields.pop("executed_at", None) or self._clock(),
            **fields,
        )

    def _follow(self, order: OrderRecord) -> list[ExecutionReport]:
        assert order.ticket is not None
        state = self.broker.track(order.ticket, pending=order.state == "pending")
        reports: list[ExecutionReport] = []
        if order.state == "pending":
            if state.state == "pending" or state.state == "missing":
                return reports
            if state.state in ("cancelled", "expired"):
                status = "cancelled" if state.state == "cancelled" else "expired"
                reports.append(
                    self._report(
                        order,
                        status,
                        f"{order.order_id}:{status}",
                        reason=f"the pending order was {state.state} on the terminal",
                    )
                )
                self.journal.update_order(
                    order.order_id, state=state.state, closed_at=self._clock().isoformat()
                )
                return reports
            # Triggered: the pending order became a position.
            reports.append(
                self._report(
                    order,
                    "filled",
                    open_report_id(order.command_id, "filled"),
                    price=state.fill_price,
                    volume=state.fill_volume,
                    deal=state.fill_deal,
                    stop_loss=order.stop_loss,
                    take_profit=order.take_profit,
                    reason="pending order triggered",
                )
            )
            self.journal.update_order(
                order.order_id, state="open", price=state.fill_price, volume=state.fill_volume or order.volume
            )
            order = self.journal.order(order.order_id) or order
        if state.state == "open" and state.position is not None:
            p = state.position
            if (p.stop_loss, p.take_profit, p.volume) != (order.stop_loss, order.take_profit, order.volume):
                # Changed by hand in the terminal (or a partial close): keep the journal truthful.
                self.journal.update_order(
                    order.order_id, stop_loss=p.stop_loss, take_profit=p.take_profit, volume=p.volume
                )
        elif state.state == "closed":
            report = closed_report(
                self.account_id, order.command_id, order, state, None, "unknown", self._clock()
            )
            reports.append(report)
            self.journal.update_order(
                order.order_id,
                state="closed",
                close_reason=report.close_reason,
                closed_at=self._clock().isoformat(),
            )
            log.info(
                "%s closed (%s) at %s, profit %s",
                order.order_id,
                report.close_reason,
                report.price,
                report.profit,
            )
        return reports

    # ---- trade management ---------------------------------------------------------------------------
    def _manage_trades(self) -> list[ExecutionReport]:
        reports: list[ExecutionReport] = []
        groups: dict[str, list[OrderRecord]] = defaultdict(list)
        live = self.journal.live_orders()
        for order in live:
            groups[order.group_id].append(order)
        for group_id, open_legs in groups.items():
            management = open_legs[0].trade_management
            waiting = management.breakeven_after_tp1 and any(
                not o.be_done and o.state == "open" for o in open_legs
            )
            if waiting and self._tp1_reached(group_id, open_legs[0], management.tp1_price):
                reports += self._breakeven(open_legs)
        for order in live:
            if order.state == "open":
                self._trail(order)
        return reports

    def _tp1_reached(self, group_id: str, sample: OrderRecord, tp1_price: float | None) -> bool:
        if any(o.close_reason == "tp" for o in self.journal.group_orders(group_id)):
            return True
        if tp1_price is None:
            return False
        try:
            bid, ask = self.broker.quote(sample.broker_symbol)
        except BrokerUnavailable:
            raise
        except Exception as exc:  # a missing quote must not stop monitoring the other groups
            log.warning("no quote for %s: %s", sample.broker_symbol, exc)
            return False
        return bid >= tp1_price if sample.side == "buy" else ask <= tp1_price

    def _breakeven(self, legs: list[OrderRecord]) -> list[ExecutionReport]:
        reports: list[ExecutionReport] = []
        for order in legs:
            if order.be_done or order.state != "open" or order.ticket is None:
                continue
            result = self.broker.breakeven(order.ticket, order.tag)
            if result.status == "modified":
                self.journal.update_order(order.order_id, be_done=1, stop_loss=result.stop_loss)
                reports.append(
                    self._report(
                        order,
                        "modified",
                        f"{order.order_id}:breakeven",
                        stop_loss=result.stop_loss,
                        take_profit=result.take_profit,
                        retcode=result.retcode,
                        reason="stop loss moved to entry after TP1",
                    )
                )
                log.info("%s: stop loss moved to entry %s after TP1", order.order_id, result.stop_loss)
            else:
                # Usually the price is still too close to entry for the stops level: try again next pass.
                log.info("%s: breakeven not applied yet: %s", order.order_id, result.reason)
        return reports

    def _trail(self, order: OrderRecord) -> None:
        management = order.trade_management
        if (
            not management.trailing_stop_pips
            or not management.pip_size
            or order.ticket is None
            or order.price is None
        ):
            return
        distance = management.trailing_stop_pips * management.pip_size
        bid, ask = self.broker.quote(order.broker_symbol)
        buy = order.side == "buy"
        candidate = (bid - distance) if buy else (ask + distance)
        # Trail only once the trade is a trailing distance in profit, and only ever towards profit.
        in_profit = candidate >= order.price if buy else candidate <= order.price
        better = order.stop_loss is None or (
            candidate > order.stop_loss if buy else candidate < order.stop_loss
        )
        min_move = management.pip_size * 0.5
        if (
            not in_profit
            or not better
            or (order.stop_loss is not None and abs(candidate - order.stop_loss) < min_move)
        ):
            return
        result = self.broker.modify(order.ticket, candidate, None, order.tag)
        if result.status == "modified":
            self.journal.update_order(order.order_id, stop_loss=result.stop_loss)
            log.info("%s: trailing stop moved to %s", order.order_id, result.stop_loss)
