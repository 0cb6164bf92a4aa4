"""What the planner needs about a home that no device sends: outdoor temperature, hot-water draws, room gains.

The integrator — the simulator, a test, a deployment with a weather service — gives the CEM a
:class:`HomeForecasts`. Each method returns slots covering ``[start, end)`` (slots of any length, without
overlap; shorter answers are extended by :func:`flexcem.cem.home_planning.cover`, repeating the same time one
day earlier, then the last value).

Without one the CEM uses :class:`ConstantForecasts`: the values of
:class:`~flexcem.cem.home_settings.HomeSettings` (``default_outdoor_c``, ``default_hot_water_draw_w``,
``default_room_gains_w``) in every slot — a persistence forecast of the household's typical values — and says
so in its journal on the first home plan.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from flexcem.cem.home_settings import HomeSettings
from flexcem.planner.devices.thermal_inputs import HeatSlot, TemperatureSlot

__all__ = ["ConstantForecasts", "HomeForecasts"]


class HomeForecasts(Protocol):
    """Forecasts of the home's surroundings for one planning horizon ``[start, end)``."""

    def outdoor_temperature(self, start: datetime, end: datetime) -> Sequence[TemperatureSlot]:
        """Outdoor air temperature [°C] per slot (COP/EER of heat pumps and air conditioners, room losses)."""
        ...

    def hot_water_draws(self, device_id: str, start: datetime, end: datetime) -> Sequence[HeatSlot]:
        """Hot water drawn from the tank of ``device_id`` [W thermal] per slot."""
        ...

    def room_gains(self, device_id: str, start: datetime, end: datetime) -> Sequence[HeatSlot]:
        """Internal and solar gains [W thermal] per slot of the room ``device_id`` heats or cools."""
        ...


class ConstantForecasts:
    """The default: the settings' typical values in one slot over the whole horizon."""

    def __init__(self, settings: HomeSettings) -> None:
        self.settings = settings

    def outdoor_temperature(self, start: datetime, end: datetime) -> Sequence[TemperatureSlot]:
        """``default_outdoor_c`` throughout [°C]."""
        return (TemperatureSlot(start=start, duration=end - start, temperature_c=self.settings.default_outdoor_c),)

    def hot_water_draws(self, device_id: str, start: datetime, end: datetime) -> Sequence[HeatSlot]:
        """``default_hot_water_draw_w`` throughout [W thermal]."""
        return (HeatSlot(start=start, duration=end - start, heat_w=self.settings.default_hot_water_draw_w),)

    def room_gains(self, device_id: str, start: datetime, end: datetime) -> Sequence[HeatSlot]:
        """``default_room_gains_w`` throughout [W thermal]."""
        return (HeatSlot(start=start, duration=end - start, heat_w=self.settings.default_room_gains_w),)
