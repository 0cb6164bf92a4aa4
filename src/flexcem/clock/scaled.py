"""A clock that runs faster than real time by a constant factor, for interactive runs (``flexcem up``).

Unlike :class:`~flexcem.clock.SimulatedClock`, which jumps to the next timer whenever the loop is idle, a
scaled clock keeps pace with the wall clock: one real second is ``speed`` seconds of clock time. HTTP servers,
brokers and people clicking through a dashboard work as usual, and a simulated day passes in ``24 h / speed``.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta

__all__ = ["ScaledClock"]


class ScaledClock:
    """Clock time = ``start`` + ``speed`` × real time elapsed since the clock was made."""

    def __init__(self, start: datetime, speed: float = 60.0) -> None:
        """``start``: the clock's instant now (timezone-aware); ``speed``: clock seconds per real second (> 0)."""
        if start.tzinfo is None:
            raise ValueError("start: a timezone-aware instant is required")
        if not speed > 0:
            raise ValueError(f"speed: must be positive, got {speed}")
        self.start = start
        self.speed = speed
        """Clock seconds per real second; the bus reads it to give messages the same real lifetime."""
        self._origin = time.monotonic()

    def now(self) -> datetime:
        """The present clock instant (same time zone as ``start``)."""
        return self.start + timedelta(seconds=(time.monotonic() - self._origin) * self.speed)

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` [s] of clock time (``seconds / speed`` of real time)."""
        await asyncio.sleep(max(0.0, seconds) / self.speed)

    async def sleep_until(self, instant: datetime) -> None:
        """Wait until ``instant`` of clock time; returns at once when it has passed."""
        while (remaining := (instant - self.now()).total_seconds()) > 0:
            await asyncio.sleep(remaining / self.speed)
