"""Real hourly inputs of the home's physics: weather and a building's demands (CityLearn 2023, MIT licence).

The CityLearn Challenge 2023 phase 3 data set (``citylearn_challenge_2023_phase_3_1``) covers 2,208 hours,
1 June – 31 August, of single-family houses in Texas. Its clock is **local standard time without daylight
saving**; the solar geometry fixes which: with the site in Austin (30.27° N, 97.74° W) the irradiance is
zero at night and centred on solar noon (≈ 12:33 local standard time) only for UTC−6, central standard time
(UTC−8 would put 161 hours of irradiance before sunrise or after sunset, UTC−5 68 hours). Row *i* covers the
hour ending at its ``hour`` column; the calendar is 2021 (1 June 2021 is a Tuesday, the data's ``day_type`` 2).

Columns used, with units as CityLearn defines them:

* ``outdoor_dry_bulb_temperature`` [°C];
* ``direct_solar_irradiance`` [W/m²] — **beam normal** irradiance (DNI): its daily profile is flat, ~500 W/m²
  from 10:00 to 15:00 and already 340 W/m² in the hour to 08:00, which a horizontal beam component cannot be;
* ``diffuse_solar_irradiance`` [W/m²] — diffuse horizontal irradiance (DHI);
* ``non_shiftable_load``, ``dhw_demand``, ``cooling_demand`` [kWh in the hour = mean kW; dhw/cooling thermal];
* ``solar_generation`` [W of AC output per kW of installed PV] — CityLearn's own PV simulation, used here only
  to check the pvlib forecast.

The embedded subset (``flexcem/sim/data/citylearn_2023_phase3_weather_building1.csv``, with the licence)
holds the weather and Building 1's demands; :meth:`HomeData.from_directory` reads the full data set.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from importlib import resources
from pathlib import Path

import numpy as np
import numpy.typing as npt

__all__ = ["DATA_CLOCK", "HOURLY_START", "SITE", "HomeData", "Site"]

FloatArray = npt.NDArray[np.float64]

DATA_CLOCK = timezone(timedelta(hours=-6), "CST")
"""The data set's clock: US central standard time all summer (no daylight saving)."""

HOURLY_START = datetime(2021, 6, 1, tzinfo=DATA_CLOCK)
"""Start of the first hour of the data."""

_HOUR = timedelta(hours=1)
_EMBEDDED = ("sim", "data", "citylearn_2023_phase3_weather_building1.csv")
_WEATHER = ("outdoor_dry_bulb_temperature", "diffuse_solar_irradiance", "direct_solar_irradiance")


@dataclass(frozen=True)
class Site:
    """Where the home is: latitude [°N], longitude [°E], altitude [m] and its IANA time zone."""

    latitude_deg: float
    longitude_deg: float
    altitude_m: float
    timezone: str


SITE = Site(latitude_deg=30.27, longitude_deg=-97.74, altitude_m=149.0, timezone="America/Chicago")
"""Austin, Texas — the documented location used for the CityLearn 2023 weather."""


@dataclass(frozen=True)
class HomeData:
    """Hourly series from :data:`HOURLY_START` (one value per hour, see the module's units)."""

    start: datetime
    outdoor_c: FloatArray
    dni_w_per_m2: FloatArray
    dhi_w_per_m2: FloatArray
    dhw_demand_w: FloatArray
    cooling_demand_w: FloatArray
    solar_generation_w_per_kw: FloatArray
    base_load_w: FloatArray
    site: Site = SITE

    @property
    def hours(self) -> int:
        """Number of hours."""
        return len(self.outdoor_c)

    @property
    def end(self) -> datetime:
        """End of the last hour."""
        return self.start + self.hours * _HOUR

    def hour_starts(self) -> list[datetime]:
        """The start instant of every hour."""
        return [self.start + k * _HOUR for k in range(self.hours)]

    def index(self, instant: datetime) -> int:
        """Index of the hour containing ``instant``; :class:`ValueError` outside the data."""
        if not self.start <= instant < self.end:
            raise ValueError(f"{instant.isoformat()} is outside the data [{self.start}, {self.end})")
        return int((instant - self.start) // _HOUR)

    def value_at(self, series: FloatArray, instant: datetime) -> float:
        """The hourly value of ``series`` for the hour containing ``instant``."""
        return float(series[self.index(instant)])

    @classmethod
    def embedded(cls) -> HomeData:
        """Weather and Building 1's demands shipped with flexcem (June–August)."""
        path = resources.files("flexcem").joinpath(*_EMBEDDED)
        with path.open("r", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        return cls._build(rows, rows)

    @classmethod
    def from_directory(cls, directory: Path, building: str = "Building_1") -> HomeData:
        """The full data set as CityLearn distributes it (``weather.csv`` and the building's file)."""

        def read(name: str) -> list[dict[str, str]]:
            with (directory / name).open(newline="", encoding="utf-8") as handle:
                return list(csv.DictReader(handle))

        return cls._build(read("weather.csv"), read(f"{building}.csv"))

    @classmethod
    def _build(cls, weather: list[dict[str, str]], building: list[dict[str, str]]) -> HomeData:
        if len(weather) != len(building):
            raise ValueError(f"weather has {len(weather)} rows, the building {len(building)}")
        for index, row in enumerate(building[: 24 * 7]):
            instant = HOURLY_START + index * _HOUR
            if int(row["day_type"]) != instant.isoweekday() or int(row["hour"]) != instant.hour + 1:
                raise ValueError(f"row {index + 2}: day_type/hour do not match the calendar from {HOURLY_START}")

        def column(rows: list[dict[str, str]], name: str, scale: float = 1.0) -> FloatArray:
            try:
                return np.array([float(row[name]) * scale for row in rows], dtype=np.float64)
            except KeyError:
                raise ValueError(f"the data has no column {name!r}") from None

        return cls(
            start=HOURLY_START,
            outdoor_c=column(weather, _WEATHER[0]),
            dhi_w_per_m2=column(weather, _WEATHER[1]),
            dni_w_per_m2=column(weather, _WEATHER[2]),
            dhw_demand_w=column(building, "dhw_demand", 1000.0),
            cooling_demand_w=column(building, "cooling_demand", 1000.0),
            solar_generation_w_per_kw=column(building, "solar_generation"),
            base_load_w=column(building, "non_shiftable_load", 1000.0),
        )
