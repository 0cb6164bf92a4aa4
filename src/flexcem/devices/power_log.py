"""What a device really drew: a step function of power over time, the device's own meter.

Power changes are recorded as steps ``(instant, power_w)``; energy over any interval and power averaged on
any slot grid follow exactly from them. Consumption is positive, generation negative. Averages on a slot grid
are computed at once with numpy from the cumulative energy at each step (kept until the next step).
"""

from __future__ import annotations

import bisect
from datetime import datetime, timedelta

import numpy as np
import numpy.typing as npt

__all__ = ["PowerLog"]


class PowerLog:
    """A piecewise-constant record of a device's power [W]."""

    def __init__(self, start: datetime, power_w: float = 0.0) -> None:
        self._times: list[datetime] = [start]
        self._powers: list[float] = [power_w]
        self._seconds: list[float] = [0.0]
        """Each step's instant [s after the first]."""
        self._cumulative: tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]] | None
        self._cumulative = None

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
        self._cumulative = None
        if instant == self._times[-1]:
            self._powers[-1] = power_w
            if len(self._powers) > 1 and abs(self._powers[-2] - power_w) < 1e-9:
                self._times.pop()
                self._powers.pop()
                self._seconds.pop()
            return
        self._times.append(instant)
        self._powers.append(power_w)
        self._seconds.append((instant - self._times[0]).total_seconds())

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
        """Mean power [W] on ``count`` slots of length ``slot`` from ``start`` (zero before the first step, the
        last power after)."""
        return self.average_power(start, slot, count).tolist()  # type: ignore[no-any-return]

    def average_power(self, start: datetime, slot: timedelta, count: int) -> npt.NDArray[np.float64]:
        """:meth:`average_power_w` as an array [W]."""
        if count <= 0:
            return np.zeros(0)
        seconds = slot.total_seconds()
        offset = (start - self._times[0]).total_seconds()
        edges = offset + seconds * np.arange(count + 1, dtype=np.float64)
        return np.diff(self._energy_ws_at(edges)) / seconds

    def _energy_ws_at(self, seconds: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Energy since the first step [W·s] at each instant [s after the first step]; zero before it."""
        if self._cumulative is None:
            times = np.asarray(self._seconds, dtype=np.float64)
            powers = np.asarray(self._powers, dtype=np.float64)
            cumulative = np.concatenate(([0.0], np.cumsum(powers[:-1] * np.diff(times))))
            self._cumulative = (times, powers, cumulative)
        times, powers, cumulative = self._cumulative
        at = np.maximum(seconds, 0.0)
        index = np.searchsorted(times, at, side="right") - 1
        return cumulative[index] + powers[index] * (at - times[index])
