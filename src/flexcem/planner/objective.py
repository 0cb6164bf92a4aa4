"""Weights of the planning objective: violation units, normalisation and the tiny tie-breaks.

The objective is lexicographic (see :class:`~flexcem.planner.builder.Level`):

1. **violations** — ``SITE_LIMIT_WEIGHT`` per kWh a site limit is exceeded, ``SHORTFALL_WEIGHT`` per kWh a
   charging session is short, ``LATENESS_WEIGHT`` per hour a job starts after its latest start or ends after
   its latest end (only when its window has no feasible start), ``SOC_BAND_WEIGHT`` / ``RESERVE_WEIGHT`` per
   kWh·h a storage is outside its band (only where it cannot help it) / below its reserve,
   ``FINAL_ENERGY_WEIGHT`` per kWh a storage ends below its final energy;
2. **CO2 / imports** — grams of CO2 of the site's imports (objective "co2") or kWh imported (objective
   "self_consumption"), plus the CO2 of the devices whose incentive is "greenest";
3. **cost** — energy cost of the site in the problem's currency (objective "weighted": the weighted sum of
   cost, CO2 and imports, in currency) plus move penalties, with tie-breaks:
   ``TIE_CO2`` (per kWh imported at the highest CO2 intensity of the horizon) and ``TIE_COMPLETION`` (per kWh
   of a device's energy times the fraction of the horizon elapsed when it is drawn or the job ends).

Inside HiGHS the cost level is divided by the largest absolute price of the horizon (objective "weighted":
the largest weighted value of a kWh) and the CO2 level by the largest CO2 intensity, so that 1 kWh at the
highest price or intensity is ``OBJECTIVE_UNIT`` (100) objective units (imports: 1 kWh is 100 units); at
that size the tie-breaks stay above HiGHS's optimality tolerances. The tie-breaks are at most 1e-5 of a kWh
at the highest price, ten times below the default MIP gap, so they never change the cost optimum beyond the
solver's tolerance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flexcem.planner.grid import FloatArray

__all__ = [
    "BLEND_CO2",
    "BLEND_VIOLATION",
    "FINAL_ENERGY_WEIGHT",
    "LATENESS_WEIGHT",
    "OBJECTIVE_UNIT",
    "RESERVE_WEIGHT",
    "SHORTFALL_WEIGHT",
    "SITE_LIMIT_WEIGHT",
    "SOC_BAND_WEIGHT",
    "TIE_CO2",
    "TIE_COMPLETION",
    "Scales",
]

SITE_LIMIT_WEIGHT = 10.0
"""Violation units per kWh above a site import or export limit."""
SHORTFALL_WEIGHT = 1.0
"""Violation units per kWh a charging session ends short of its energy."""
LATENESS_WEIGHT = 100.0
"""Violation units per hour a job starts after latest_start or ends after latest_end."""
SOC_BAND_WEIGHT = 100.0
"""Violation units per kWh·h a storage is outside its state-of-charge band (only where it starts outside)."""
RESERVE_WEIGHT = 10.0
"""Violation units per kWh·h a storage's energy is below its reserve."""
FINAL_ENERGY_WEIGHT = 1.0
"""Violation units per kWh a storage ends the horizon below its required final energy."""

OBJECTIVE_UNIT = 100.0
"""Normalised objective units per kWh at the highest price (cost level) or CO2 intensity (CO2 level)."""

BLEND_VIOLATION = 1e5
"""Weight of the violation level in the first, blended solve (normalised units per violation unit)."""

BLEND_CO2 = 1e3
"""Weight of a solved CO2 level in the cost level below it (it is also bounded by its optimum)."""

TIE_CO2 = 1e-5
"""Tie-break per kWh imported at the horizon's highest CO2 intensity (in kWh at the highest price)."""
TIE_COMPLETION = 1e-6
"""Tie-break per kWh of device energy per horizon elapsed (in kWh at the highest price): earlier first."""


@dataclass(frozen=True)
class Scales:
    """Normalisation of the cost and CO2 levels for one problem."""

    price_per_kwh: float
    """Currency per kWh that is one objective unit: the largest absolute price of the horizon (or 1)."""
    co2_g_per_kwh: float
    """g/kWh that is one objective unit: the largest CO2 intensity of the horizon (or 1)."""

    @classmethod
    def of(cls, prices: FloatArray, export_prices: FloatArray, co2: FloatArray | None) -> Scales:
        """Scales for the resampled price, export price and CO2 arrays of a horizon."""
        price_scale = float(max(np.max(np.abs(prices), initial=0.0), np.max(np.abs(export_prices), initial=0.0)))
        co2_scale = float(np.max(co2, initial=0.0)) if co2 is not None else 0.0
        return cls(
            price_per_kwh=price_scale if price_scale > 0 else 1.0,
            co2_g_per_kwh=co2_scale if co2_scale > 0 else 1.0,
        )

    def cost(self, currency: float | FloatArray) -> FloatArray:
        """An amount of currency in normalised objective units."""
        return np.asarray(currency, dtype=np.float64) * (OBJECTIVE_UNIT / self.price_per_kwh)

    def co2(self, grams: float | FloatArray) -> FloatArray:
        """An amount of CO2 [g] in normalised objective units."""
        return np.asarray(grams, dtype=np.float64) * (OBJECTIVE_UNIT / self.co2_g_per_kwh)

    @staticmethod
    def energy(kwh: float | FloatArray) -> FloatArray:
        """An amount of energy [kWh] in normalised objective units (the imports of "self_consumption")."""
        return np.asarray(kwh, dtype=np.float64) * OBJECTIVE_UNIT

    @staticmethod
    def tie(kwh_at_highest_price: float | FloatArray) -> FloatArray:
        """A tie-break expressed in kWh at the highest price, in normalised objective units."""
        return np.asarray(kwh_at_highest_price, dtype=np.float64) * OBJECTIVE_UNIT
