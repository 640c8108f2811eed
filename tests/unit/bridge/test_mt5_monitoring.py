"""Closes from deal history, pending orders that trigger, management applied locally (breakeven after TP1)."""

from __future__ import annotations

from bridge_fixtures import open_order, signal_group


def _fill_group(executor, legs):
    reports = [executor.handle(leg)[0] for leg in legs]
    assert all(r.status == "filled" for r in reports)
    return reports


def test_tp1_hit_moves_the_other_legs_to_breakeven(executor, monitor, terminal, mt5, journal):
    legs = signal_group(3)
    _fill_group(executor, legs)
    entry = 1950.20

    terminal.set_price("XAUUSDm", 1955.10)  # TP1 (1955.00) is hit by the server
    reports = monitor.poll()

    closed = [r for r in reports if r.status == "closed"]
    assert [(r.order_id, r.close_reason) for r in closed] == [(legs[0].order_id, "tp")]
    assert closed[0].report_id == f"{legs[0].order_id}:closed"
    assert closed[0].profit == round((1955.10 - entry) / 0.01 * 1.0 * 0.10, 2)
    moved = sorted(r.order_id for r in reports if r.status == "modified")
    assert moved == sorted([legs[1].order_id, legs[2].order_id])
    for pos in mt5.positions_get():
        assert pos.sl == entry  # stop loss at entry on the remaining legs
    assert {r.reason for r in reports if r.status == "modified"} == {"stop loss moved to entry after TP1"}

    # Nothing more to do on the next pass.
    assert monitor.poll() == []

    # Price comes back to entry: the moved stops close the legs as "breakeven".
    terminal.set_price("XAUUSDm", 1950.10)
    reasons = {r.order_id: r.close_reason for r in monitor.poll() if r.status == "closed"}
    assert reasons == {legs[1].order_id: "breakeven", legs[2].order_id: "breakeven"}
    assert mt5.positions_get() == ()


def test_tp1_price_crossed_triggers_breakeven_even_without_a_tp1_leg(executor, monitor, terminal, mt5):
    legs = signal_group(2, tps=(1955.0, 1965.0))
    # Only the second leg reached this account (the first was rejected by risk, say).
    executor.handle(legs[1])
    terminal.set_price("XAUUSDm", 1955.30)
    reports = monitor.poll()
    assert [r.status for r in reports] == ["modified"]
    assert mt5.positions_get()[0].sl == 1950.20


def test_breakeven_waits_while_the_price_is_too_close_for_the_stops_level(executor, monitor, terminal, mt5):
    terminal.symbols["XAUUSDm"].trade_stops_level = 400  # SL/TP at least 4.00 from the price
    legs = signal_group(2, tps=(1954.10, 1975.0), stop_loss=1930.0)
    _fill_group(executor, legs)
    terminal.set_price("XAUUSDm", 1954.10)  # TP1 hit, but bid is only 3.90 above the 1950.20 entry
    reports = monitor.poll()
    assert [r.status for r in reports] == ["closed"]
    assert mt5.positions_get()[0].sl == 1930.0
    terminal.set_price("XAUUSDm", 1961.00)
    assert [r.status for r in monitor.poll()] == ["modified"]
    assert mt5.positions_get()[0].sl == 1950.20


def test_stop_loss_hit_is_reported_with_profit_commission_and_swap(executor, monitor, terminal):
    terminal.symbols["XAUUSDm"].commission_per_lot = 7.0
    (filled,) = executor.handle(open_order())
    terminal.charge_swap(filled.ticket, -1.25)
    terminal.set_price("XAUUSDm", 1939.90)
    (closed,) = monitor.poll()
    assert closed.close_reason == "sl"
    assert closed.profit == round((1939.90 - 1950.20) * 100 * 0.10, 2)
    assert closed.commission == -1.40  # 0.7 in + 0.7 out
    assert closed.swap == -1.25
    assert closed.price == 1939.90


def test_manual_close_in_the_terminal_is_reported_as_manual(executor, monitor, terminal):
    (filled,) = executor.handle(open_order())
    terminal.set_price("XAUUSDm", 1952.00)
    terminal.close_manually(filled.ticket)
    (closed,) = monitor.poll()
    assert (closed.status, closed.close_reason, closed.profit) == ("closed", "manual", 18.0)


def test_pending_order_trigger_is_reported_filled_then_tp(executor, monitor, terminal):
    (placed,) = executor.handle(
        open_order(order_type="limit", price=1948.00, stop_loss=1940.0, take_profit=1952.0)
    )
    assert placed.status == "placed"
    assert monitor.poll() == []
    terminal.set_price("XAUUSDm", 1947.70)  # ask 1947.90 <= 1948.00: the limit fills
    (filled,) = monitor.poll()
    assert (filled.status, filled.price, filled.report_id) == (
        "filled",
        1948.0,
        f"{placed.command_id}:filled",
    )
    terminal.set_price("XAUUSDm", 1952.10)
    (closed,) = monitor.poll()
    assert (closed.close_reason, closed.profit) == ("tp", round((1952.10 - 1948.0) * 100 * 0.1, 2))


def test_pending_order_cancelled_in_the_terminal_is_reported(executor, monitor, terminal, mt5):
    (placed,) = executor.handle(open_order(order_type="stop", price=1953.0, stop_loss=1945.0))
    request = {"action": mt5.TRADE_ACTION_REMOVE, "order": placed.ticket}
    assert mt5.order_send(request).retcode == mt5.TRADE_RETCODE_DONE
    (report,) = monitor.poll()
    assert (report.status, report.report_id) == ("cancelled", f"{placed.order_id}:cancelled")


def test_trailing_stop_follows_the_price_once_in_profit(executor, monitor, terminal, mt5):
    from signalos.contracts.orders import TradeManagement

    order = open_order(management=TradeManagement(trailing_stop_pips=20, pip_size=0.1), take_profit=1990.0)
    executor.handle(order)
    terminal.set_price("XAUUSDm", 1951.00)  # 0.8 in profit: trailing (2.00) not active yet
    monitor.poll()
    assert mt5.positions_get()[0].sl == 1940.0
    terminal.set_price("XAUUSDm", 1955.00)
    monitor.poll()
    assert mt5.positions_get()[0].sl == 1953.0
    terminal.set_price("XAUUSDm", 1954.00)  # never moves back
    monitor.poll()
    assert mt5.positions_get()[0].sl == 1953.0
    terminal.set_price("XAUUSDm", 1952.90)
    (closed,) = monitor.poll()
    assert closed.close_reason == "sl" and closed.profit > 0


def test_closed_report_is_made_once(executor, monitor, terminal):
    executor.handle(open_order())
    terminal.set_price("XAUUSDm", 1960.5)
    assert len(monitor.poll()) == 1
    assert monitor.poll() == []
