"""An air-source heat pump with its hot-water tank and, optionally, the room it heats or cools (JWG112x, JWG1132).

Electric power goes to two circuits, each stepped with docs/home-physics.md:

* hot water: heat COP_hw·P_hw into the tank, COP_hw = carnot_cop(T_out, T_sup,hw); the draws are the data's
  ``dhw_demand``;
* space: heat COP_sh·P_sp (or cooling EER·P_sp) into the room, with the gains of :func:`room_gains_w`.

The unit has one compressor: P_hw + P_sp ≤ P_max, hot water first. When the CEM gives no power (no schedule,
or the fail-safe), its own thermostat runs it: hot water with a hysteresis (on below ``min_c + 3 K``, off at
``max_c``), the room to its comfort band. An extra-hot-water request (JWG1121) heats the tank to ``max_c`` at
once. A power that would overfill the tank is reduced so that the tank ends the step at ``max_c``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from flexcem.devices.hot_water import HotWaterTank
from flexcem.devices.room import Room, ZonePower, most_power_in_band, power_to_band
from flexcem.model.home_parameters import HeatPumpParameters, TankParameters
from flexcem.physics import carnot_cop_at, cooling_eer_at

__all__ = ["DEFAULT_HEAT_PUMP", "DEFAULT_HEAT_PUMP_TANK", "HeatPumpModel", "HeatPumpStep", "SpaceMode"]

DEFAULT_HEAT_PUMP = HeatPumpParameters(power_max_w=3_000.0, power_min_w=0.0, carnot_efficiency=0.45, cop_max=6.0)
"""A 3 kW (electric) fully modulating air-to-water heat pump."""

DEFAULT_HEAT_PUMP_TANK = TankParameters(volume_l=200.0, loss_w_per_k=1.8, min_c=45.0, max_c=55.0)
"""A 200 L indirect cylinder heated to at most the condenser's 55 °C."""

HYSTERESIS_K = 3.0
"""The thermostat restarts hot-water heating this far above ``min_c`` [K]."""


class SpaceMode(StrEnum):
    """What the space circuit does."""

    OFF = "off"
    HEAT = "heat"
    COOL = "cool"


@dataclass(frozen=True)
class HeatPumpStep:
    """Electric power [W] on each circuit over one step, and heat into the tank and the room [W]."""

    hot_water_w: float
    space_w: float
    tank_heat_w: float
    room_heat_w: float

    @property
    def power_w(self) -> float:
        """Total electric power [W]."""
        return self.hot_water_w + self.space_w


@dataclass
class HeatPumpModel:
    """Heat pump, tank and (optional) room, with the unit's own thermostat and its meter."""

    parameters: HeatPumpParameters
    tank: HotWaterTank
    room: Room | None = None
    space_mode: SpaceMode = SpaceMode.OFF
    comfort_band_c: tuple[float, float] = (22.0, 25.0)
    consumed_wh: float = 0.0
    heating_water: bool = False
    boost: bool = False

    def cop_hot_water(self, outdoor_c: float) -> float:
        """COP of the hot-water circuit at ``outdoor_c`` [°C]."""
        p = self.parameters
        return carnot_cop_at(outdoor_c, p.supply_hot_water_c, p.carnot_efficiency, p.cop_max)

    def cop_space(self, outdoor_c: float) -> tuple[float, float]:
        """Heating COP and cooling EER of the space circuit at ``outdoor_c`` [°C]."""
        p = self.parameters
        cop = carnot_cop_at(outdoor_c, p.supply_space_heating_c, p.carnot_efficiency, p.cop_max)
        eer = cooling_eer_at(outdoor_c, p.supply_cooling_c, p.carnot_efficiency, p.cop_max)
        return cop, eer

    def thermostat(self, outdoor_c: float, draw_w: float, gains_w: float, dt_h: float) -> tuple[float, float]:
        """Electric power [W] (hot water, space) the unit's own control chooses for the next step."""
        p, tank = self.parameters, self.tank
        if tank.temperature_c < tank.parameters.min_c + HYSTERESIS_K:
            self.heating_water = True
        if self.boost or self.heating_water:
            need = tank.heat_to_reach_w(tank.parameters.max_c, draw_w, dt_h) / self.cop_hot_water(outdoor_c)
            hot_water = min(p.power_max_w, max(0.0, need))
        else:
            hot_water = 0.0
        space = self._space_power(outdoor_c, gains_w, dt_h, p.power_max_w - hot_water).electric_w
        return hot_water, space

    def tank_guard_w(self, outdoor_c: float, draw_w: float, dt_h: float) -> float:
        """The least hot-water electric power [W] that ends the step with the tank at ``min_c`` or above, within
        P_max (0 when the tank stays above it on its own): the tank's floor kept under a schedule."""
        tank = self.tank
        need = tank.heat_to_reach_w(tank.parameters.min_c, draw_w, dt_h) / self.cop_hot_water(outdoor_c)
        return min(self.parameters.power_max_w, max(0.0, need))

    def room_guard_w(
        self, band: tuple[float, float], outdoor_c: float, gains_w: float, dt_h: float, power_max_w: float
    ) -> float:
        """The least space electric power [W] that ends the step inside ``band`` (low, high) [°C] in the space
        mode's direction, within ``power_max_w`` (0 without a room, with the space circuit off, or when the room
        stays in the band on its own)."""
        return self._space_power(outdoor_c, gains_w, dt_h, power_max_w, band).electric_w

    def room_cap_w(self, band: tuple[float, float], outdoor_c: float, gains_w: float, dt_h: float) -> float:
        """The most space electric power [W] that ends the step without passing the band's far edge (low, high)
        [°C] in the space mode's direction — heating no higher than ``high``, cooling no lower than ``low`` —
        within P_max (P_max without a room or with the space circuit off: nothing to cap)."""
        p = self.parameters
        if self.room is None or self.space_mode is SpaceMode.OFF:
            return p.power_max_w
        cop, eer = self.cop_space(outdoor_c)
        heating = self.space_mode is SpaceMode.HEAT
        most = most_power_in_band(
            self.room,
            band,
            gains_w=gains_w,
            outdoor_c=outdoor_c,
            dt_h=dt_h,
            efficiency=cop if heating else eer,
            heating=heating,
        )
        return min(most, p.power_max_w)

    def taken(
        self, hot_water_w: float, space_w: float, *, outdoor_c: float, draw_w: float, dt_h: float
    ) -> tuple[float, float]:
        """The electric powers [W] (hot water, space) :meth:`step` would hold for ``dt_h`` hours: cut to P_max (hot
        water first), to what fills the tank to ``max_c`` by the step's end, and to nothing on a space circuit
        that is off. Held from the step's start, they end it on the same state whether stepped at once or in
        pieces (the tank approaches ``max_c`` monotonically, so no piece is cut again)."""
        p = self.parameters
        hot_water = min(max(hot_water_w, 0.0), p.power_max_w)
        room = max(0.0, self.tank.heat_to_reach_w(self.tank.parameters.max_c, draw_w, dt_h))
        hot_water = min(hot_water, room / self.cop_hot_water(outdoor_c))
        if self.room is None or self.space_mode is SpaceMode.OFF:
            return hot_water, 0.0
        return hot_water, min(max(space_w, 0.0), p.power_max_w - hot_water)

    def _space_power(
        self,
        outdoor_c: float,
        gains_w: float,
        dt_h: float,
        power_max_w: float,
        band: tuple[float, float] | None = None,
    ) -> ZonePower:
        if self.room is None or self.space_mode is SpaceMode.OFF or power_max_w <= 0.0:
            return ZonePower(0.0, 0.0)
        cop, eer = self.cop_space(outdoor_c)
        return power_to_band(
            self.room,
            band or self.comfort_band_c,
            gains_w=gains_w,
            outdoor_c=outdoor_c,
            dt_h=dt_h,
            cop=cop,
            eer=eer,
            power_max_w=power_max_w,
            heat=self.space_mode is SpaceMode.HEAT,
            cool=self.space_mode is SpaceMode.COOL,
        )

    def step(
        self, hot_water_w: float, space_w: float, *, outdoor_c: float, draw_w: float, gains_w: float, dt_h: float
    ) -> HeatPumpStep:
        """Hold the electric powers [W] for ``dt_h`` hours (cut to P_max, hot water first, and to a full tank)."""
        p = self.parameters
        hot_water = min(max(hot_water_w, 0.0), p.power_max_w)
        space = min(max(space_w, 0.0), p.power_max_w - hot_water) if self.room is not None else 0.0
        cop = self.cop_hot_water(outdoor_c)
        taken = self.tank.step(hot_water * cop, draw_w, dt_h)
        hot_water = taken.heat_in_w / cop
        if self.tank.full:
            self.heating_water = self.boost = False
        room_heat = 0.0
        if self.room is not None:
            cop_sh, eer = self.cop_space(outdoor_c)
            if self.space_mode is SpaceMode.HEAT:
                room_heat = space * cop_sh
            elif self.space_mode is SpaceMode.COOL:
                room_heat = -space * eer
            else:
                space = 0.0
            self.room.step(room_heat + gains_w, outdoor_c, dt_h)
        self.consumed_wh += (hot_water + space) * dt_h
        return HeatPumpStep(hot_water_w=hot_water, space_w=space, tank_heat_w=taken.heat_in_w, room_heat_w=room_heat)
