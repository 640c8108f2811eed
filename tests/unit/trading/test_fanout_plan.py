"""Fan-out's pure half: derived ids, order items and commands, edit planning."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from signalos.contracts.orders import OpenOrder
from signalos.contracts.parse_result import OpenSetup
from signalos.trading import fanout_plan
from signalos.trading.risk import LegPlan, RiskDecision

NOW = datetime(2026, 11, 22, 10, 30, tzinfo=UTC)


def ctx(**kw):
    base = dict(
        user_id="usr_a",
        account_id="acc_a",
        subscription_id="sub_1",
        provider_id="prv_1",
        signal_id="sig_1",
        revision=0,
        setup_index=0,
        origin="signal",
        signal_time=NOW - timedelta(seconds=3),
        received_at=NOW - timedelta(seconds=1),
        parsed_at=NOW,
    )
    base.update(kw)
    return fanout_plan.OrderContext(**base)


def test_ids_are_derived_and_distinct():
    a = fanout_plan.order_id_for("sig_1", 0, "sub_1", 0, 1)
    assert a == fanout_plan.order_id_for("sig_1", 0, "sub_1", 0, 1)
    others = {
        fanout_plan.order_id_for(*args)
        for args in [
            ("sig_1", 1, "sub_1", 0, 1),
            ("sig_1", 0, "sub_2", 0, 1),
            ("sig_1", 0, "sub_1", 1, 1),
            ("sig_1", 0, "sub_1", 0, 2),
            ("sig_2", 0, "sub_1", 0, 1),
        ]
    }
    assert a not in others and len(others) == 5
    assert a.startswith("ord_") and len(a) <= 64


def decision():
    return RiskDecision(
        accepted=True,
        symbol="XAUUSD",
        side="sell",
        broker_symbol="XAUUSDm",
        symbol_suffix="m",
        legs=[
            LegPlan(
                leg=1, volume=0.02, price=1951.0, stop_loss=1960.0, take_profit=1945.0, order_type="market"
            ),
            LegPlan(
                leg=2, volume=0.01, price=1951.0, stop_loss=1960.0, take_profit=1940.0, order_type="market"
            ),
        ],
        max_price_distance=2.0,
        expires_at=NOW + timedelta(seconds=120),
    )


def test_orders_items_and_rebuild_round_trip():
    c = ctx()
    ids = [fanout_plan.order_id_for("sig_1", 0, "sub_1", 0, leg) for leg in (1, 2)]
    orders = fanout_plan.open_orders_from_decision(decision(), c, now=NOW, order_ids=ids, group_id="grp_x")
    assert [o.command_id for o in orders] == ids  # the dedup id is the order id
    assert orders[0].expires_at == NOW + timedelta(seconds=120)
    item = fanout_plan.order_item(orders[1], c)
    assert item["pk"] == "USER#usr_a" and item["sk"] == f"ORDER#{ids[1]}"
    assert item["gsi1pk"] == "SIGNAL#sig_1" and item["gsi1sk"] == f"ORDER#acc_a#{ids[1]}"
    assert item["state"] == "pending" and item["version"] == 0
    assert "expires_at" not in item  # the TTL attribute would delete the order
    assert item["order_expires_at"] == "2026-11-22T10:32:00.000Z"
    rebuilt = fanout_plan.open_order_from_item(item)
    assert isinstance(rebuilt, OpenOrder)
    assert rebuilt == orders[1]


def leg_item(order_id, leg, state, sl=None, tp=None, symbol="XAUUSD", side="sell"):
    return {
        "order_id": order_id,
        "leg": leg,
        "state": state,
        "symbol": symbol,
        "side": side,
        "order_type": "market",
        "stop_loss": sl,
        "take_profit": tp,
    }


def test_edit_modifies_sent_legs_and_replans_pending_ones():
    setup = OpenSetup(symbol="XAUUSD", side="sell", stop_loss=1960.0, take_profits=[1945.0, 1940.0, 1930.0])
    plan = fanout_plan.plan_edit(
        setup, [leg_item("o1", 1, "filled"), leg_item("o2", 2, "pending"), leg_item("o3", 3, "closed")]
    )
    assert plan.conflict is None
    assert [(p.action, p.target_order_ids, p.stop_loss, p.take_profit) for p in plan.modify] == [
        ("modify", ["o1"], 1960.0, 1945.0)
    ]
    assert plan.replan == [("o2", {"stop_loss": 1960.0, "take_profit": 1940.0})]


def test_edit_with_fewer_tps_gives_extra_legs_the_last_tp_and_skips_unchanged():
    setup = OpenSetup(symbol="XAUUSD", side="sell", stop_loss=1960.0, take_profits=[1945.0])
    plan = fanout_plan.plan_edit(
        setup,
        [leg_item("o1", 1, "sent", sl=1960.0, tp=1945.0), leg_item("o2", 2, "sent", sl=1960.0, tp=1940.0)],
    )
    assert [(p.target_order_ids, p.stop_loss, p.take_profit) for p in plan.modify] == [(["o2"], None, 1945.0)]


def test_edit_that_flips_side_is_a_conflict_and_changes_nothing():
    setup = OpenSetup(symbol="XAUUSD", side="buy", stop_loss=1940.0)
    plan = fanout_plan.plan_edit(setup, [leg_item("o1", 1, "filled")])
    assert plan.conflict and plan.conflict.startswith("EDIT_CONFLICT")
    assert plan.modify == [] and plan.replan == []


def test_leg_state_mapping():
    states = {
        s: fanout_plan.leg_state(leg_item("o", 1, s)).state
        for s in ("pending", "sent", "placed", "filled", "partially_closed", "closed", "rejected")
    }
    assert states == {
        "pending": "queued",
        "sent": "queued",
        "placed": "placed",
        "filled": "open",
        "partially_closed": "open",
        "closed": "closed",
        "rejected": "closed",
    }


def test_rejection_item_is_ttl_bound_and_deterministic():
    from signalos.contracts.parse_result import ParseResult
    from signalos.contracts.signal_event import SignalEvent

    ev = SignalEvent(
        signal_id="sig_1",
        user_id="usr_o",
        provider_id="prv_1",
        source="telegram",
        parse=ParseResult(),
        signal_time=NOW,
        received_at=NOW,
        parsed_at=NOW,
    )
    kw = dict(
        user_id="usr_a",
        account_id="acc_a",
        subscription_id="sub_1",
        event=ev,
        setup=None,
        setup_index=0,
        reason_code="SIGNAL_TOO_OLD",
        reason="SIGNAL_TOO_OLD: old",
        now=NOW,
    )
    a, b = fanout_plan.rejection_item(**kw), fanout_plan.rejection_item(**kw)
    assert a["sk"] == b["sk"] and a["pk"] == "USER#usr_a"
    assert a["expires_at"] == int((NOW + timedelta(days=90)).timestamp())
