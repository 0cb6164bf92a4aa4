"""The real clock: system time and asyncio's sleeping."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

__all__ = ["RealClock"]


class RealClock:
    """System time (UTC) with asyncio sleeps."""

    def now(self) -> datetime:
        """The present instant in UTC."""
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` [s]."""
        await asyncio.sleep(max(0.0, seconds))

    async def sleep_until(self, instant: datetime) -> None:
        """Wait until ``instant``; a system-time jump is caught up on by re-checking."""
        while True:
            remaining = (instant - self.now()).total_seconds()
            if remaining <= 0:
                return
            await asyncio.sleep(min(remaining, 60.0))
