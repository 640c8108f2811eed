"""Why a setup was not traded: stable codes (stored with the rejection, shown to the user)."""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    LOW_CONFIDENCE = "LOW_CONFIDENCE"
    SYMBOL_NOT_ALLOWED = "SYMBOL_NOT_ALLOWED"
    SYMBOL_TRADE_DISABLED = "SYMBOL_TRADE_DISABLED"
    OUTSIDE_SESSION = "OUTSIDE_SESSION"
    SIGNAL_TOO_OLD = "SIGNAL_TOO_OLD"
    DAILY_TRADE_CAP = "DAILY_TRADE_CAP"
    DAILY_LOSS_CAP = "DAILY_LOSS_CAP"
    MAX_OPEN_TRADES = "MAX_OPEN_TRADES"
    MAX_TOTAL_LOTS = "MAX_TOTAL_LOTS"
    NO_SYMBOL_SPEC = "NO_SYMBOL_SPEC"
    NO_PRICE = "NO_PRICE"
    NO_STOP_LOSS = "NO_STOP_LOSS"
    SL_WRONG_SIDE = "SL_WRONG_SIDE"
    TP_WRONG_SIDE = "TP_WRONG_SIDE"
    SPREAD_TOO_WIDE = "SPREAD_TOO_WIDE"
    PRICE_TOO_FAR = "PRICE_TOO_FAR"
    VOLUME_BELOW_MIN = "VOLUME_BELOW_MIN"


class RiskRejection(Exception):
    """Raised inside the engine when a guard stops a setup; `plan_orders` turns it into a decision."""

    def __init__(self, code: Reason, message: str) -> None:
        super().__init__(f"{code.value}: {message}")
        self.code = code
        self.message = message
