"""The home's base load: not controllable, the data's ``non_shiftable_load`` (docs/home-physics.md)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from flexcem.data.citylearn import CityLearnData
from flexcem.model import PowerSeries, PowerSlot
from flexcem.model.timeseries import trusted, utc

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
        """The load on the data's hourly slots covering ``[start, end)`` [W] (the committed load of a plan).

        Contiguous hourly slots of finite powers from the data, built without validating each slot (data that is
        not finite goes through validation, which refuses it as before).
        """
        first, last = self.data.index(start), self.data.index(end - timedelta(microseconds=1))
        hour = timedelta(hours=1)
        powers = np.asarray(self.data.base_load_w[first : last + 1], dtype=np.float64)
        if not np.all(np.isfinite(powers)):
            return PowerSeries(
                slots=tuple(
                    PowerSlot(start=self.data.start + k * hour, duration=hour, power_w=float(self.data.base_load_w[k]))
                    for k in range(first, last + 1)
                )
            )
        origin = self.data.start
        slots = tuple(
            trusted(PowerSlot, start=utc(origin + k * hour), duration=hour, power_w=power)
            for k, power in enumerate(powers.tolist(), start=first)
        )
        return trusted(PowerSeries, slots=slots) if slots else PowerSeries(slots=slots)  # none: refused as before
