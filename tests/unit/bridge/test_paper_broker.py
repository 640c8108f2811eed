"""The paper broker: simulated fills with spread, slippage and commission; pendings; SL/TP; positions."""

from __future__ import annotations

import pytest
from bridge_fixtures import ACCOUNT_ID, manage, open_order, signal_group
from signalos.contracts.orders import order_tag

from bridge_agent.brokers.paper import DEFAULT_SYMBOLS, PaperBroker, PriceFeed
from bridge_agent.config import PaperSettings
from bridge_agent.executor import Executor
from bridge_agent.journal import Journal
from bridge_agent.monitor import Monitor


class Clock:
    def __init__(self, t: float = 1_800_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock() -> Clock:
    return Clock()


def paper(clock, **settings) -> PaperBroker:
    defaults = dict(spread_points=20, slippage_points=0, commission_per_lot=0.0, prices={"XAUUSD": 1950.10})
    defaults.update(settings)
    broker = PaperBroker(PaperSettings(**defaults), clock=clock)
    broker.connect()
    return broker


@pytest.fixture
def setup(tmp_path, clock):
    broker = paper(clock)
    journal = Journal(tmp_path / "paper.db")
    yield broker, Executor(broker, journal, ACCOUNT_ID), Monitor(broker, journal, ACCOUNT_ID)
    journal.close()


def test_market_buy_fills_at_the_ask_plus_slippage_and_pays_commission(clock):
    broker = paper(clock, slippage_points=5, commission_per_lot=7.0)
    result = broker.execute_open(open_order(volume=0.5))
    assert result.status == "filled"
    assert broker.quote("XAUUSD") == (1950.0, 1950.2)
    assert result.price == 1950.25  # ask + 5 points of slippage
    account = broker.account()
    assert account.balance == 10_000 - 3.5  # 7 per lot on entry
    assert len(broker.positions()) == 1


def test_sell_fills_at_the_bid_minus_slippage(clock):
    broker = paper(clock, slippage_points=3)
    result = broker.execute_open(open_order(side="sell", stop_loss=1960.0, take_profit=1940.0, price=1950.0))
    assert result.price == 1949.97


def test_take_profit_hit_closes_with_profit_in_account_currency(setup):
    broker, executor, monitor = setup
    (_fill,) = executor.handle(open_order(volume=0.10, take_profit=1960.0))
    broker.set_price("XAUUSD", 1960.20)  # bid 1960.10 >= TP
    (closed,) = monitor.poll()
    assert closed.close_reason == "tp"
    assert closed.price == 1960.10
    # 0.10 lot of a 100 oz contract: 9.90 move * 100 * 0.10 = 99.00 USD
    assert closed.profit == 99.0
    assert broker.account().balance == 10_099.0


def test_stop_loss_hit_on_a_sell(setup):
    broker, executor, monitor = setup
    executor.handle(open_order(side="sell", price=1950.0, stop_loss=1955.0, take_profit=1940.0))
    broker.set_price("XAUUSD", 1955.0)  # ask 1955.10 >= SL
    (closed,) = monitor.poll()
    assert (closed.close_reason, closed.price, closed.profit) == ("sl", 1955.1, -51.0)


def test_pending_limit_triggers_then_reports_filled(setup):
    broker, executor, monitor = setup
    (placed,) = executor.handle(
        open_order(order_type="limit", price=1945.0, stop_loss=1935.0, take_profit=1955.0)
    )
    assert placed.status == "placed"
    assert monitor.poll() == []
    broker.set_price("XAUUSD", 1944.80)  # ask 1944.90 <= 1945
    (filled,) = monitor.poll()
    assert (filled.status, filled.price) == ("filled", 1945.0)


def test_buy_stop_triggers_above_the_market(setup):
    broker, executor, monitor = setup
    executor.handle(open_order(order_type="stop", price=1952.0, stop_loss=1945.0, take_profit=1960.0))
    broker.set_price("XAUUSD", 1952.00)  # ask 1952.10 >= 1952
    (filled,) = monitor.poll()
    assert filled.status == "filled" and filled.price == 1952.1


def test_random_walk_is_deterministic_per_seed_and_symbol():
    a = PriceFeed(DEFAULT_SYMBOLS, seed=42, volatility_points=50)
    b = PriceFeed(DEFAULT_SYMBOLS, seed=42, volatility_points=50)
    c = PriceFeed(DEFAULT_SYMBOLS, seed=43, volatility_points=50)
    path_a = [a.mid_at_step("XAUUSD", s) for s in range(0, 200, 7)]
    assert path_a == [b.mid_at_step("XAUUSD", s) for s in range(0, 200, 7)]
    assert path_a != [c.mid_at_step("XAUUSD", s) for s in range(0, 200, 7)]
    assert len(set(path_a)) > 10  # it does move
    assert a.mid_at_step("EURUSD", 50) != a.mid_at_step("GBPUSD", 50)


def test_walk_crossing_the_stop_between_polls_is_caught(tmp_path, clock):
    broker = paper(clock, prices={}, volatility_points=200, start_prices={"XAUUSD": 1950.0})
    journal = Journal(tmp_path / "j.db")
    executor, monitor = Executor(broker, journal, ACCOUNT_ID), Monitor(broker, journal, ACCOUNT_ID)
    bid, ask = broker.quote("XAUUSD")
    executor.handle(open_order(price=ask, stop_loss=round(bid - 3, 2), take_profit=round(bid + 3, 2)))
    clock.t += 3600  # an hour of one-second steps without a poll
    (closed,) = monitor.poll()
    assert closed.close_reason in ("tp", "sl")
    journal.close()


def test_breakeven_after_tp1_on_paper(setup):
    broker, executor, monitor = setup
    legs = signal_group(2, tps=(1955.0, 1965.0))
    for leg in legs:
        executor.handle(leg)
    broker.set_price("XAUUSD", 1955.2)
    statuses = sorted(r.status for r in monitor.poll())
    assert statuses == ["closed", "modified"]
    (remaining,) = broker.positions()
    assert remaining.stop_loss == remaining.price_open


def test_partial_and_full_close_by_command(setup):
    broker, executor, _monitor = setup
    order = open_order(volume=0.30)
    executor.handle(order)
    broker.set_price("XAUUSD", 1952.10)
    (partial,) = executor.handle(manage("close_partial", [order.order_id], fraction=0.5))
    assert (partial.status, partial.volume) == ("partially_closed", 0.15)
    (closed,) = executor.handle(manage("close", [order.order_id]))
    assert (closed.status, closed.close_reason) == ("closed", "command")
    assert broker.positions() == []


def test_usdjpy_profit_is_converted_to_the_account_currency(clock):
    broker = paper(clock, prices={"USDJPY": 150.000}, spread_points=0)
    result = broker.execute_open(
        open_order(symbol="USDJPY", volume=1.0, price=150.0, stop_loss=149.0, take_profit=151.0)
    )
    broker.set_price("USDJPY", 151.000)
    state = broker.track(result.ticket, pending=False)
    # 1 lot, 100 000 USD, +1.000 JPY = 100 000 JPY = 662.25 USD at 151.000
    assert state.close.profit == pytest.approx(100_000 / 151.0, abs=0.01)


def test_positions_survive_a_restart_with_a_state_file(tmp_path, clock):
    state = tmp_path / "paper.json"
    first = paper(clock, state_path=str(state))
    order = open_order()
    result = first.execute_open(order)
    second = paper(clock, state_path=str(state))
    assert [p.ticket for p in second.positions()] == [result.ticket]
    found = second.find_by_tag(order_tag(order.order_id))
    assert (found.state, found.ticket) == ("open", result.ticket)


def test_unknown_symbol_is_rejected(clock):
    result = paper(clock).execute_open(open_order(symbol="NOPE"))
    assert result.status == "rejected" and "NOPE" in result.reason


def test_heartbeat_specs_from_paper(clock):
    spec = paper(clock).symbol_spec("XAUUSD", "XAUUSD")
    assert (spec.digits, spec.trade_contract_size, spec.trade_tick_value, spec.bid, spec.ask) == (
        2,
        100,
        1.0,
        1950.0,
        1950.2,
    )
