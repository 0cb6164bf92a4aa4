"""A residential fuel-cell CHP unit with its hot-water tank (JWG1111, JWG1133, JWG1202, JWG1211).

Electric output P in {0} ∪ [P_min, P_max]; heat P·η_th/η_el into its tank (stepped with the tank equation of
docs/home-physics.md; what the full tank cannot take is dumped through the unit's radiator and counted); gas
P/η_el, in m³ at ``gas_kwh_per_m3`` (13A city gas: 12.5 kWh/m³). The controller keeps the stack's minimum on
and off times and refuses — naming the reason — a start too soon after a stop, a stop too soon after a start,
or a start with a full tank; a power between 0 and P_min is refused as well.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flexcem.devices.hot_water import HotWaterTank
from flexcem.model.home_parameters import FuelCellParameters, TankParameters

__all__ = ["DEFAULT_FUEL_CELL", "DEFAULT_FUEL_CELL_TANK", "FuelCellModel"]

DEFAULT_FUEL_CELL = FuelCellParameters(
    power_max_w=700.0,
    power_min_w=200.0,
    electrical_efficiency=0.40,
    thermal_efficiency=0.50,
    min_on_h=1.0,
    min_off_h=1.0,
)
"""A 700 W PEFC unit (ENE-FARM class): 40 % electric, 50 % heat."""

DEFAULT_FUEL_CELL_TANK = TankParameters(volume_l=140.0, loss_w_per_k=1.2, min_c=40.0, max_c=60.0)
"""Its 140 L hot-water tank, heated to 60 °C."""


@dataclass
class FuelCellModel:
    """The unit's state: running or not since when, its set output [W], tank and meters."""

    parameters: FuelCellParameters
    tank: HotWaterTank
    running: bool = False
    since: datetime | None = None
    output_w: float = 0.0
    generated_wh: float = 0.0
    gas_m3: float = 0.0
    dumped_wh: float = 0.0

    def refusal(self, now: datetime, power_w: float) -> str | None:
        """Why the unit would not go to ``power_w`` [W ≥ 0] at ``now``, or ``None`` when it would."""
        p = self.parameters
        if power_w < 0.0 or power_w > p.power_max_w + 1e-6:
            return f"output {power_w:.0f} W is outside 0–{p.power_max_w:.0f} W"
        if 0.0 < power_w < p.power_min_w - 1e-6:
            return f"output {power_w:.0f} W is below the stack's minimum of {p.power_min_w:.0f} W"
        held = None if self.since is None else now - self.since
        if power_w > 0.0 and not self.running:
            if held is not None and held < timedelta(hours=p.min_off_h):
                return f"stopped {_minutes(held)} ago; the minimum off time is {_minutes(p.min_off_h)}"
            if self.tank.full:
                return f"the hot-water tank is full ({self.tank.temperature_c:.1f} °C)"
        if power_w == 0.0 and self.running and held is not None and held < timedelta(hours=p.min_on_h):
            return f"started {_minutes(held)} ago; the minimum on time is {_minutes(p.min_on_h)}"
        return None

    def command(self, now: datetime, power_w: float) -> str | None:
        """Go to ``power_w`` [W] from ``now`` unless refused; the refusal's reason."""
        reason = self.refusal(now, power_w)
        if reason is not None:
            return reason
        if (power_w > 0.0) != self.running:
            self.running, self.since = power_w > 0.0, now
        self.output_w = power_w
        return None

    @property
    def gas_flow_m3_per_h(self) -> float:
        """Gas consumption now [m³/h]."""
        p = self.parameters
        return self.output_w / p.electrical_efficiency / 1000.0 / p.gas_kwh_per_m3

    @property
    def heat_w(self) -> float:
        """Heat output now [W]."""
        p = self.parameters
        return self.output_w * p.thermal_efficiency / p.electrical_efficiency

    def step(self, *, draw_w: float, dt_h: float) -> float:
        """Run ``dt_h`` hours at the set output while hot water is drawn [W]; the electric output [W]."""
        taken = self.tank.step(self.heat_w, draw_w, dt_h)
        self.generated_wh += self.output_w * dt_h
        self.gas_m3 += self.gas_flow_m3_per_h * dt_h
        self.dumped_wh += taken.rejected_w * dt_h
        return self.output_w


def _minutes(value: timedelta | float) -> str:
    hours = value.total_seconds() / 3600.0 if isinstance(value, timedelta) else value
    return f"{hours * 60:.0f} min"
