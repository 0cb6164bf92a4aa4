"""The home's base load: not controllable, the data's ``non_shiftable_load`` (docs/home-physics.md)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flexcem.data.citylearn import CityLearnData
from flexcem.model import PowerSeries, PowerSlot

__all__ = ["BaseLoad"]


@dataclass
class BaseLoad:
    """Lighting, cooking, electronics…: the building's measured non-shiftable load [W] and its meter [Wh]."""

    data: CityLearnData
    consumed_wh: float = 0.0

    def power_w(self, instant: datetime) -> float:
        """Power in the hour of ``instant`` [W]."""
        return self.data.value_at(self.data.base_load_w, instant)

    def advance(self, instant: datetime, dt_h: float) -> float:
        """Consume for ``dt_h`` hours from ``instant``; the power [W]."""
        power = self.power_w(instant)
        self.consumed_wh += power * dt_h
        return power

    def forecast(self, start: datetime, end: datetime) -> PowerSeries:
        """The load on the data's hourly slots covering ``[start, end)`` [W] (the committed load of a plan)."""
        first, last = self.data.index(start), self.data.index(end - timedelta(microseconds=1))
        hour = timedelta(hours=1)
        return PowerSeries(
            slots=tuple(
                PowerSlot(start=self.data.start + k * hour, duration=hour, power_w=float(self.data.base_load_w[k]))
                for k in range(first, last + 1)
            )
        )
