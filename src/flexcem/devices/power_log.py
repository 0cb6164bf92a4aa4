"""What a device really drew: a step function of power over time, the device's own meter.

Power changes are recorded as steps ``(instant, power_w)``; energy over any interval and power averaged on
any slot grid follow exactly from them. Consumption is positive, generation negative. Averages on a slot grid
follow from the cumulative energy at each step, kept up to date as steps are recorded: a few slots (a meter's
reading of the last minutes) in plain Python, many at once with numpy.
"""

from __future__ import annotations

import bisect
from datetime import datetime, timedelta

import numpy as np
import numpy.typing as npt

__all__ = ["PowerLog"]

_FEW_SLOTS = 32
"""Up to this many slots an average is taken in plain Python (numpy's overhead per call is larger)."""


class PowerLog:
    """A piecewise-constant record of a device's power [W]."""

    def __init__(self, start: datetime, power_w: float = 0.0) -> None:
        self._times: list[datetime] = [start]
        self._powers: list[float] = [power_w]
        self._seconds: list[float] = [0.0]
        """Each step's instant [s after the first]."""
        self._energy: list[float] = [0.0]
        """The energy from the first step to each step's instant [W·s]."""
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
                self._energy.pop()
            return
        seconds = (instant - self._times[0]).total_seconds()
        self._energy.append(self._energy[-1] + self._powers[-1] * (seconds - self._seconds[-1]))
        self._times.append(instant)
        self._powers.append(power_w)
        self._seconds.append(seconds)

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
        if count <= _FEW_SLOTS:  # the arithmetic of _energy_ws_at, in plain floats
            times, powers, energy, find = self._seconds, self._powers, self._energy, bisect.bisect_right
            at = max(offset, 0.0)
            index = find(times, at) - 1
            before = energy[index] + powers[index] * (at - times[index])
            averages = []
            for k in range(1, count + 1):
                at = max(offset + seconds * k, 0.0)
                index = find(times, at) - 1
                after = energy[index] + powers[index] * (at - times[index])
                averages.append((after - before) / seconds)
                before = after
            return np.array(averages, dtype=np.float64)
        edges = offset + seconds * np.arange(count + 1, dtype=np.float64)
        return np.diff(self._energy_ws_at(edges)) / seconds

    def _energy_ws_at(self, seconds: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Energy since the first step [W·s] at each instant [s after the first step]; zero before it."""
        if self._cumulative is None:
            times = np.asarray(self._seconds, dtype=np.float64)
            powers = np.asarray(self._powers, dtype=np.float64)
            cumulative = np.asarray(self._energy, dtype=np.float64)
            self._cumulative = (times, powers, cumulative)
        times, powers, cumulative = self._cumulative
        at = np.maximum(seconds, 0.0)
        index = np.searchsorted(times, at, side="right") - 1
        return cumulative[index] + powers[index] * (at - times[index])
