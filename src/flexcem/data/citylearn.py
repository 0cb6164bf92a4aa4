"""The CityLearn Challenge 2023 phase 3 data set (MIT licence): hourly prices, CO2, weather and a building's demands.

2,208 hours, 1 June – 31 August 2021, of single-family houses in Texas. The clock is **local standard time
without daylight saving, UTC−6** (see ``files/README.md``: the solar geometry of the documented site decides
it). Row *i* covers the hour ``[DATA_START + i h, DATA_START + (i + 1) h)``; the calendar is 2021 (1 June
2021 is a Tuesday, the data's ``day_type`` 2), checked on reading.

Units as CityLearn defines them, converted on reading: prices [USD/kWh]; CO2 intensity [g/kWh] (the files
hold kg/kWh); temperatures [°C]; irradiance [W/m²] — ``direct_solar_irradiance`` is **beam normal** (DNI),
``diffuse_solar_irradiance`` diffuse horizontal (DHI); demands [W] as the mean of the hour (the files hold kWh
in the hour): base load (``non_shiftable_load``), hot-water heat (``dhw_demand``), cooling heat
(``cooling_demand``); PV output [W per kW installed] (``solar_generation``).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import cached_property
from importlib import resources
from pathlib import Path

import numpy as np
import numpy.typing as npt

from flexcem.model import PowerSeries, PowerSlot, PriceSlot

__all__ = ["DATA_CLOCK", "DATA_START", "SITE", "CityLearnData", "FloatArray", "Site"]

FloatArray = npt.NDArray[np.float64]

DATA_CLOCK = timezone(timedelta(hours=-6), "CST")
"""The data set's clock: US central standard time all summer (no daylight saving)."""

DATA_START = datetime(2021, 6, 1, tzinfo=DATA_CLOCK)
"""Start of the first hour of the data."""

_HOUR = timedelta(hours=1)
_EMBEDDED = "citylearn_2023_phase3_building1.csv"
FORECAST_LEADS_H = (6, 12, 24)
"""Lead times [h] of the data set's outdoor-temperature forecasts (``…_predicted_1/2/3``)."""


@dataclass(frozen=True)
class Site:
    """Where the homes are: latitude [°N], longitude [°E], altitude [m] and their IANA time zone."""

    latitude_deg: float
    longitude_deg: float
    altitude_m: float
    timezone: str


SITE = Site(latitude_deg=30.27, longitude_deg=-97.74, altitude_m=149.0, timezone="America/Chicago")
"""Austin, Texas — the documented location used for the CityLearn 2023 weather."""


Rows = list[dict[str, str]]


def _column(rows: Rows, name: str, scale: float = 1.0) -> FloatArray:
    try:
        return np.array([float(row[name]) * scale for row in rows], dtype=np.float64)
    except KeyError:
        raise ValueError(f"the data has no column {name!r}") from None


@dataclass(frozen=True)
class CityLearnData:
    """Hourly series from ``start`` (one value per hour, in the units of the module docstring)."""

    start: datetime
    price_per_kwh: FloatArray
    co2_g_per_kwh: FloatArray
    base_load_w: FloatArray
    outdoor_c: FloatArray
    outdoor_forecast_c: FloatArray
    """Outdoor-temperature forecasts, one row per lead time of :data:`FORECAST_LEADS_H` (3 × hours)."""
    dni_w_per_m2: FloatArray
    dhi_w_per_m2: FloatArray
    dhw_demand_w: FloatArray
    cooling_demand_w: FloatArray
    solar_generation_w_per_kw: FloatArray
    cooling_set_point_c: FloatArray
    currency: str = "USD"
    site: Site = SITE

    # -- reading -------------------------------------------------------------------------------------------
    @classmethod
    def embedded(cls) -> CityLearnData:
        """Building 1 with the weather, prices and CO2, shipped with flexcem (June–August)."""
        path = resources.files("flexcem.data").joinpath("files", _EMBEDDED)
        with path.open("r", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        return cls._build(rows, rows, rows, rows)

    @classmethod
    def from_directory(cls, directory: Path, building: str = "Building_1") -> CityLearnData:
        """The full data set as CityLearn distributes it (``pricing.csv``, ``carbon_intensity.csv``,
        ``weather.csv`` and ``{building}.csv``)."""

        def read(name: str) -> Rows:
            with (directory / name).open(newline="", encoding="utf-8") as handle:
                return list(csv.DictReader(handle))

        return cls._build(
            read("pricing.csv"), read("carbon_intensity.csv"), read("weather.csv"), read(f"{building}.csv")
        )

    @classmethod
    def _build(cls, pricing: Rows, carbon: Rows, weather: Rows, building: Rows) -> CityLearnData:
        lengths = {len(pricing), len(carbon), len(weather), len(building)}
        if len(lengths) != 1:
            raise ValueError(
                f"the files differ in length: pricing {len(pricing)}, carbon {len(carbon)}, weather {len(weather)}, "
                f"building {len(building)} rows"
            )
        for index, row in enumerate(building[: 24 * 7]):
            instant = DATA_START + index * _HOUR
            if int(row["day_type"]) != instant.isoweekday() or int(row["hour"]) != instant.hour + 1:
                raise ValueError(f"row {index + 2}: day_type/hour do not match the calendar from {DATA_START}")
        return cls(
            start=DATA_START,
            price_per_kwh=_column(pricing, "electricity_pricing"),
            co2_g_per_kwh=_column(carbon, "carbon_intensity", 1000.0),
            base_load_w=_column(building, "non_shiftable_load", 1000.0),
            outdoor_c=_column(weather, "outdoor_dry_bulb_temperature"),
            outdoor_forecast_c=np.vstack(
                [_column(weather, f"outdoor_dry_bulb_temperature_predicted_{k}") for k in (1, 2, 3)]
            ),
            dni_w_per_m2=_column(weather, "direct_solar_irradiance"),
            dhi_w_per_m2=_column(weather, "diffuse_solar_irradiance"),
            dhw_demand_w=_column(building, "dhw_demand", 1000.0),
            cooling_demand_w=_column(building, "cooling_demand", 1000.0),
            solar_generation_w_per_kw=_column(building, "solar_generation"),
            cooling_set_point_c=_column(building, "indoor_dry_bulb_temperature_cooling_set_point"),
        )

    # -- time ------------------------------------------------------------------------------------------------
    @property
    def hours(self) -> int:
        """Number of hours."""
        return len(self.price_per_kwh)

    @cached_property
    def end(self) -> datetime:
        """End of the last hour."""
        return self.start + self.hours * _HOUR

    def hour_starts(self) -> list[datetime]:
        """The start instant of every hour."""
        return [self.start + k * _HOUR for k in range(self.hours)]

    def index(self, instant: datetime) -> int:
        """Index of the hour containing ``instant``; :class:`ValueError` outside the data.

        Asked at every step of every device: plain arithmetic on the hourly grid (``timedelta // timedelta`` is
        already an int), the data's end computed once."""
        if not self.start <= instant < self.end:
            raise ValueError(f"{instant.isoformat()} is outside the data [{self.start}, {self.end})")
        return (instant - self.start) // _HOUR

    def hour_end(self, instant: datetime) -> datetime:
        """End of the data hour containing ``instant`` (:class:`ValueError` outside the data)."""
        return self.start + (self.index(instant) + 1) * _HOUR

    hour_index = index

    def value_at(self, series: FloatArray, instant: datetime) -> float:
        """The hourly value of ``series`` for the hour containing ``instant``."""
        return float(series[self.index(instant)])

    def _hours(self, start: datetime, end: datetime) -> range:
        if start < self.start or end > self.end:
            raise ValueError(
                f"[{start.isoformat()}, {end.isoformat()}) is outside the data, which covers "
                f"[{self.start.isoformat()}, {self.end.isoformat()})"
            )
        first = int((start - self.start) // _HOUR)
        last = -int(-(end - self.start) // _HOUR)
        return range(first, last)

    def _clipped(self, index: int, start: datetime, end: datetime) -> tuple[datetime, timedelta]:
        slot_start = max(self.start + index * _HOUR, start)
        slot_end = min(self.start + (index + 1) * _HOUR, end)
        return slot_start, slot_end - slot_start

    # -- as model series -------------------------------------------------------------------------------------
    def price_slots(self, start: datetime, end: datetime) -> list[PriceSlot]:
        """Hourly price slots with CO2 intensity covering ``[start, end)`` (the first and last clipped to it)."""
        slots = []
        for index in self._hours(start, end):
            slot_start, duration = self._clipped(index, start, end)
            slots.append(
                PriceSlot(
                    start=slot_start,
                    duration=duration,
                    price_per_kwh=float(self.price_per_kwh[index]),
                    co2_g_per_kwh=float(self.co2_g_per_kwh[index]),
                )
            )
        return slots

    def base_load(self, start: datetime, end: datetime) -> PowerSeries:
        """The building's non-shiftable load [W] on hourly slots covering ``[start, end)``."""
        slots = []
        for index in self._hours(start, end):
            slot_start, duration = self._clipped(index, start, end)
            slots.append(PowerSlot(start=slot_start, duration=duration, power_w=float(self.base_load_w[index])))
        return PowerSeries(slots=tuple(slots))
