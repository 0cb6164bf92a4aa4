"""Real inputs for the thermal planner tests: CityLearn 2023 phase 3 (MIT), hourly, 1 June – 31 August 2021.

Weather (``outdoor_dry_bulb_temperature`` [°C]), a building's ``dhw_demand`` and ``cooling_demand`` [kWh in the
hour = mean kW thermal] and its indoor cooling set point, and the two-level electricity price [USD/kWh]
(0.03025, and 0.06605 from 15:00 to 18:00). Row *i* covers the hour ``[START + i h, START + (i + 1) h)``; the
clock is the data's local standard time (UTC−6).
"""

from __future__ import annotations

import csv
from datetime import datetime, timedelta
from functools import cache
from importlib import resources

import numpy as np
import numpy.typing as npt

from flexcem.data import DATA_START
from flexcem.model.tariff import PriceSlot
from flexcem.model.timeseries import PowerSlot
from flexcem.planner.devices.thermal_inputs import ComfortSlot, GasPriceSlot, HeatSlot, TemperatureSlot

START = DATA_START
HOUR = timedelta(hours=1)
"""One hour."""

FloatArray = npt.NDArray[np.float64]


@cache
def _embedded_rows() -> list[dict[str, str]]:
    path = resources.files("flexcem.data").joinpath("files", "citylearn_2023_phase3_building1.csv")
    with path.open("r", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@cache
def column(file: str, name: str) -> FloatArray:
    """One column, in the data set's own units, of ``file`` of the data set (the embedded subset holds the
    columns of ``pricing.csv``, ``weather.csv`` and ``Building_1.csv`` that the tests use)."""
    if file not in ("pricing.csv", "weather.csv", "Building_1.csv"):
        raise ValueError(f"the embedded data hold no {file}")
    return np.array([float(row[name]) for row in _embedded_rows()])


def at(hour: int) -> datetime:
    """Start of hour ``hour`` of the data set."""
    return START + hour * HOUR


def day_start(day: int) -> int:
    """Index of the first hour (00:00) of day ``day`` (0 = 1 June)."""
    return 24 * day


def outdoor(first: int, hours: int) -> tuple[TemperatureSlot, ...]:
    """Hourly outdoor temperature from hour ``first``."""
    values = column("weather.csv", "outdoor_dry_bulb_temperature")
    return tuple(
        TemperatureSlot(start=at(h), duration=HOUR, temperature_c=float(values[h])) for h in range(first, first + hours)
    )


def draws(first: int, hours: int, building: int = 1) -> tuple[HeatSlot, ...]:
    """Hourly hot-water draws [W thermal] of a building from hour ``first``."""
    values = column(f"Building_{building}.csv", "dhw_demand")
    return tuple(
        HeatSlot(start=at(h), duration=HOUR, heat_w=float(values[h]) * 1000.0) for h in range(first, first + hours)
    )


def cooling_gains(first: int, hours: int, loss_w_per_k: float, building: int = 1) -> tuple[HeatSlot, ...]:
    """Internal and solar gains [W] implied by a building's cooling demand at its set point.

    At the set point the cooling removes the gains plus what comes through the envelope:
    ``gains = cooling_demand − UA·(T_out − T_set)``, kept ≥ 0.
    """
    demand = column(f"Building_{building}.csv", "cooling_demand") * 1000.0
    set_point = column(f"Building_{building}.csv", "indoor_dry_bulb_temperature_cooling_set_point")
    t_out = column("weather.csv", "outdoor_dry_bulb_temperature")
    return tuple(
        HeatSlot(
            start=at(h), duration=HOUR, heat_w=max(0.0, float(demand[h] - loss_w_per_k * (t_out[h] - set_point[h])))
        )
        for h in range(first, first + hours)
    )


def prices(first: int, hours: int) -> tuple[PriceSlot, ...]:
    """Hourly electricity prices [USD/kWh] from hour ``first``."""
    values = column("pricing.csv", "electricity_pricing")
    return tuple(
        PriceSlot(start=at(h), duration=HOUR, price_per_kwh=float(values[h])) for h in range(first, first + hours)
    )


def comfort(
    first: int,
    hours: int,
    *,
    set_point_c: float | None = None,
    lower_c: float | None = None,
    upper_c: float | None = None,
) -> tuple[ComfortSlot, ...]:
    """One comfort slot over the hours (a set point or a band)."""
    return (
        ComfortSlot(start=at(first), duration=hours * HOUR, set_point_c=set_point_c, lower_c=lower_c, upper_c=upper_c),
    )


def gas(first: int, hours: int, price_per_m3: float) -> tuple[GasPriceSlot, ...]:
    """A flat gas price over the hours [USD/m³]."""
    return (GasPriceSlot(start=at(first), duration=hours * HOUR, price_per_m3=price_per_m3),)


def hottest_day(*, with_peak_price: bool = False) -> int:
    """The day with the highest outdoor temperature (among the days with a price peak, if asked)."""
    daily_max = column("weather.csv", "outdoor_dry_bulb_temperature").reshape(-1, 24).max(axis=1)
    if with_peak_price:
        has_peak = column("pricing.csv", "electricity_pricing").reshape(-1, 24).max(axis=1) > 0.05
        daily_max = np.where(has_peak, daily_max, -np.inf)
    return int(np.argmax(daily_max))


def base_load(first: int, hours: int, building: int = 1) -> tuple[PowerSlot, ...]:
    """Hourly non-shiftable load [W] of a building from hour ``first`` (committed load)."""
    values = column(f"Building_{building}.csv", "non_shiftable_load")
    return tuple(
        PowerSlot(start=at(h), duration=HOUR, power_w=float(values[h]) * 1000.0) for h in range(first, first + hours)
    )


def quarter_hourly(values: FloatArray) -> FloatArray:
    """Hourly values repeated for each 15-minute slot."""
    return np.repeat(values, 4)


PEAK_HOURS = range(15, 18)
"""Hours of the day with the high price (on weekdays)."""
