"""The homes of a scenario, drawn from its population's distributions with its seed (reproducible).

Each home gets a building of the data (in turn), and each device with the probability of its ``share``;
its parameters are drawn uniformly from ``[low, high]`` (or fixed). The draws of one home depend on the seed
and the home's index only, so adding homes does not change the first ones.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from flexcem.data.citylearn import CityLearnData
from flexcem.sim.scenario import Distribution, Scenario

__all__ = [
    "ROOM_BAND_K",
    "AirConditionerUnit",
    "ApplianceRun",
    "EvSession",
    "HomeSpec",
    "data_set_point_c",
    "draw_population",
]

ROOM_BAND_K = 1.0
"""Half-width of an air conditioner's comfort band around its set point [K]: the band the CEM plans for."""


@dataclass(frozen=True)
class EvSession:
    """One evening's charging: plug-in and departure (local hours; departure on the next day), SoC."""

    arrival_hour: float
    departure_hour: float
    soc: float
    target_soc: float
    charger_w: float


@dataclass(frozen=True)
class ApplianceRun:
    """A programme loaded at ``hour`` (local) to be done ``flexibility_h`` later."""

    programme: str
    hour: float
    flexibility_h: float


@dataclass(frozen=True)
class AirConditionerUnit:
    """An air conditioner: compressor power [W], set point [°C] (``None``: the building's, from the data), mode."""

    power_w: float
    set_point_c: float | None = None
    mode: str = "cool"

    def band_c(self, set_point_c: float) -> tuple[float, float]:
        """The comfort band [°C] around the set point in force."""
        return set_point_c - ROOM_BAND_K, set_point_c + ROOM_BAND_K


def data_set_point_c(data: CityLearnData, start: datetime, end: datetime) -> float:
    """The building's mean cooling set point over the hours of ``[start, end)`` inside the data (all of the data
    when none is) [°C], to 0.1 K."""
    hours = int((data.end - data.start).total_seconds() // 3600)
    first = max(0, int((start - data.start).total_seconds() // 3600))
    last = min(hours, -int(-(end - data.start).total_seconds() // 3600))
    values = data.cooling_set_point_c[first:last] if last > first else data.cooling_set_point_c
    return round(float(np.mean(values)), 1)


@dataclass(frozen=True)
class HomeSpec:
    """One home: its building of the data and its devices (``None``: none)."""

    home_id: str
    building: str
    pv_w: float | None = None
    battery_wh: float | None = None
    battery_w: float | None = None
    battery_soc: float = 0.5
    heat_pump_w: float | None = None
    tank_l: float = 200.0
    ev: EvSession | None = None
    washer: ApplianceRun | None = None
    dishwasher: ApplianceRun | None = None
    ac: AirConditionerUnit | None = None

    @property
    def devices(self) -> list[str]:
        """The names of its devices."""
        names = [
            ("pv", self.pv_w),
            ("battery", self.battery_wh),
            ("heatpump", self.heat_pump_w),
            ("ev", self.ev),
            ("washer", self.washer),
            ("dishwasher", self.dishwasher),
            ("ac", self.ac),
        ]
        return [name for name, value in names if value is not None]


def _draw(rng: random.Random, value: Distribution) -> float:
    if isinstance(value, list):
        return rng.uniform(value[0], value[1])
    return float(value)


def draw_home(scenario: Scenario, index: int) -> HomeSpec:
    """Home number ``index`` of the scenario."""
    population = scenario.population
    rng = random.Random(f"{population.seed}/{index}")
    buildings = scenario.data.buildings
    has = {name: rng.random() for name in ("pv", "battery", "heat_pump", "ev", "washer", "dishwasher")}
    pv, battery, heat_pump, ev, appliances = (
        population.pv,
        population.battery,
        population.heat_pump,
        population.ev,
        population.appliances,
    )
    spec: dict[str, object] = {"home_id": f"h{index:05d}", "building": buildings[index % len(buildings)]}
    if has["pv"] < pv.share:
        spec["pv_w"] = round(_draw(rng, pv.kw) * 1000.0, 1)
    if has["battery"] < battery.share:
        spec["battery_wh"] = round(_draw(rng, battery.kwh) * 1000.0, 1)
        spec["battery_w"] = round(_draw(rng, battery.kw) * 1000.0, 1)
        spec["battery_soc"] = round(_draw(rng, battery.soc), 3)
    if has["heat_pump"] < heat_pump.share:
        spec["heat_pump_w"] = round(_draw(rng, heat_pump.power_kw) * 1000.0, 1)
        spec["tank_l"] = round(_draw(rng, heat_pump.tank_l), 0)
    if has["ev"] < ev.share:
        soc = _draw(rng, ev.soc)
        spec["ev"] = EvSession(
            arrival_hour=round(_draw(rng, ev.arrival_hour) * 4) / 4,
            departure_hour=round(_draw(rng, ev.departure_hour) * 4) / 4,
            soc=round(soc, 3),
            target_soc=round(max(_draw(rng, ev.target_soc), soc + 0.05), 3),
            charger_w=round(_draw(rng, ev.charger_kw) * 1000.0, 0),
        )
    if has["washer"] < appliances.washer:
        spec["washer"] = ApplianceRun(
            "cotton_40", round(_draw(rng, appliances.washer_hour) * 4) / 4, _draw(rng, appliances.flexibility_h)
        )
    if has["dishwasher"] < appliances.dishwasher:
        spec["dishwasher"] = ApplianceRun(
            "eco_50", round(_draw(rng, appliances.dishwasher_hour) * 4) / 4, _draw(rng, appliances.flexibility_h)
        )
    ac = population.air_conditioner
    if ac.share > 0.0:  # its own draws: adding an air conditioner does not change the other devices' draws
        ac_rng = random.Random(f"{population.seed}/{index}/ac")
        if ac_rng.random() < ac.share:
            set_point = None if ac.set_point_c is None else round(_draw(ac_rng, ac.set_point_c), 1)
            spec["ac"] = AirConditionerUnit(round(_draw(ac_rng, ac.power_kw) * 1000.0, 1), set_point, ac.mode)
    return HomeSpec(**spec)  # type: ignore[arg-type]


def draw_population(scenario: Scenario) -> list[HomeSpec]:
    """Every home of the scenario."""
    return [draw_home(scenario, index) for index in range(scenario.population.homes)]
