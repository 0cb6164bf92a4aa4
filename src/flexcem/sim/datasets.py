"""Real hourly data: prices, grid carbon intensity and a building's non-shiftable load (CityLearn, MIT).

The embedded subset (see ``flexcem/sim/data/README.md``) covers June–August of the CityLearn Challenge 2023
phase 3 data set. Its hours are local standard time; the calendar is 2021, the year in which 1 June falls on
the data set's first day type (a Tuesday). ``CityLearnData.from_directory`` reads the full data set.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from importlib import resources
from pathlib import Path

import numpy as np
import numpy.typing as npt

from flexcem.model import PowerSeries, PowerSlot, PriceSlot

__all__ = ["DATA_START", "DATA_TIMEZONE", "CityLearnData"]

DATA_TIMEZONE = timezone(timedelta(hours=-8), "PST")
"""The data set's clock: Pacific standard time all year (it has no daylight saving)."""

DATA_START = datetime(2021, 6, 1, tzinfo=DATA_TIMEZONE)
"""The first hour of the data set."""

_EMBEDDED = "citylearn_2023_phase3_building1.csv"
_HOUR = timedelta(hours=1)

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class CityLearnData:
    """Hourly series from ``start``: price [currency/kWh], CO2 intensity [g/kWh], base load [W]."""

    start: datetime
    price_per_kwh: FloatArray
    co2_g_per_kwh: FloatArray
    base_load_w: FloatArray
    currency: str = "USD"

    @property
    def end(self) -> datetime:
        """End of the last hour."""
        return self.start + len(self.price_per_kwh) * _HOUR

    @classmethod
    def embedded(cls) -> CityLearnData:
        """The subset shipped with flexcem (Building 1, June–August)."""
        with resources.files("flexcem.sim").joinpath("data", _EMBEDDED).open("r", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        return cls._from_rows(rows, rows, rows, "non_shiftable_load")

    @classmethod
    def from_directory(cls, directory: Path, building: str = "Building_1") -> CityLearnData:
        """The full data set as distributed by CityLearn (``pricing.csv``, ``carbon_intensity.csv``, buildings)."""

        def read(name: str) -> list[dict[str, str]]:
            with (directory / name).open(newline="", encoding="utf-8") as handle:
                return list(csv.DictReader(handle))

        return cls._from_rows(
            read("pricing.csv"), read("carbon_intensity.csv"), read(f"{building}.csv"), "non_shiftable_load"
        )

    @classmethod
    def _from_rows(
        cls,
        pricing: list[dict[str, str]],
        carbon: list[dict[str, str]],
        building: list[dict[str, str]],
        load_column: str,
    ) -> CityLearnData:
        if not len(pricing) == len(carbon) == len(building):
            raise ValueError("pricing, carbon intensity and building files differ in length")
        for index, row in enumerate(building[: 24 * 7]):
            instant = DATA_START + index * _HOUR
            if int(row["day_type"]) != instant.isoweekday() or int(row["hour"]) != instant.hour + 1:
                raise ValueError(f"row {index + 2}: day_type/hour do not match the calendar from {DATA_START}")
        return cls(
            start=DATA_START,
            price_per_kwh=np.array([float(row["electricity_pricing"]) for row in pricing]),
            co2_g_per_kwh=np.array([float(row["carbon_intensity"]) * 1000.0 for row in carbon]),
            base_load_w=np.array([float(row[load_column]) * 1000.0 for row in building]),
        )

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

    def price_slots(self, start: datetime, end: datetime) -> list[PriceSlot]:
        """Hourly price slots covering ``[start, end)`` (the first and last clipped to it)."""
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

    def hour_index(self, instant: datetime) -> int:
        """Index of the hour containing ``instant``."""
        return int((instant - self.start) // _HOUR)
