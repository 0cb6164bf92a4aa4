"""An electric storage water heater (JWG1110): a resistive element heating its tank to a set point and level.

The element turns electricity into heat one to one (η = 1), stepped with the tank equation of
docs/home-physics.md. The user's (or the CEM's) operating conditions are a **set point** [°C] (e.g. 90 °C, at
most the tank's ``max_c``) and a **level** [%] — how much of the tank to heat: the heater's own control stops at
T_target = T_cold + level·(set point − T_cold). Without a power from the CEM it reheats when the tank falls
3 K below the target.
"""

from __future__ import annotations

from dataclasses import dataclass

from flexcem.devices.hot_water import HotWaterTank
from flexcem.model.home_parameters import TankParameters

__all__ = ["DEFAULT_WATER_HEATER_TANK", "WaterHeaterModel"]

DEFAULT_WATER_HEATER_TANK = TankParameters(volume_l=370.0, loss_w_per_k=1.6, min_c=42.0, max_c=90.0)
"""A 370 L night-storage water heater that may be heated to 90 °C."""

RESTART_K = 3.0
"""The own control reheats this far below the target [K]."""


@dataclass
class WaterHeaterModel:
    """Element power limit [W], tank, settings and meter."""

    tank: HotWaterTank
    element_w: float = 4_400.0
    set_point_c: float = 90.0
    level_percent: float = 100.0
    consumed_wh: float = 0.0
    heating: bool = False

    def __post_init__(self) -> None:
        self.configure(self.set_point_c, self.level_percent)

    def configure(self, set_point_c: float, level_percent: float) -> None:
        """New set point [°C] and level [%]; :class:`ValueError` naming the setting when out of range."""
        p = self.tank.parameters
        if not p.cold_water_c < set_point_c <= p.max_c:
            raise ValueError(f"set_point_c {set_point_c} must lie in ({p.cold_water_c}, {p.max_c}]")
        if not 0.0 < level_percent <= 100.0:
            raise ValueError(f"level_percent {level_percent} must lie in (0, 100]")
        self.set_point_c, self.level_percent = set_point_c, level_percent

    @property
    def target_c(self) -> float:
        """Temperature the own control heats to [°C]."""
        cold = self.tank.parameters.cold_water_c
        return cold + self.level_percent / 100.0 * (self.set_point_c - cold)

    def thermostat(self, draw_w: float, dt_h: float) -> float:
        """Element power [W] the own control chooses for the next step."""
        if self.tank.temperature_c < self.target_c - RESTART_K:
            self.heating = True
        if not self.heating:
            return 0.0
        return min(self.element_w, max(0.0, self.tank.heat_to_reach_w(self.target_c, draw_w, dt_h)))

    def step(self, power_w: float, *, draw_w: float, dt_h: float) -> float:
        """Hold ``power_w`` (cut to the element and to the set point) for ``dt_h`` hours; the power drawn [W]."""
        room = max(0.0, self.tank.heat_to_reach_w(self.set_point_c, draw_w, dt_h))
        power = min(max(power_w, 0.0), self.element_w, room)
        self.tank.step(power, draw_w, dt_h)
        if self.tank.temperature_c >= self.target_c - 0.05:
            self.heating = False
        self.consumed_wh += power * dt_h
        return power
