"""Volume arithmetic: lots from risk, rounding to the broker's step, splitting across TPs.

Volumes are handled as whole numbers of `volume_step` so that every leg is an exact multiple
of the step and the legs never add up to more than the total (no float drift).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

# A ratio this close below a whole number of steps counts as that number: 100 / (500 * 0.6666666667)
# is 0.29999999998 lots and must give 0.30, not 0.29 (the excess risk is ~1e-8 of the budget).
_STEP_EPSILON = 1e-6


@dataclass(frozen=True)
class VolumeRules:
    volume_min: float
    volume_max: float
    volume_step: float

    @property
    def decimals(self) -> int:
        exponent = Decimal(repr(self.volume_step)).normalize().as_tuple().exponent
        return max(0, -int(exponent))

    def units(self, volume: float) -> int:
        """Whole steps in `volume`, rounded down."""
        return math.floor(volume / self.volume_step + _STEP_EPSILON)

    def min_units(self) -> int:
        """Steps in volume_min, rounded up (a leg must be at least volume_min)."""
        return max(1, math.ceil(self.volume_min / self.volume_step - _STEP_EPSILON))

    def volume(self, units: int) -> float:
        return round(units * self.volume_step, self.decimals)

    def round_down(self, volume: float) -> float:
        return self.volume(self.units(volume))


# Used for fixed-lot sizing when the bridge has not reported the symbol yet (MT5's usual FX values).
DEFAULT_VOLUME_RULES = VolumeRules(volume_min=0.01, volume_max=100.0, volume_step=0.01)


def loss_per_lot(entry: float, stop_loss: float, tick_size: float, tick_value: float) -> float:
    """Money lost by 1 lot moving from entry to SL: ticks in the distance times the value of a tick."""
    return abs(entry - stop_loss) / tick_size * tick_value


def risk_volume(budget: float, per_lot_loss: float) -> float:
    """Unrounded lots whose SL loss equals the budget."""
    return budget / per_lot_loss if per_lot_loss > 0 else 0.0


def split_units(
    total_units: int, weights: list[float], min_units: int, max_units: int | None = None
) -> list[int]:
    """Split `total_units` by `weights` (one per leg); every leg gets >= `min_units` or the last legs
    are dropped (returned as 0) until the rest can. Rounding: floor each share, then hand the leftover
    steps to the legs with the largest remainders, earliest leg first. With `max_units`, each leg is
    capped and the excess is not placed (never more than asked). The sum never exceeds `total_units`.
    """
    n = len(weights)
    if max_units is not None and max_units < min_units:
        return [0] * n  # no leg could be both under the cap and at the minimum
    for k in range(n, 0, -1):
        active = weights[:k]
        if sum(active) <= 0:
            continue
        total_w = sum(active)
        raw = [total_units * w / total_w for w in active]
        shares = [math.floor(r + 1e-9) for r in raw]
        leftover = total_units - sum(shares)
        order = sorted(range(k), key=lambda i: (-(raw[i] - shares[i]), i))
        for i in order[:leftover]:
            shares[i] += 1
        # A zero-weight leg is not traded; others must reach the minimum.
        if all(s >= min_units for s, w in zip(shares, active, strict=True) if w > 0):
            shares = [s if w > 0 else 0 for s, w in zip(shares, active, strict=True)]
            if max_units is not None:
                shares = [min(s, max_units) for s in shares]
            return shares + [0] * (n - k)
    return [0] * n
