"""`plan_management`: a management update ("move SL to BE", "close half") -> commands on the legs
that the original signal opened on one account.

Legs are named by state: `queued` (on the account's FIFO queue, no report yet; the bridge runs
commands in order, so a command behind the open still finds its position), `placed` (a pending
order at the broker), `open` (a position), `closed` (ignored).
"""

from __future__ import annotations

from signalos.contracts.parse_result import SignalUpdate
from signalos.trading.risk.models import ManagePlan, OpenLegState


def _is_position(leg: OpenLegState) -> bool:
    """A position exists or will once the queued market order runs."""
    return leg.state == "open" or (leg.state == "queued" and leg.order_type == "market")


def _is_pending(leg: OpenLegState) -> bool:
    """A limit/stop order that has not triggered (or is still on the queue)."""
    return leg.state in ("queued", "placed") and leg.order_type != "market"


def _ids(legs: list[OpenLegState]) -> list[str]:
    return [leg.order_id for leg in sorted(legs, key=lambda leg: (leg.leg, leg.order_id))]


def plan_management(update: SignalUpdate, open_legs: list[OpenLegState]) -> list[ManagePlan]:
    """The commands for one update; an empty list when nothing on this account is affected."""
    legs = [leg for leg in open_legs if leg.state != "closed"]
    if update.symbol:
        wanted = update.symbol.upper()
        legs = [leg for leg in legs if leg.symbol is None or leg.symbol.upper() == wanted]
    positions = [leg for leg in legs if _is_position(leg)]
    pending = [leg for leg in legs if _is_pending(leg)]
    active = positions + pending

    match update.action:
        case "breakeven":
            # The bridge moves each position's SL to its own fill price (it knows the fill).
            return [ManagePlan(action="breakeven", target_order_ids=_ids(positions))] if positions else []
        case "move_sl":
            if update.price is None or not active:
                return []
            return [ManagePlan(action="modify", target_order_ids=_ids(active), stop_loss=update.price)]
        case "modify_tp":
            if update.price is None or not active:
                return []
            # One new TP for a multi-TP group is read as the final target: it moves the runner (last leg),
            # leaving the earlier legs' TPs alone.
            runner = max(active, key=lambda leg: (leg.leg, leg.order_id))
            return [ManagePlan(action="modify", target_order_ids=[runner.order_id], take_profit=update.price)]
        case "close_partial":
            if not positions:
                return []
            if update.fraction is None:
                # "Take partials" without a share: close the first leg, the one aimed at TP1.
                first = min(positions, key=lambda leg: (leg.leg, leg.order_id))
                return [ManagePlan(action="close", target_order_ids=[first.order_id])]
            if update.fraction >= 1.0:
                return [ManagePlan(action="close", target_order_ids=_ids(positions))]
            return [
                ManagePlan(action="close_partial", target_order_ids=_ids(positions), fraction=update.fraction)
            ]
        case "close_all":
            plans = []
            if positions:
                plans.append(ManagePlan(action="close", target_order_ids=_ids(positions)))
            if pending:
                plans.append(ManagePlan(action="cancel", target_order_ids=_ids(pending)))
            return plans
        case "cancel_pending":
            return [ManagePlan(action="cancel", target_order_ids=_ids(pending))] if pending else []
    return []
