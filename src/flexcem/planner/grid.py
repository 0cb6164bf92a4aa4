"""The planning grid and exact resampling of piecewise-constant data onto it.

The planner works on a regular grid of ``count`` slots of ``slot`` length from ``start``. Inputs come with
their own slots (hourly prices, 20-minute programme phases, 1-minute base-load forecasts); they are
piecewise-constant functions of time and are brought onto the grid as **time-weighted averages** of each
grid slot. The averages are computed exactly from the integral of the step function, which is piecewise
linear, so ``numpy.interp`` at the grid edges is exact (no sampling).

Times are handled as integer microseconds relative to ``start`` (exact for any :class:`datetime`), and as
float64 microseconds in the vectorised arithmetic (exact up to 285 years).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from functools import cached_property

import numpy as np
import numpy.typing as npt

__all__ = [
    "MICROSECOND",
    "FloatArray",
    "IntArray",
    "TimeGrid",
    "coverage_gaps",
    "elapsed",
    "later",
    "slot_starts",
    "step_average",
    "step_integral",
    "touched_slots",
    "watts",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

MICROSECOND = timedelta(microseconds=1)
US_PER_HOUR = 3_600_000_000


def elapsed(begin: datetime, end: datetime) -> timedelta:
    """Time elapsed from ``begin`` to ``end`` (absolute, also across daylight-saving changes)."""
    return end.astimezone(UTC) - begin.astimezone(UTC)


def later(instant: datetime, delta: timedelta) -> datetime:
    """``instant`` plus ``delta`` of elapsed time, in ``instant``'s time zone.

    Python adds a timedelta to the wall-clock time of a datetime with a :mod:`zoneinfo` zone, which is
    off by the daylight-saving shift across a change; the planner always means elapsed time.
    """
    return (instant.astimezone(UTC) + delta).astimezone(instant.tzinfo)


def slot_starts(start: datetime, slot: timedelta, count: int) -> tuple[datetime, ...]:
    """``later(start, k · slot)`` for k = 0 … count − 1, computed with one zone conversion per slot at most
    (none when ``start`` has a fixed offset: wall-clock and elapsed time agree there)."""
    if isinstance(start.tzinfo, timezone):
        return tuple(start + k * slot for k in range(count))
    origin = start.astimezone(UTC)
    zone = start.tzinfo
    return tuple((origin + k * slot).astimezone(zone) for k in range(count))


@dataclass(frozen=True)
class TimeGrid:
    """``count`` slots of length ``slot`` from ``start``."""

    start: datetime
    slot: timedelta
    count: int

    @property
    def slot_us(self) -> int:
        """Slot length [µs]."""
        return self.slot // MICROSECOND

    @property
    def slot_hours(self) -> float:
        """Slot length [h]."""
        return self.slot_us / US_PER_HOUR

    @property
    def end(self) -> datetime:
        """End of the last slot (exclusive)."""
        return later(self.start, self.count * self.slot)

    @property
    def end_us(self) -> int:
        """End of the last slot [µs after start]."""
        return self.count * self.slot_us

    @cached_property
    def edges_us(self) -> FloatArray:
        """The ``count + 1`` slot boundaries [µs after start]."""
        return np.arange(self.count + 1, dtype=np.float64) * float(self.slot_us)

    def offset_us(self, instant: datetime) -> int:
        """``instant`` as integer microseconds after the grid start (negative before it)."""
        return elapsed(self.start, instant) // MICROSECOND

    def offsets_us(self, instants: Sequence[datetime]) -> list[int]:
        """:meth:`offset_us` of each of ``instants``."""
        origin = self.start
        if isinstance(origin.tzinfo, timezone):
            # A fixed-offset origin: Python subtracts aware datetimes of another zone through their UTC
            # offsets, and of the same fixed zone on the wall clock, which is then elapsed time too; exact
            # either way, without converting every instant.
            return [(instant - origin) // MICROSECOND for instant in instants]
        origin = origin.astimezone(UTC)
        return [(instant.astimezone(UTC) - origin) // MICROSECOND for instant in instants]

    def starts(self) -> tuple[datetime, ...]:
        """Beginning of every slot, in the zone of ``start`` (elapsed time, like :meth:`slot_start`)."""
        return slot_starts(self.start, self.slot, self.count)

    def at(self, offset_us: int | float) -> datetime:
        """The instant ``offset_us`` microseconds after the grid start."""
        return later(self.start, timedelta(microseconds=round(offset_us)))

    def slot_start(self, index: int) -> datetime:
        """Beginning of slot ``index``."""
        return later(self.start, index * self.slot)

    def overlap_fractions(self, begin_us: int, end_us: int) -> tuple[int, FloatArray]:
        """Slots touched by ``[begin_us, end_us)`` and the fraction of each inside it.

        Returns the index of the first touched slot and the fractions (0–1] of the consecutive slots from
        there; an empty array when the interval is empty or outside the grid.
        """
        begin = max(begin_us, 0)
        end = min(end_us, self.end_us)
        if end <= begin:
            return 0, np.zeros(0)
        first = begin // self.slot_us
        last = -(-end // self.slot_us)  # ceil
        lo = np.maximum(self.edges_us[first:last], float(begin))
        hi = np.minimum(self.edges_us[first + 1 : last + 1], float(end))
        return int(first), (hi - lo) / float(self.slot_us)


def touched_slots(grid: TimeGrid, windows: Sequence[tuple[datetime, timedelta]]) -> npt.NDArray[np.bool_]:
    """Which slots of ``grid`` each window ``(start, duration)`` overlaps, however little."""
    touched = np.zeros(grid.count, dtype=bool)
    for start, duration in windows:
        begin = grid.offset_us(start)
        first, fractions = grid.overlap_fractions(begin, begin + duration // MICROSECOND)
        touched[first : first + int(np.count_nonzero(fractions > 0.0))] = True
    return touched


def watts(power_kw: FloatArray) -> tuple[float, ...]:
    """Powers in kW as a tuple in W, rounded to the nW (clears solver noise such as 11000.000000000022)."""
    return tuple(np.round(power_kw * 1000.0, 9).tolist())


def step_integral(
    starts: Sequence[float] | FloatArray,
    ends: Sequence[float] | FloatArray,
    values: Sequence[float] | FloatArray,
    at: FloatArray,
) -> FloatArray:
    """Integral from -∞ to each point of ``at`` of a sum of boxes ``value`` on ``[start, end)``.

    Boxes may overlap (they add up) and leave gaps (zero there). The unit is value × time unit of the
    inputs. Exact: the integral is piecewise linear between the box edges.
    """
    s = np.asarray(starts, dtype=np.float64)
    e = np.asarray(ends, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)
    if s.size == 0:
        return np.zeros(at.shape)
    points = np.concatenate((s, e))
    deltas = np.concatenate((v, -v))
    order = np.argsort(points, kind="stable")
    points = points[order]
    level = np.cumsum(deltas[order])  # value of the step function right after each point
    areas = np.concatenate(([0.0], np.cumsum(level[:-1] * np.diff(points))))
    # Left of the first point the integral is 0; right of the last it stays at the total (level 0 there).
    result: FloatArray = np.interp(at, points, areas, left=0.0, right=float(areas[-1]))
    return result


def step_average(
    starts: Sequence[float] | FloatArray,
    ends: Sequence[float] | FloatArray,
    values: Sequence[float] | FloatArray,
    edges: FloatArray,
) -> FloatArray:
    """Time-weighted average per grid slot ``[edges[k], edges[k+1])`` of a sum of boxes (see above).

    Where the step function is constant over a whole grid slot the average is that value exactly (no
    rounding from differences of integrals): an hourly price of 0.3 gives 0.3 on every quarter hour.
    """
    integral = step_integral(starts, ends, values, edges)
    result: FloatArray = np.diff(integral) / np.diff(edges)
    s = np.asarray(starts, dtype=np.float64)
    if s.size == 0:
        return result
    e = np.asarray(ends, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)
    order = np.argsort(s, kind="stable")
    s, e, v = s[order], e[order], v[order]
    if np.any(e[:-1] > s[1:]):
        return result  # overlapping boxes: their sums are not exact anyway
    # Disjoint boxes: slot k is constant when it lies inside one box, or inside the gap between two.
    lo, hi = edges[:-1], edges[1:]
    box = np.searchsorted(s, lo, side="right") - 1
    inside = (box >= 0) & (hi <= e[np.maximum(box, 0)])
    result[inside] = v[box[inside]]
    following = np.append(s, np.inf)[box + 1]
    in_gap = ((box < 0) | (lo >= e[np.maximum(box, 0)])) & (hi <= following)
    result[in_gap] = 0.0
    return result


def coverage_gaps(intervals: Sequence[tuple[int, int]], begin: int, end: int) -> list[tuple[int, int]]:
    """Parts of ``[begin, end)`` that no interval ``[start, stop)`` covers, in time order."""
    gaps: list[tuple[int, int]] = []
    cursor = begin
    for start, stop in sorted(intervals):
        if stop <= cursor:
            continue
        if start > cursor:
            gaps.append((cursor, min(start, end)))
        cursor = max(cursor, stop)
        if cursor >= end:
            break
    if cursor < end:
        gaps.append((cursor, end))
    return [(lo, hi) for lo, hi in gaps if hi > lo]
