"""The clock protocol: every component reads time only from a :class:`Clock` (DESIGN §1)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol, runtime_checkable

__all__ = ["Clock"]


@runtime_checkable
class Clock(Protocol):
    """Wall-clock time and sleeping, real or simulated."""

    def now(self) -> datetime:
        """The present instant, timezone-aware (UTC)."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` [s] of this clock's time."""
        ...

    async def sleep_until(self, instant: datetime) -> None:
        """Wait until ``instant``; returns at once when it has passed."""
        ...
