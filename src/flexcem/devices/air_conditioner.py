"""An air conditioner conditioning one room (JWG1110): modes, fan speed and set point over the 1R1C room.

Cooling removes EER·P from the room, heating adds COP·P (docs/home-physics.md, "Rooms" and "Heat pump").
Modes: ``cool`` and ``heat`` as named; ``dry`` cools at no more than 40 % of the power (dehumidifying, slow);
``fan`` moves air only (fan power, no heat); ``auto`` cools above the set point and heats below it. The fan
speed caps the compressor: low 50 %, medium 75 %, high and auto 100 % of P_max, plus the fan's own power.
Without a power from the CEM the unit's control holds the room within ±0.5 K of the set point, or within the
comfort band of a temperature profile.
"""

from __future__ import annotations

from dataclasses import dataclass

from flexcem.devices.room import Room, ZonePower, most_power_in_band, power_to_band
from flexcem.model import AcMode, FanSpeed
from flexcem.model.home_parameters import HeatPumpParameters
from flexcem.physics import carnot_cop_at, cooling_eer_at

__all__ = ["DEFAULT_AIR_CONDITIONER", "FAN_POWER_MAX_W", "AirConditionerModel"]

DEFAULT_AIR_CONDITIONER = HeatPumpParameters(
    power_max_w=3_000.0, carnot_efficiency=0.4, cop_max=6.0, supply_space_heating_c=40.0, supply_cooling_c=8.0
)
"""A ducted 3 kW (electric) split unit, ~10 kW of cooling at 35 °C outside."""

FAN_SHARE = {FanSpeed.LOW: 0.5, FanSpeed.MEDIUM: 0.75, FanSpeed.HIGH: 1.0, FanSpeed.AUTO: 1.0}
FAN_POWER_W = {FanSpeed.LOW: 30.0, FanSpeed.MEDIUM: 50.0, FanSpeed.HIGH: 80.0, FanSpeed.AUTO: 50.0}
FAN_POWER_MAX_W = max(FAN_POWER_W.values())
"""The fan's power at its highest speed [W]: with the compressor's P_max, the most the unit draws at the site."""
DRY_SHARE = 0.4


@dataclass
class AirConditionerModel:
    """The unit, its room, its settings and its meter."""

    parameters: HeatPumpParameters
    room: Room
    on: bool = True
    mode: AcMode = AcMode.COOL
    fan: FanSpeed = FanSpeed.AUTO
    set_point_c: float = 27.0
    consumed_wh: float = 0.0

    def compressor_max_w(self) -> float:
        """Most compressor power the mode and fan allow [W]."""
        if not self.on or self.mode is AcMode.FAN:
            return 0.0
        share = FAN_SHARE[self.fan] * (DRY_SHARE if self.mode is AcMode.DRY else 1.0)
        return self.parameters.power_max_w * share

    def site_power_max_w(self) -> float:
        """The most the unit can draw at the site whatever its settings [W]: compressor P_max and the fan at its
        highest speed (the rating it declares; its schedules are site powers, the fan's included)."""
        return self.parameters.power_max_w + FAN_POWER_MAX_W

    def fan_w(self) -> float:
        """The fan's power while on [W]."""
        return FAN_POWER_W[self.fan] if self.on else 0.0

    def efficiencies(self, outdoor_c: float) -> tuple[float, float]:
        """Heating COP and cooling EER at ``outdoor_c`` [°C]."""
        p = self.parameters
        cop = carnot_cop_at(outdoor_c, p.supply_space_heating_c, p.carnot_efficiency, p.cop_max)
        eer = cooling_eer_at(outdoor_c, p.supply_cooling_c, p.carnot_efficiency, p.cop_max)
        return cop, eer

    def _heats(self) -> bool:
        return self.mode in {AcMode.HEAT, AcMode.AUTO}

    def _cools(self) -> bool:
        return self.mode in {AcMode.COOL, AcMode.DRY, AcMode.AUTO}

    def thermostat(
        self, *, outdoor_c: float, gains_w: float, dt_h: float, band: tuple[float, float] | None = None
    ) -> float:
        """Compressor power [W] the unit's control chooses for the next step."""
        cop, eer = self.efficiencies(outdoor_c)
        chosen: ZonePower = power_to_band(
            self.room,
            band or (self.set_point_c - 0.5, self.set_point_c + 0.5),
            gains_w=gains_w,
            outdoor_c=outdoor_c,
            dt_h=dt_h,
            cop=cop,
            eer=eer,
            power_max_w=self.compressor_max_w(),
            heat=self._heats(),
            cool=self._cools(),
        )
        return chosen.electric_w

    def _cooling_now(self) -> bool:
        """Whether the compressor cools (rather than heats) from the room as it is: in ``auto``, above the set
        point."""
        return self._cools() and (not self._heats() or self.room.temperature_c >= self.set_point_c)

    def band_cap_w(self, band: tuple[float, float], *, outdoor_c: float, gains_w: float, dt_h: float) -> float:
        """The most compressor power [W] that ends the step without passing the band's far edge (low, high) [°C]
        — cooling no lower than ``low``, heating no higher than ``high`` — within the mode's limit."""
        cop, eer = self.efficiencies(outdoor_c)
        cooling = self._cooling_now()
        most = most_power_in_band(
            self.room,
            band,
            gains_w=gains_w,
            outdoor_c=outdoor_c,
            dt_h=dt_h,
            efficiency=eer if cooling else cop,
            heating=not cooling,
        )
        return min(most, self.compressor_max_w())

    def step(self, power_w: float, *, outdoor_c: float, gains_w: float, dt_h: float) -> float:
        """Hold compressor ``power_w`` (cut to the mode's limit) for ``dt_h`` hours; the electric power drawn [W].

        In ``auto`` the direction follows the room: cooling when it is above the set point, heating below.
        """
        power = min(max(power_w, 0.0), self.compressor_max_w())
        cop, eer = self.efficiencies(outdoor_c)
        cooling = self._cooling_now()
        heat = -power * eer if cooling else power * cop
        self.room.step(heat + gains_w, outdoor_c, dt_h)
        drawn = power + self.fan_w()
        self.consumed_wh += drawn * dt_h
        return drawn
