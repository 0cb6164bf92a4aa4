"""Physical parameters of the home's devices, as a device announces them and the planner uses them.

The equations that use them are in ``docs/home-physics.md`` and :mod:`flexcem.physics`. Units are in the field
names: W, Wh, °C (``_c``), K, L, hours (``_h``), fractions (0–1).
"""

from __future__ import annotations

from typing import Self

from pydantic import Field, model_validator

from flexcem.model.base import FlexModel, Share

__all__ = [
    "BatteryParameters",
    "FuelCellParameters",
    "HeatPumpParameters",
    "PvParameters",
    "RoomParameters",
    "TankParameters",
]


class BatteryParameters(FlexModel):
    """A stationary storage battery seen from its AC connection (JWG112x, JWG1131)."""

    capacity_wh: float = Field(gt=0.0, description="Nominal usable capacity [Wh].")
    soc_min: Share = Field(default=0.1, description="Lowest state of charge allowed [fraction of capacity].")
    soc_max: Share = Field(default=0.95, description="Highest state of charge allowed [fraction of capacity].")
    charge_power_max_w: float = Field(gt=0.0, description="Most power the battery takes when charging [W, AC side].")
    discharge_power_max_w: float = Field(gt=0.0, description="Most power given when discharging [W, AC side].")
    charge_efficiency: float = Field(default=0.95, gt=0.0, le=1.0, description="AC→stored energy efficiency (0–1].")
    discharge_efficiency: float = Field(default=0.95, gt=0.0, le=1.0, description="Stored energy→AC efficiency (0–1].")
    self_discharge_per_h: float = Field(
        default=0.0001, ge=0.0, lt=1.0, description="Stored energy lost per hour [fraction of the stored energy]."
    )
    standby_w: float = Field(default=0.0, ge=0.0, description="Power the inverter draws from the site when idle [W].")
    nominal_voltage_v: float = Field(default=48.0, gt=0.0, description="Nominal DC voltage [V] (current = P/V).")

    @model_validator(mode="after")
    def _band(self) -> Self:
        if self.soc_min > self.soc_max:
            raise ValueError(f"soc_min {self.soc_min} is above soc_max {self.soc_max}")
        return self


class PvParameters(FlexModel):
    """A PV system: array, orientation and inverter, for a forecast through pvlib (JWG1134)."""

    nominal_power_w: float = Field(gt=0.0, description="DC nameplate power at standard test conditions [W].")
    tilt_deg: float = Field(default=30.0, ge=0.0, le=90.0, description="Array tilt from horizontal [°].")
    azimuth_deg: float = Field(default=180.0, ge=0.0, lt=360.0, description="Array azimuth, clockwise from north [°].")
    temperature_coefficient_per_k: float = Field(
        default=-0.004, le=0.0, description="Relative change of DC power per kelvin of cell temperature [1/K]."
    )
    inverter_ac_max_w: float | None = Field(
        default=None, gt=0.0, description="Inverter AC limit [W]; default: the nominal power."
    )
    inverter_efficiency: float = Field(default=0.96, gt=0.0, le=1.0, description="Nominal inverter efficiency (0–1].")
    system_losses: Share = Field(default=0.14, description="Soiling, wiring, mismatch and other losses [fraction].")
    curtailable: bool = Field(default=True, description="Whether the inverter can be limited or switched off.")


class TankParameters(FlexModel):
    """A hot-water storage tank (heat pump, water heater, fuel cell)."""

    volume_l: float = Field(gt=0.0, description="Water volume [L].")
    loss_w_per_k: float = Field(default=2.0, ge=0.0, description="Heat-loss coefficient UA to its surroundings [W/K].")
    ambient_c: float = Field(default=20.0, description="Temperature around the tank [°C].")
    cold_water_c: float = Field(default=15.0, description="Temperature of the water that refills it [°C].")
    min_c: float = Field(default=45.0, description="Lowest useful hot-water temperature [°C].")
    max_c: float = Field(default=65.0, description="Highest temperature it may be heated to (set point limit) [°C].")

    @model_validator(mode="after")
    def _band(self) -> Self:
        if not self.cold_water_c < self.min_c <= self.max_c:
            raise ValueError(
                f"tank temperatures must satisfy cold_water_c < min_c <= max_c, "
                f"got {self.cold_water_c}, {self.min_c}, {self.max_c}"
            )
        return self

    @property
    def heat_capacity_kwh_per_k(self) -> float:
        """C = V · 4.186 kJ/(L·K) [kWh/K]."""
        return self.volume_l * 4.186 / 3600.0


class HeatPumpParameters(FlexModel):
    """An air-source heat pump: electric power, COP model (JWG112x, JWG1132)."""

    power_max_w: float = Field(gt=0.0, description="Most electric power [W].")
    power_min_w: float = Field(
        default=0.0, ge=0.0, description="Least electric power when running [W]; 0 for a fully modulating unit."
    )
    carnot_efficiency: float = Field(default=0.45, gt=0.0, le=1.0, description="Fraction of the Carnot COP reached.")
    cop_max: float = Field(default=6.0, ge=1.0, description="Upper bound of the COP / EER.")
    supply_hot_water_c: float = Field(default=55.0, description="Condenser temperature when heating water [°C].")
    supply_space_heating_c: float = Field(default=35.0, description="Supply temperature for space heating [°C].")
    supply_cooling_c: float = Field(default=10.0, description="Evaporator temperature when cooling [°C].")

    @model_validator(mode="after")
    def _range(self) -> Self:
        if self.power_min_w > self.power_max_w:
            raise ValueError(f"power_min_w {self.power_min_w} is above power_max_w {self.power_max_w}")
        return self


class RoomParameters(FlexModel):
    """One thermal zone, first order (1R1C)."""

    heat_capacity_kwh_per_k: float = Field(gt=0.0, description="Heat capacity of air, walls and furniture [kWh/K].")
    loss_w_per_k: float = Field(gt=0.0, description="Heat-loss coefficient UA to outdoors [W/K].")


class FuelCellParameters(FlexModel):
    """A residential fuel-cell CHP unit (JWG1111, JWG1133)."""

    power_max_w: float = Field(gt=0.0, description="Most electric output [W].")
    power_min_w: float = Field(default=0.0, ge=0.0, description="Least electric output when running [W].")
    electrical_efficiency: float = Field(default=0.4, gt=0.0, le=1.0, description="Electric output / gas input.")
    thermal_efficiency: float = Field(default=0.5, ge=0.0, le=1.0, description="Heat output / gas input.")
    gas_kwh_per_m3: float = Field(default=12.5, gt=0.0, description="Energy of the gas [kWh/m³] (13A: 12.5).")
    min_on_h: float = Field(default=1.0, ge=0.0, description="Least time it runs once started [h].")
    min_off_h: float = Field(default=1.0, ge=0.0, description="Least time it stays off once stopped [h].")
    backup_boiler_power_max_w: float = Field(
        default=0.0,
        ge=0.0,
        description="Heat output of the backup gas boiler that heats the tank when the fuel cell does not "
        "[W thermal]; 0: none.",
    )
    backup_boiler_efficiency: float = Field(
        default=0.9, gt=0.0, le=1.0, description="Heat output / gas input of the backup boiler (0–1]."
    )

    @model_validator(mode="after")
    def _range(self) -> Self:
        if self.power_min_w > self.power_max_w:
            raise ValueError(f"power_min_w {self.power_min_w} is above power_max_w {self.power_max_w}")
        if self.electrical_efficiency + self.thermal_efficiency > 1.0:
            raise ValueError(
                f"electrical_efficiency + thermal_efficiency = "
                f"{self.electrical_efficiency + self.thermal_efficiency} exceeds 1"
            )
        return self
