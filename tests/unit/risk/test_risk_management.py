"""plan_management: a management update becomes commands on the right legs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from signalos.contracts.orders import ManageCommand, OrderCommandEnvelope
from signalos.contracts.parse_result import SignalUpdate
from signalos.trading.risk import OpenLegState, plan_management


def _legs() -> list[OpenLegState]:
    # A three-TP gold signal: TP1 leg open, TP2 leg open, TP3 leg still queued (market).
    return [
        OpenLegState(order_id="ord_b", leg=2, state="open", symbol="XAUUSD", volume=0.07),
        OpenLegState(order_id="ord_a", leg=1, state="open", symbol="XAUUSD", volume=0.07),
        OpenLegState(order_id="ord_c", leg=3, state="queued", symbol="XAUUSD", volume=0.06),
    ]


def _pending_legs() -> list[OpenLegState]:
    return [
        OpenLegState(order_id="ord_p1", leg=1, state="placed", order_type="limit", symbol="XAUUSD"),
        OpenLegState(order_id="ord_p2", leg=2, state="queued", order_type="limit", symbol="XAUUSD"),
        OpenLegState(order_id="ord_x", leg=3, state="closed", symbol="XAUUSD"),
    ]


def _plan(action: str, legs: list[OpenLegState], **kw) -> list[tuple]:
    plans = plan_management(SignalUpdate(action=action, **kw), legs)
    return [(p.action, p.target_order_ids, p.stop_loss, p.take_profit, p.fraction) for p in plans]


def test_breakeven_targets_positions_and_lets_the_bridge_use_fill_prices():
    assert _plan("breakeven", _legs()) == [("breakeven", ["ord_a", "ord_b", "ord_c"], None, None, None)]
    assert _plan("breakeven", _pending_legs()) == []


def test_move_sl_modifies_every_active_leg():
    legs = _legs() + _pending_legs()
    assert _plan("move_sl", legs, price=1945.0) == [
        ("modify", ["ord_a", "ord_p1", "ord_b", "ord_p2", "ord_c"], 1945.0, None, None)
    ]
    assert _plan("move_sl", legs) == []  # no price: nothing to do


def test_modify_tp_moves_the_runner():
    assert _plan("modify_tp", _legs(), price=1970.0) == [("modify", ["ord_c"], None, 1970.0, None)]


def test_close_partial_without_fraction_closes_the_tp1_leg():
    assert _plan("close_partial", _legs()) == [("close", ["ord_a"], None, None, None)]


def test_close_partial_with_fraction_and_full():
    assert _plan("close_partial", _legs(), fraction=0.5) == [
        ("close_partial", ["ord_a", "ord_b", "ord_c"], None, None, 0.5)
    ]
    assert _plan("close_partial", _legs(), fraction=1.0) == [
        ("close", ["ord_a", "ord_b", "ord_c"], None, None, None)
    ]


def test_close_all_closes_positions_and_cancels_pending():
    assert _plan("close_all", _legs() + _pending_legs()) == [
        ("close", ["ord_a", "ord_b", "ord_c"], None, None, None),
        ("cancel", ["ord_p1", "ord_p2"], None, None, None),
    ]


def test_cancel_pending_only_touches_pending_orders():
    assert _plan("cancel_pending", _legs() + _pending_legs()) == [
        ("cancel", ["ord_p1", "ord_p2"], None, None, None)
    ]
    assert _plan("cancel_pending", _legs()) == []


def test_symbol_in_update_filters_legs():
    legs = [*_legs(), OpenLegState(order_id="ord_e", leg=1, state="open", symbol="EURUSD")]
    assert _plan("close_all", legs, symbol="eurusd") == [("close", ["ord_e"], None, None, None)]
    assert _plan("close_all", legs, symbol="GBPUSD") == []


def test_closed_legs_get_nothing():
    legs = [OpenLegState(order_id="ord_z", leg=1, state="closed")]
    for action in ("breakeven", "close_all", "cancel_pending", "close_partial"):
        assert _plan(action, legs) == []


def test_plan_becomes_a_valid_queue_command():
    plan = plan_management(SignalUpdate(action="close_partial", fraction=0.5), _legs())[0]
    now = datetime(2026, 11, 22, 10, tzinfo=UTC)
    cmd = plan.to_command(
        command_id="cmd_1",
        account_id="acc_1",
        user_id="usr_1",
        created_at=now,
        expires_at=now + timedelta(minutes=5),
        signal_id="sig_1",
        symbol="XAUUSD",
    )
    assert isinstance(cmd, ManageCommand)
    parsed = OrderCommandEnvelope.parse_body(cmd.model_dump_json())
    assert parsed == cmd and parsed.fraction == 0.5 and parsed.target_order_ids == ["ord_a", "ord_b", "ord_c"]
