"""A small progress bar on stderr: simulated time reached and homes finished, per run (no dependency)."""

from __future__ import annotations

import sys
import time
from datetime import datetime
from typing import TextIO

__all__ = ["ProgressBar"]


class ProgressBar:
    """Shows, for each run (``control``, ``no control``), how far the slowest shard has simulated and how many
    homes are done; redraws at most every ``interval_s`` (a line per update when the stream is not a tty)."""

    def __init__(
        self, start: datetime, end: datetime, homes: int, stream: TextIO | None = None, interval_s: float = 0.2
    ) -> None:
        self.start, self.end, self.homes = start, end, homes
        self.stream = stream or sys.stderr
        self.interval_s = interval_s if self.stream.isatty() else max(interval_s, 5.0)
        self.reached: dict[tuple[str, int], datetime] = {}
        self.done: dict[str, int] = {}
        self._last = 0.0
        self._began = time.monotonic()

    def update(self, run: str, shard: int, now: datetime, homes_done: int) -> None:
        """Shard ``shard`` of ``run`` has simulated up to ``now``; ``homes_done`` more homes finished."""
        self.reached[(run, shard)] = now
        self.done[run] = self.done.get(run, 0) + homes_done
        if homes_done or time.monotonic() - self._last >= self.interval_s:
            self.draw()

    def line(self) -> str:
        """The bar's text."""
        total = (self.end - self.start).total_seconds()
        parts = []
        for run in sorted({run for run, _ in self.reached}):
            slowest = min(at for (r, _), at in self.reached.items() if r == run)
            share = min(1.0, max(0.0, (slowest - self.start).total_seconds() / total))
            filled = int(share * 20)
            parts.append(
                f"{run}: [{'#' * filled}{'.' * (20 - filled)}] {slowest:%m-%d %H:%M} "
                f"homes {self.done.get(run, 0)}/{self.homes}"
            )
        return f"{time.monotonic() - self._began:6.1f}s  " + "  ".join(parts)

    def draw(self) -> None:
        """Redraw."""
        self._last = time.monotonic()
        if self.stream.isatty():
            self.stream.write("\r" + self.line())
        else:
            self.stream.write(self.line() + "\n")
        self.stream.flush()

    def close(self) -> None:
        """End the bar's line."""
        self.draw()
        if self.stream.isatty():
            self.stream.write("\n")
        self.stream.flush()
