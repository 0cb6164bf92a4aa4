"""A hot-water tank stepped with the exact equation of docs/home-physics.md (heat pump, water heater, fuel cell).

    C·dT/dt = Q_in − Q_draw − UA·(T − T_amb)        C [kWh/K], Q [kW], UA [kW/K]

stepped exactly for heat held constant over the step: T[k+1] = decay·T[k] + gain·((Q_in − Q_draw)/C + λ·T_amb),
λ = UA/C. Heat input that would take the tank past its upper limit ``max_c`` is not taken: the step stores just
enough to end on the limit and reports the rest as rejected (a fuel cell dumps it through its radiator; a
heater's thermostat would have switched off).
"""

from __future__ import annotations

from dataclasses import dataclass

from flexcem.model.home_parameters import TankParameters
from flexcem.physics import hot_water_remaining_l, tank_step_coefficients

__all__ = ["KWH_TO_MJ", "HotWaterTank", "TankStep"]

KWH_TO_MJ = 3.6
"""Megajoules per kilowatt-hour."""


@dataclass(frozen=True)
class TankStep:
    """Heat stored [W] and heat rejected because the tank was full [W] over one step."""

    heat_in_w: float
    rejected_w: float


@dataclass
class HotWaterTank:
    """The tank's state: water temperature [°C] (mixed, one node)."""

    parameters: TankParameters
    temperature_c: float

    def _coefficients(self, dt_h: float) -> tuple[float, float, float]:
        p = self.parameters
        k = tank_step_coefficients(p.heat_capacity_kwh_per_k, p.loss_w_per_k, dt_h)
        rate = p.loss_w_per_k / 1000.0 / p.heat_capacity_kwh_per_k
        return k.decay, k.gain, rate

    def next_temperature_c(self, heat_in_w: float, draw_w: float, dt_h: float) -> float:
        """Temperature after ``dt_h`` hours with heat input and hot-water draw [W thermal] held constant."""
        p = self.parameters
        decay, gain, rate = self._coefficients(dt_h)
        forcing = (heat_in_w - draw_w) / 1000.0 / p.heat_capacity_kwh_per_k + rate * p.ambient_c
        return decay * self.temperature_c + gain * forcing

    def heat_to_reach_w(self, target_c: float, draw_w: float, dt_h: float) -> float:
        """Constant heat input [W] that ends the step at ``target_c`` (may be negative: it cools anyway)."""
        p = self.parameters
        decay, gain, rate = self._coefficients(dt_h)
        forcing = (target_c - decay * self.temperature_c) / gain
        return ((forcing - rate * p.ambient_c) * p.heat_capacity_kwh_per_k * 1000.0) + draw_w

    def step(self, heat_in_w: float, draw_w: float, dt_h: float) -> TankStep:
        """Take ``heat_in_w`` (at most what fills it to ``max_c``) for ``dt_h`` hours while ``draw_w`` is drawn."""
        room = max(0.0, self.heat_to_reach_w(self.parameters.max_c, draw_w, dt_h))
        stored = min(max(heat_in_w, 0.0), room)
        self.temperature_c = self.next_temperature_c(stored, draw_w, dt_h)
        return TankStep(heat_in_w=stored, rejected_w=max(heat_in_w, 0.0) - stored)

    @property
    def remaining_l(self) -> float:
        """Hot water left [L] at the lowest useful temperature (docs/home-physics.md)."""
        p = self.parameters
        return hot_water_remaining_l(self.temperature_c, p.volume_l, p.cold_water_c, p.min_c, p.max_c)

    @property
    def level_percent(self) -> float:
        """Charge level [%]: (T − T_cold)/(T_max − T_cold), clipped to 0–100."""
        p = self.parameters
        return min(max(100.0 * (self.temperature_c - p.cold_water_c) / (p.max_c - p.cold_water_c), 0.0), 100.0)

    @property
    def heat_mj(self) -> float:
        """Heat stored above cold water [MJ]."""
        p = self.parameters
        return max(0.0, p.heat_capacity_kwh_per_k * (self.temperature_c - p.cold_water_c) * KWH_TO_MJ)

    @property
    def full(self) -> bool:
        """Whether the tank is at its upper limit (within 0.05 K)."""
        return self.temperature_c >= self.parameters.max_c - 0.05
