"""Builders shared by the bridge tests (unit, integration, e2e, benchmarks): commands like fan-out makes."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from signalos.contracts.orders import ManageCommand, OpenOrder, TradeManagement

ACCOUNT_ID = "acc_01JDBRIDGETEST0000000000A"
USER_ID = "usr_01JDBRIDGETEST0000000000U"
_seq = itertools.count(1)


def new_order_id() -> str:
    # Shaped like signalos.common.ids.new_id("ord"): prefix, 10 time chars, 16 random chars.
    return f"ord_01JDXYZ0AB{next(_seq):016d}"


def open_order(**overrides: Any) -> OpenOrder:
    now = overrides.pop("now", None) or datetime.now(UTC)
    order_id = overrides.pop("order_id", None) or new_order_id()
    fields: dict[str, Any] = dict(
        command_id=f"cmd_{order_id}",
        account_id=ACCOUNT_ID,
        user_id=USER_ID,
        created_at=now,
        expires_at=now + timedelta(minutes=5),
        order_id=order_id,
        signal_id="sig_01JDBRIDGETEST0000000000S",
        group_id="grp_1",
        leg=1,
        symbol="XAUUSD",
        side="buy",
        order_type="market",
        volume=0.10,
        price=1950.20,
        stop_loss=1940.00,
        take_profit=1960.00,
    )
    fields.update(overrides)
    return OpenOrder(**fields)


def signal_group(
    n_legs: int = 3,
    *,
    tps: tuple[float, ...] = (1955.0, 1960.0, 1965.0),
    breakeven: bool = True,
    **overrides: Any,
) -> list[OpenOrder]:
    """The legs fan-out makes of one signal with several TPs (shared group_id, one TP each)."""
    group_id = overrides.pop("group_id", None) or f"grp_{next(_seq)}"
    management = TradeManagement(breakeven_after_tp1=breakeven, tp1_price=tps[0], pip_size=0.1)
    return [
        open_order(group_id=group_id, leg=i + 1, take_profit=tps[i], management=management, **overrides)
        for i in range(n_legs)
    ]


def manage(action: str, targets: list[str], **overrides: Any) -> ManageCommand:
    now = overrides.pop("now", None) or datetime.now(UTC)
    fields: dict[str, Any] = dict(
        command_id=f"cmd_manage_{next(_seq)}",
        account_id=ACCOUNT_ID,
        user_id=USER_ID,
        created_at=now,
        expires_at=now + timedelta(minutes=5),
        action=action,
        target_order_ids=targets,
    )
    fields.update(overrides)
    return ManageCommand(**fields)
