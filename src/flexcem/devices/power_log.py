"""What a device really drew: a step function of power over time, the device's own meter.

Power changes are recorded as steps ``(instant, power_w)``; energy over any interval and power averaged on
any slot grid follow exactly from them. Consumption is positive, generation negative.
"""

from __future__ import annotations

import bisect
from datetime import datetime, timedelta

__all__ = ["PowerLog"]


class PowerLog:
    """A piecewise-constant record of a device's power [W]."""

    def __init__(self, start: datetime, power_w: float = 0.0) -> None:
        self._times: list[datetime] = [start]
        self._powers: list[float] = [power_w]

    @property
    def power_w(self) -> float:
        """The present power [W]."""
        return self._powers[-1]

    def set(self, instant: datetime, power_w: float) -> None:
        """Record that from ``instant`` the power is ``power_w`` [W]."""
        if instant < self._times[-1]:
            raise ValueError(f"power step at {instant} is before the last one at {self._times[-1]}")
        if abs(power_w - self._powers[-1]) < 1e-9:
            return
        if instant == self._times[-1]:
            self._powers[-1] = power_w
            if len(self._powers) > 1 and abs(self._powers[-2] - power_w) < 1e-9:
                self._times.pop()
                self._powers.pop()
            return
        self._times.append(instant)
        self._powers.append(power_w)

    def steps(self) -> list[tuple[datetime, float]]:
        """All recorded steps ``(instant, power_w)``."""
        return list(zip(self._times, self._powers, strict=True))

    def energy_wh(self, start: datetime, end: datetime) -> float:
        """Energy between ``start`` and ``end`` [Wh]; zero before the first step, the last power after."""
        if end <= start:
            return 0.0
        total = 0.0
        index = max(0, bisect.bisect_right(self._times, start) - 1)
        cursor = max(start, self._times[0])
        while cursor < end:
            following = self._times[index + 1] if index + 1 < len(self._times) else end
            upto = min(following, end)
            total += self._powers[index] * (upto - cursor).total_seconds() / 3600.0
            cursor = upto
            index += 1
        return total

    def average_power_w(self, start: datetime, slot: timedelta, count: int) -> list[float]:
        """Mean power [W] on ``count`` slots of length ``slot`` from ``start``."""
        hours = slot.total_seconds() / 3600.0
        return [self.energy_wh(start + slot * k, start + slot * (k + 1)) / hours for k in range(count)]
