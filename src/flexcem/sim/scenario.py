"""The simulation scenario: a TOML file read into pydantic v2 models (unknown keys refused).

A scenario names the **population** (number of homes, the share of homes with each device and the devices'
parameters drawn from distributions with a seed), the **data** (the CityLearn 2023 set shipped with flexcem,
the full set of ``../shared/data`` or any directory in the CityLearn layout), the **period** (start, days,
slot length), the CEMs' **settings** and the **timeline** of grid signals (tariff corrections, traffic-light
changes, load management, emergencies, energy saving, export reductions), and whether to measure each grid
signal's own effect with one more run under control without the signals (``signal_effect``). See
``docs/simulation.md``.

:func:`load_scenario` refuses a bad file with :class:`ScenarioError`, whose message names ``FILE:LINE`` and
the field of every problem.
"""

from __future__ import annotations

import re
import tomllib
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from flexcem.model.toml_locator import line_of
from flexcem.sim.scenario_signals import SignalEvent, TariffCorrectionEvent

__all__ = [
    "AirConditionerSpec",
    "CemSpec",
    "DataSpec",
    "Distribution",
    "PeriodSpec",
    "PopulationSpec",
    "Scenario",
    "ScenarioError",
    "load_scenario",
    "parse_scenario",
]

SITE_TIMEZONE = "America/Chicago"
"""Time zone of the CityLearn homes (Austin, Texas); naive times in a scenario are read in it."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Distribution = float | Annotated[list[float], Field(min_length=2, max_length=2)]
"""A parameter: a number, or ``[low, high]`` drawn uniformly per home."""


def _check_range(value: Distribution, low: float, high: float, what: str) -> Distribution:
    values = [value] if isinstance(value, float | int) else value
    if isinstance(value, list) and value[0] > value[1]:
        raise ValueError(f"{what}: [low, high] with low {value[0]} above high {value[1]}")
    for v in values:
        if not low <= v <= high:
            raise ValueError(f"{what} {v} is outside [{low}, {high}]")
    return value


class DeviceShare(_Strict):
    """Share of the homes that have the device (0–1)."""

    share: float = Field(default=0.0, ge=0.0, le=1.0, description="Probability that a home has it.")


class PvSpec(DeviceShare):
    """Rooftop PV: DC size [kW]."""

    kw: Distribution = Field(default=5.0, description="Nominal DC power [kW].")

    @field_validator("kw")
    @classmethod
    def _kw(cls, value: Distribution) -> Distribution:
        return _check_range(value, 0.5, 30.0, "kw")


class BatterySpec(DeviceShare):
    """Home battery: usable capacity [kWh], charge/discharge power [kW], initial state of charge."""

    kwh: Distribution = Field(default=10.0, description="Usable capacity [kWh].")
    kw: Distribution = Field(default=5.0, description="Most charge and discharge power [kW].")
    soc: Distribution = Field(default=0.5, description="State of charge at the start (0–1).")

    @field_validator("kwh")
    @classmethod
    def _kwh(cls, value: Distribution) -> Distribution:
        return _check_range(value, 1.0, 100.0, "kwh")

    @field_validator("kw")
    @classmethod
    def _kw(cls, value: Distribution) -> Distribution:
        return _check_range(value, 0.5, 30.0, "kw")

    @field_validator("soc")
    @classmethod
    def _soc(cls, value: Distribution) -> Distribution:
        return _check_range(value, 0.1, 0.95, "soc")


class HeatPumpSpec(DeviceShare):
    """Air-to-water heat pump with a hot-water tank (draws: the building's ``dhw_demand``)."""

    power_kw: Distribution = Field(default=3.0, description="Most electric power [kW].")
    tank_l: Distribution = Field(default=200.0, description="Tank volume [L].")

    @field_validator("power_kw")
    @classmethod
    def _power(cls, value: Distribution) -> Distribution:
        return _check_range(value, 0.5, 15.0, "power_kw")

    @field_validator("tank_l")
    @classmethod
    def _tank(cls, value: Distribution) -> Distribution:
        return _check_range(value, 50.0, 1000.0, "tank_l")


class EvSpec(DeviceShare):
    """An EV plugged in every evening: arrival and departure hours (local), state of charge on arrival, target."""

    arrival_hour: Distribution = Field(default=[17.0, 20.0], description="Plug-in hour, local [h].")
    departure_hour: Distribution = Field(default=[6.0, 8.0], description="Departure hour next morning, local [h].")
    soc: Distribution = Field(default=[0.2, 0.5], description="State of charge on arrival (0–1).")
    target_soc: Distribution = Field(default=0.9, description="State of charge wanted by departure (0–1).")
    charger_kw: Distribution = Field(default=11.0, description="Charger power [kW].")

    @field_validator("arrival_hour")
    @classmethod
    def _arrival(cls, value: Distribution) -> Distribution:
        return _check_range(value, 12.0, 23.5, "arrival_hour")

    @field_validator("departure_hour")
    @classmethod
    def _departure(cls, value: Distribution) -> Distribution:
        return _check_range(value, 4.0, 11.0, "departure_hour")

    @field_validator("soc", "target_soc")
    @classmethod
    def _soc(cls, value: Distribution) -> Distribution:
        return _check_range(value, 0.05, 1.0, "soc")

    @field_validator("charger_kw")
    @classmethod
    def _charger(cls, value: Distribution) -> Distribution:
        return _check_range(value, 4.2, 22.0, "charger_kw")


class AirConditionerSpec(DeviceShare):
    """An air conditioner holding one room (1R1C: 8 kWh/K, 200 W/K) against the gains the building's
    ``cooling_demand`` implies, at ``set_point_c``; its comfort band is the set point ± 1 K (the band the CEM
    plans for, :class:`~flexcem.planner.devices.thermal_inputs.ComfortSlot`)."""

    power_kw: Distribution = Field(default=3.0, description="Most electric power of the compressor [kW].")
    set_point_c: Distribution | None = Field(
        default=None,
        description="Set point [°C]; not given: the building's mean cooling set point over the period (the data's "
        "indoor_dry_bulb_temperature_cooling_set_point).",
    )
    mode: Literal["cool", "heat", "auto"] = Field(default="cool", description="Operating mode.")

    @field_validator("power_kw")
    @classmethod
    def _power(cls, value: Distribution) -> Distribution:
        return _check_range(value, 0.5, 15.0, "power_kw")

    @field_validator("set_point_c")
    @classmethod
    def _set_point(cls, value: Distribution | None) -> Distribution | None:
        return None if value is None else _check_range(value, 16.0, 30.0, "set_point_c")


class AppliancesSpec(_Strict):
    """Washing machine and dishwasher: share of homes, when loaded (local hour) and hours allowed to finish."""

    washer: float = Field(default=0.0, ge=0.0, le=1.0, description="Share of homes with a washing machine.")
    dishwasher: float = Field(default=0.0, ge=0.0, le=1.0, description="Share of homes with a dishwasher.")
    washer_hour: Distribution = Field(default=[7.0, 10.0], description="Washer loaded, local hour [h].")
    dishwasher_hour: Distribution = Field(default=[19.0, 21.5], description="Dishwasher loaded, local hour [h].")
    flexibility_h: Distribution = Field(default=[6.0, 10.0], description="Hours from loading to the deadline.")

    @field_validator("washer_hour", "dishwasher_hour")
    @classmethod
    def _hour(cls, value: Distribution) -> Distribution:
        return _check_range(value, 0.0, 23.5, "hour")

    @field_validator("flexibility_h")
    @classmethod
    def _flex(cls, value: Distribution) -> Distribution:
        return _check_range(value, 3.0, 24.0, "flexibility_h")


class PopulationSpec(_Strict):
    """The homes: how many, the seed of every draw, and the device mix."""

    homes: int = Field(ge=1, le=100_000, description="Number of homes.")
    seed: int = Field(default=1, description="Seed of the population's draws.")
    pv: PvSpec = PvSpec()
    battery: BatterySpec = BatterySpec()
    heat_pump: HeatPumpSpec = HeatPumpSpec()
    ev: EvSpec = EvSpec()
    appliances: AppliancesSpec = AppliancesSpec()
    air_conditioner: AirConditionerSpec = AirConditionerSpec()


class DataSpec(_Strict):
    """Where loads, PV, weather, prices and carbon intensity come from."""

    source: Literal["embedded", "directory"] = Field(
        default="embedded",
        description="'embedded': Building 1 shipped with flexcem; 'directory': CityLearn-layout CSV files.",
    )
    directory: Path | None = Field(
        default=None,
        description="With source 'directory': pricing.csv, carbon_intensity.csv, weather.csv and the buildings' "
        "files (relative paths: to the scenario file).",
    )
    buildings: tuple[str, ...] = Field(
        default=("Building_1",), min_length=1, description="Building files, assigned to homes in turn."
    )
    price_factor: float = Field(default=1.0, gt=0.0, description="Scale of the data's prices.")

    @model_validator(mode="after")
    def _directory(self) -> DataSpec:
        if self.source == "directory" and self.directory is None:
            raise ValueError("source 'directory' needs directory")
        if self.source == "embedded" and self.buildings != ("Building_1",):
            raise ValueError("the embedded data holds Building_1 only (use source = 'directory')")
        return self


class PeriodSpec(_Strict):
    """What is simulated: from ``start`` (local time of the site unless it has an offset) for ``days``."""

    start: datetime = Field(description="Start of the simulation.")
    days: float = Field(default=1.0, gt=0.0, le=31.0, description="Length [days].")
    slot_minutes: int = Field(default=15, description="Slot length of plans and reports [min]: 5, 10, 15, 30, 60.")

    @field_validator("slot_minutes")
    @classmethod
    def _slot(cls, value: int) -> int:
        if value not in (5, 10, 15, 30, 60):
            raise ValueError("slot_minutes must be one of 5, 10, 15, 30, 60")
        return value

    @field_validator("start")
    @classmethod
    def _zone(cls, value: datetime) -> datetime:
        return value if value.tzinfo is not None else value.replace(tzinfo=ZoneInfo(SITE_TIMEZONE))

    @model_validator(mode="after")
    def _aligned(self) -> PeriodSpec:
        if self.start.second or self.start.microsecond or self.start.minute % self.slot_minutes:
            raise ValueError(f"start {self.start.isoformat()} is not on a {self.slot_minutes}-minute boundary")
        return self

    @property
    def slot(self) -> timedelta:
        """The slot length."""
        return timedelta(minutes=self.slot_minutes)

    @property
    def end(self) -> datetime:
        """End of the simulation."""
        return self.start + timedelta(days=self.days)

    @property
    def slot_count(self) -> int:
        """Number of slots."""
        return int((self.end - self.start) / self.slot)


class CemSpec(_Strict):
    """The CEMs' settings (the same in every home)."""

    objective: Literal["cost", "co2", "self_consumption"] = "cost"
    import_limit_w: float | None = Field(default=None, gt=0.0, description="Contracted import limit [W].")
    export_limit_w: float | None = Field(default=None, gt=0.0, description="Export limit [W].")
    feed_in_per_kwh: float = Field(default=0.0, ge=0.0, description="Feed-in remuneration [currency/kWh].")
    load_management_comfort_k: float = Field(
        default=2.0, ge=0.0, le=10.0, description="Set-point range the user lets the grid use [K]."
    )


class Scenario(_Strict):
    """A whole scenario."""

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
    description: str = ""
    use_case: str = Field(default="", description="The use case (family) the scenario shows, e.g. JWG14.")
    period: PeriodSpec
    population: PopulationSpec
    data: DataSpec = DataSpec()
    cem: CemSpec = CemSpec()
    timeline: tuple[SignalEvent, ...] = ()
    signal_effect: bool = Field(
        default=True,
        description="With grid signals (other than tariff corrections) in the timeline, also run the homes under "
        "control without them, to measure each signal's own effect (one more run).",
    )

    @property
    def has_grid_signals(self) -> bool:
        """Whether the timeline holds a signal other than a tariff correction."""
        return any(not isinstance(event, TariffCorrectionEvent) for event in self.timeline)

    @model_validator(mode="after")
    def _events_in_period(self) -> Scenario:
        for index, event in enumerate(self.timeline):
            if not self.period.start <= event.at_time(self.period) < self.period.end:
                raise ValueError(f"timeline[{index}].at {event.at} is outside the period")
        return self


class ScenarioError(ValueError):
    """A scenario file that cannot be used; ``problems`` are ``(line or None, field, message)``."""

    def __init__(self, path: str, problems: list[tuple[int | None, str, str]]) -> None:
        self.path = path
        self.problems = problems
        text = "; ".join(
            f"{path}:{line if line is not None else '?'}: {field}: {message}" for line, field, message in problems
        )
        super().__init__(text)


def parse_scenario(text: str, path: str = "<scenario>", base: Path | None = None) -> Scenario:
    """The scenario of TOML ``text``; relative data directories are taken from ``base``."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        found = re.search(r"at line (\d+)", str(error))
        line = int(found.group(1)) if found else None
        raise ScenarioError(path, [(line, "(syntax)", str(error))]) from None
    try:
        scenario = Scenario.model_validate(raw)
    except ValidationError as error:
        problems: list[tuple[int | None, str, str]] = []
        for item in error.errors():
            loc = tuple(item["loc"])
            field = ".".join(str(part) for part in loc) or "(scenario)"
            problems.append((line_of(text, loc), field, item["msg"]))
        raise ScenarioError(path, problems) from None
    data = scenario.data
    if data.directory is not None and not data.directory.is_absolute() and base is not None:
        scenario = scenario.model_copy(
            update={"data": data.model_copy(update={"directory": (base / data.directory).resolve()})}
        )
    return scenario


def load_scenario(path: Path) -> Scenario:
    """Read and check the scenario file ``path``."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ScenarioError(str(path), [(None, "(file)", str(error))]) from None
    return parse_scenario(text, str(path), path.parent)
