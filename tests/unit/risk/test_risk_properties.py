"""Properties over random specs, rules and prices: caps hold, steps hold, risk stays in budget."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st
from risk_cases import plan
from signalos.contracts.execution import SymbolSpec
from signalos.contracts.parse_result import OpenSetup
from signalos.trading.risk import AccountState, DailyCounters, SubscriptionRules
from signalos.trading.risk.sizing import split_units

STEPS = st.sampled_from([0.01, 0.1, 1.0])


@st.composite
def scenarios(draw):
    step = draw(STEPS)
    vmin = step * draw(st.integers(1, 10))
    vmax = vmin * draw(st.integers(1, 1000))
    tick_size = draw(st.sampled_from([0.00001, 0.001, 0.01, 0.1, 1.0]))
    tick_value = draw(st.floats(0.001, 50, allow_nan=False))
    entry = draw(st.floats(1.0, 50_000, allow_nan=False))
    sl_distance = draw(st.floats(0.001, 0.2)) * entry
    side = draw(st.sampled_from(["buy", "sell"]))
    sign = 1 if side == "buy" else -1
    tp_count = draw(st.integers(0, 5))
    tps = [entry + sign * sl_distance * (i + 1) for i in range(tp_count)]
    spec = SymbolSpec(
        symbol="TESTX",
        broker_symbol="TESTX",
        digits=5,
        point=0.00001,
        volume_min=vmin,
        volume_max=vmax,
        volume_step=step,
        trade_tick_value=tick_value,
        trade_tick_size=tick_size,
        trade_contract_size=1,
    )
    setup = OpenSetup(
        symbol="TESTX", side=side, entry=entry, stop_loss=entry - sign * sl_distance, take_profits=tps
    )
    rules = SubscriptionRules(
        sizing_mode=draw(st.sampled_from(["fixed_lot", "risk_percent"])),
        risk_percent=draw(st.floats(0.1, 10)),
        fixed_lot=draw(st.floats(0.01, 20)),
        max_lot_per_order=draw(st.none() | st.floats(0.01, 50)),
        max_open_trades=draw(st.none() | st.integers(1, 10)),
        max_daily_trades=draw(st.integers(1, 60)),
        tp_split=draw(st.sampled_from(["equal", "first_only", [0.5, 0.3, 0.2], [1, 0, 3]])),
    )
    total_cap = draw(st.none() | st.floats(0.01, 100))
    if total_cap is not None and rules.max_lot_per_order is not None:
        total_cap = max(total_cap, rules.max_lot_per_order)
    rules = rules.model_copy(update={"max_total_lots": total_cap})
    account = AccountState(
        balance=draw(st.floats(0, 1_000_000)),
        open_trades=draw(st.integers(0, 12)),
        open_lots=draw(st.floats(0, 50)),
    )
    counters = DailyCounters(trades_opened=draw(st.integers(0, 60)))
    return setup, rules, account, spec, counters


def _is_multiple(volume: float, step: float) -> bool:
    units = volume / step
    return math.isclose(units, round(units), abs_tol=1e-6)


@settings(max_examples=150, deadline=None)
@given(scenarios())
def test_volumes_respect_every_cap_and_the_step(case):
    setup, rules, account, spec, counters = case
    entry = setup.entry
    d = plan(setup, rules=rules, account=account, spec=spec, quote=(entry, entry), counters=counters)
    if not d.accepted:
        assert d.reason_code and d.reason.startswith(d.reason_code) and not d.legs
        return
    assert d.legs
    per_order_cap = min(spec.volume_max, rules.max_lot_per_order or math.inf)
    for leg in d.legs:
        assert leg.volume >= spec.volume_min - 1e-9
        assert leg.volume <= per_order_cap + 1e-9
        assert _is_multiple(leg.volume, spec.volume_step)
    total = sum(leg.volume for leg in d.legs)
    assert math.isclose(total, d.total_volume, abs_tol=1e-9)
    if rules.max_total_lots is not None:
        assert account.open_lots + total <= rules.max_total_lots + 1e-9
    slots = rules.max_daily_trades - counters.trades_opened
    if rules.max_open_trades is not None:
        slots = min(slots, rules.max_open_trades - account.open_trades)
    assert len(d.legs) <= max(1, len(setup.take_profits)) and len(d.legs) <= slots
    assert len({leg.leg for leg in d.legs}) == len(d.legs)
    if rules.sizing_mode == "fixed_lot":
        assert total <= rules.fixed_lot + 1e-9


@settings(max_examples=150, deadline=None)
@given(scenarios())
def test_risked_money_stays_within_budget(case):
    setup, rules, account, spec, counters = case
    rules = rules.model_copy(update={"sizing_mode": "risk_percent"})
    d = plan(
        setup, rules=rules, account=account, spec=spec, quote=(setup.entry, setup.entry), counters=counters
    )
    if not d.accepted:
        return
    per_lot = abs(setup.entry - setup.stop_loss) / spec.trade_tick_size * spec.trade_tick_value
    risked = d.total_volume * per_lot
    budget = account.balance * rules.risk_percent / 100
    if any("using the minimum" in w for w in d.warnings):
        # the only over-budget case: the broker minimum, allowed up to the over-risk factor
        assert d.total_volume <= spec.volume_min + 1e-9
        assert risked <= budget * rules.max_overrisk_factor * (1 + 1e-9)
    else:
        # rounding tolerance: a millionth of one step's risk
        assert risked <= budget + spec.volume_step * per_lot * 1e-6 + 1e-9


@given(
    total=st.integers(0, 10_000),
    weights=st.lists(st.floats(0, 10), min_size=1, max_size=6),
    min_units=st.integers(1, 50),
    max_units=st.none() | st.integers(1, 500),
)
def test_split_never_exceeds_total_and_every_leg_reaches_the_minimum(total, weights, min_units, max_units):
    shares = split_units(total, weights, min_units, max_units)
    assert len(shares) == len(weights)
    assert sum(shares) <= total
    for share, weight in zip(shares, weights, strict=True):
        assert share == 0 or share >= min_units
        assert share == 0 or weight > 0
        if max_units is not None:
            assert share <= max(max_units, 0)


def test_split_keeps_the_whole_total_when_it_can():
    # 20 steps over 3 equal legs, min 1: nothing lost
    assert split_units(20, [1, 1, 1], 1) == [7, 7, 6]
    # 2 steps over 3 legs, min 1: the third leg is dropped, the rest still sums to 2
    assert split_units(2, [1, 1, 1], 1) == [1, 1, 0]
