"""Forecasts for the simulated homes' CEMs, from the data their devices' physics run on.

:class:`DataForecasts` is a :class:`flexcem.cem.HomeForecasts`: outdoor temperature as measured (a perfect
forecast) or, with ``day_ahead=True``, the data set's own forecast made 24 h ahead; hot-water draws: the
building's ``dhw_demand``; room gains: what its ``cooling_demand`` implies (:func:`room_gains_w`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TypeVar

import numpy as np

from flexcem.data.citylearn import CityLearnData, FloatArray
from flexcem.devices.room import DEFAULT_ROOM, room_gains_w
from flexcem.model.home_parameters import RoomParameters
from flexcem.model.timeseries import trusted, utc
from flexcem.planner.devices.thermal_inputs import HeatSlot, TemperatureSlot

__all__ = ["DataForecasts"]

_HOUR = timedelta(hours=1)
SlotT = TypeVar("SlotT", TemperatureSlot, HeatSlot)


def _valid(values: FloatArray, low: float, high: float) -> bool:
    """Whether every value is finite and in ``[low, high]`` (what the slots' validation would ask of it)."""
    return bool(np.all(np.isfinite(values) & (values >= low) & (values <= high)))


class DataForecasts:
    """:class:`flexcem.cem.HomeForecasts` from the CityLearn data the devices' physics runs on (hourly).

    Outdoor temperature: the measured one (a perfect forecast), or with ``day_ahead=True`` the data's own
    forecast made 24 h before each hour (``outdoor_dry_bulb_temperature_predicted_3`` of ``weather.csv``). Draws:
    the building's ``dhw_demand``; gains: what its ``cooling_demand`` implies for the room (``room_gains_w``).
    Hours outside the data are left out.

    The slots are built from the data's arrays, checked once (finite, inside the slots' bounds), without
    validating each slot again; data that fails the check goes through validation slot by slot (which reports
    it as before).
    """

    def __init__(self, data: CityLearnData, room: RoomParameters = DEFAULT_ROOM, day_ahead: bool = False) -> None:
        self.data = data
        self.gains_w = room_gains_w(data, room)
        self.day_ahead = day_ahead
        self._outdoor: dict[bool, tuple[FloatArray, bool]] = {}  # per day_ahead: values per hour, valid
        self._heat_checked: dict[int, tuple[FloatArray, FloatArray, bool]] = {}  # per array id
        # numpy arrays, not lists of floats: a home keeps them all day (lists cost ~4x the memory, 0.2 MiB a home)

    def _outdoor_values(self) -> tuple[FloatArray, bool]:
        """The outdoor temperature per hour of the data [°C] (day-ahead forecast or measured), and whether
        every value is valid for a :class:`TemperatureSlot`."""
        known = self._outdoor.get(self.day_ahead)
        if known is None:
            values = np.array(self.data.outdoor_c, dtype=np.float64)
            if self.day_ahead and values.size > 24:
                values[24:] = self.data.outdoor_forecast_c[2][: values.size - 24]
            known = self._outdoor[self.day_ahead] = (values, _valid(values, -80.0, 80.0))
        return known

    def _heat_values(self, series: FloatArray) -> tuple[FloatArray, bool]:
        """``series`` as float64 per hour [W], and whether every value is valid for a :class:`HeatSlot`."""
        known = self._heat_checked.get(id(series))
        if known is None or known[0] is not series:
            values = np.asarray(series, dtype=np.float64)
            known = self._heat_checked[id(series)] = (series, values, _valid(values, 0.0, np.inf))
        return known[1], known[2]

    def _hours(self, start: datetime, end: datetime) -> range:
        first = self.data.index(max(start, self.data.start))
        last = self.data.index(min(end, self.data.end) - timedelta(microseconds=1))
        return range(first, last + 1)

    def outdoor_temperature(self, start: datetime, end: datetime) -> Sequence[TemperatureSlot]:
        """Hourly outdoor temperature [°C]."""
        values, valid = self._outdoor_values()
        origin = self.data.start
        make = trusted if valid else _validated
        hours = self._hours(start, end)
        return [
            make(TemperatureSlot, start=utc(origin + k * _HOUR), duration=_HOUR, temperature_c=value)
            for k, value in zip(hours, values[hours.start : hours.stop].tolist(), strict=True)
        ]

    def _heat(self, series: FloatArray, start: datetime, end: datetime) -> list[HeatSlot]:
        values, valid = self._heat_values(series)
        origin = self.data.start
        make = trusted if valid else _validated
        hours = self._hours(start, end)
        return [
            make(HeatSlot, start=utc(origin + k * _HOUR), duration=_HOUR, heat_w=value)
            for k, value in zip(hours, values[hours.start : hours.stop].tolist(), strict=True)
        ]

    def hot_water_draws(self, device_id: str, start: datetime, end: datetime) -> Sequence[HeatSlot]:
        """Hourly hot-water draws [W thermal]."""
        return self._heat(self.data.dhw_demand_w, start, end)

    def room_gains(self, device_id: str, start: datetime, end: datetime) -> Sequence[HeatSlot]:
        """Hourly room gains [W thermal]."""
        return self._heat(self.gains_w, start, end)


def _validated(cls: type[SlotT], /, **fields: object) -> SlotT:
    """``cls(**fields)``, validated (for data that did not pass the check)."""
    return cls.model_validate(fields)
