"""The MetaTrader5 double behaves like the real module where the bridge depends on it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest


@pytest.fixture
def live(mt5):
    assert mt5.initialize()
    mt5.symbol_select("XAUUSDm", True)
    return mt5


def buy(mt5, **extra):
    request = {
        "action": mt5.TRADE_ACTION_DEAL,
        "symbol": "XAUUSDm",
        "volume": 0.1,
        "type": mt5.ORDER_TYPE_BUY,
        "price": 1950.2,
        "deviation": 10,
        "magic": 770001,
        "comment": "sos-test",
        "type_filling": mt5.ORDER_FILLING_FOK,
        "type_time": mt5.ORDER_TIME_GTC,
        **extra,
    }
    return mt5.order_send(request)


def test_results_are_named_tuples_with_the_real_field_names(live):
    info = live.account_info()
    assert type(info).__name__ == "AccountInfo"
    assert {"login", "balance", "equity", "margin_free", "currency", "leverage", "trade_allowed"} <= set(
        info._asdict()
    )
    result = buy(live)
    assert type(result).__name__ == "OrderSendResult"
    assert result._fields == (
        "retcode",
        "deal",
        "order",
        "volume",
        "price",
        "bid",
        "ask",
        "comment",
        "request_id",
        "retcode_external",
        "request",
    )
    assert type(result.request).__name__ == "TradeRequest"
    (position,) = live.positions_get()
    assert position._fields[:6] == ("ticket", "time", "time_msc", "time_update", "time_update_msc", "type")
    tick = live.symbol_info_tick("XAUUSDm")
    assert tick._fields == ("time", "bid", "ask", "last", "volume", "time_msc", "flags", "volume_real")


def test_failures_return_none_and_set_last_error(live):
    assert live.symbol_info("NOPE") is None
    assert live.last_error()[0] == live.RES_E_NOT_FOUND
    assert live.order_send({"action": live.TRADE_ACTION_DEAL, "bogus": 1}) is None
    assert live.last_error() == (live.RES_E_INVALID_PARAMS, 'Invalid "bogus" argument')
    assert live.symbol_info("XAUUSDm") is not None
    assert live.last_error() == (1, "Success")


def test_unselected_symbols_stream_no_ticks(mt5):
    assert mt5.initialize()
    assert mt5.symbol_info_tick("EURUSD") is None
    assert mt5.symbol_select("EURUSD", True)
    assert mt5.symbol_info_tick("EURUSD").bid == 1.085


def test_symbols_get_group_filter(live, terminal):
    terminal.add_forex("EURJPY", bid=162.0)
    names = lambda group: sorted(s.name for s in live.symbols_get(group=group))  # noqa: E731
    assert names("*USD*") == ["EURUSD", "XAUUSDm"]
    assert names("*,!*USD*") == ["EURJPY"]
    assert names("EUR*,!*JPY") == ["EURUSD"]


def test_take_profit_hit_makes_an_out_deal_with_reason_tp(live, terminal):
    result = buy(live, tp=1955.0)
    terminal.set_price("XAUUSDm", 1955.0)
    assert live.positions_get() == ()
    deals = live.history_deals_get(position=result.order)
    assert [d.entry for d in deals] == [live.DEAL_ENTRY_IN, live.DEAL_ENTRY_OUT]
    out = deals[1]
    assert (out.reason, out.comment, out.type) == (live.DEAL_REASON_TP, "[tp 1955.00]", live.DEAL_TYPE_SELL)
    assert out.profit == 48.0  # (1955.00 - 1950.20) * 100 oz * 0.1 lot
    assert live.account_info().balance == 10_048.0


def test_history_by_dates_ticket_and_position(live, terminal):
    result = buy(live)
    now = datetime.now(UTC)
    assert len(live.history_orders_get(now - timedelta(hours=1), now + timedelta(hours=1))) == 1
    assert live.history_orders_get(ticket=result.order)[0].state == live.ORDER_STATE_FILLED
    assert live.history_deals_get(ticket=result.order)[0].ticket == result.deal
    assert live.history_deals_get(int(now.timestamp()) + 3600, int(now.timestamp()) + 7200) == ()
    assert live.history_deals_get() is None  # dates are required without ticket/position


def test_instant_execution_requotes_beyond_the_deviation(live, terminal):
    terminal.symbols["XAUUSDm"].trade_exemode = live.SYMBOL_TRADE_EXECUTION_INSTANT
    assert buy(live, price=1949.0).retcode == live.TRADE_RETCODE_REQUOTE
    assert buy(live, price=1950.2).retcode == live.TRADE_RETCODE_DONE


def test_no_money(live, terminal):
    terminal.balance = 100.0
    assert buy(live, volume=5.0).retcode == live.TRADE_RETCODE_NO_MONEY


def test_pending_action_is_5(live):
    request = {
        "action": 5,
        "symbol": "XAUUSDm",
        "volume": 0.1,
        "type": live.ORDER_TYPE_BUY_LIMIT,
        "price": 1945.0,
        "type_filling": live.ORDER_FILLING_RETURN,
    }
    assert live.order_send(request).retcode == live.TRADE_RETCODE_PLACED
    request["action"] = 4  # what some public bridges shipped: not a pending order
    assert live.order_send(request).retcode == live.TRADE_RETCODE_INVALID
