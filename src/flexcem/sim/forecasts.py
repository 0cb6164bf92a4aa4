"""Forecasts for the simulated homes' CEMs, from the data their devices' physics run on.

:class:`DataForecasts` is a :class:`flexcem.cem.HomeForecasts`: outdoor temperature as measured (a perfect
forecast) or, with ``day_ahead=True``, the data set's own forecast made 24 h ahead; hot-water draws: the
building's ``dhw_demand``; room gains: what its ``cooling_demand`` implies (:func:`room_gains_w`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from flexcem.data.citylearn import CityLearnData, FloatArray
from flexcem.devices.room import DEFAULT_ROOM, room_gains_w
from flexcem.model.home_parameters import RoomParameters
from flexcem.planner.devices.thermal_inputs import HeatSlot, TemperatureSlot

__all__ = ["DataForecasts"]

_HOUR = timedelta(hours=1)


class DataForecasts:
    """:class:`flexcem.cem.HomeForecasts` from the CityLearn data the devices' physics runs on (hourly).

    Outdoor temperature: the measured one (a perfect forecast), or with ``day_ahead=True`` the data's own
    forecast made 24 h before each hour (``outdoor_dry_bulb_temperature_predicted_3`` of ``weather.csv``). Draws:
    the building's ``dhw_demand``; gains: what its ``cooling_demand`` implies for the room (``room_gains_w``).
    Hours outside the data are left out.
    """

    def __init__(self, data: CityLearnData, room: RoomParameters = DEFAULT_ROOM, day_ahead: bool = False) -> None:
        self.data = data
        self.gains_w = room_gains_w(data, room)
        self.day_ahead = day_ahead

    def _hours(self, start: datetime, end: datetime) -> range:
        first = self.data.index(max(start, self.data.start))
        last = self.data.index(min(end, self.data.end) - timedelta(microseconds=1))
        return range(first, last + 1)

    def outdoor_temperature(self, start: datetime, end: datetime) -> Sequence[TemperatureSlot]:
        """Hourly outdoor temperature [°C]."""
        rows = self.data.outdoor_forecast_c
        return [
            TemperatureSlot(
                start=self.data.start + k * _HOUR,
                duration=_HOUR,
                temperature_c=float(rows[2][k - 24] if self.day_ahead and k >= 24 else self.data.outdoor_c[k]),
            )
            for k in self._hours(start, end)
        ]

    def _heat(self, series: FloatArray, start: datetime, end: datetime) -> list[HeatSlot]:
        return [
            HeatSlot(start=self.data.start + k * _HOUR, duration=_HOUR, heat_w=float(series[k]))
            for k in self._hours(start, end)
        ]

    def hot_water_draws(self, device_id: str, start: datetime, end: datetime) -> Sequence[HeatSlot]:
        """Hourly hot-water draws [W thermal]."""
        return self._heat(self.data.dhw_demand_w, start, end)

    def room_gains(self, device_id: str, start: datetime, end: datetime) -> Sequence[HeatSlot]:
        """Hourly room gains [W thermal]."""
        return self._heat(self.gains_w, start, end)
