"""Simulated time that runs as fast as the CPU allows.

:class:`SimulatedClock` runs a coroutine on an asyncio event loop whose time is virtual: whenever no callback
is ready and no I/O is pending, the loop jumps straight to its next timer instead of waiting. Every
``asyncio.sleep``, ``asyncio.wait_for`` and ``asyncio.timeout`` therefore runs on simulated time, so the
same component code serves simulation and real operation. Real I/O still works (it is polled without
waiting). Over a real broker give the clock a ``settle_s`` of a few tens of milliseconds: virtual time then
waits until the network has been quiet that long, so that replies in flight arrive before any timeout.
"""

from __future__ import annotations

import asyncio
import selectors
import time
from collections.abc import Callable, Coroutine, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypeVar

__all__ = ["Hold", "SimulatedClock", "SimulationStalled", "VirtualTimeEventLoop"]

T = TypeVar("T")


class Hold(Protocol):
    """Something on its way that virtual time must wait for (a message through a real broker)."""

    def busy(self) -> bool:
        """Whether it is still on its way."""
        ...

    def reset(self) -> None:
        """Give up waiting: it was lost."""
        ...


class _VirtualSelector(selectors.BaseSelector):
    """Wraps a real selector; instead of waiting for a timeout it advances the loop's virtual time."""

    def __init__(self, loop_time: list[float], stall_timeout_s: float, settle_s: float) -> None:
        self._inner = selectors.DefaultSelector()
        self._time = loop_time
        self.threads_busy = 0
        """Jobs running in executor threads (a blocking connect, DNS): virtual time waits for them."""
        self._stall_timeout_s = stall_timeout_s
        self._settle_s = settle_s
        self._last_io = time.monotonic()
        self.holds: list[Hold] = []
        """What must be done before virtual time may jump (:meth:`SimulatedClock.hold`)."""
        self._hold_timeout_s = 5.0
        """How long [s of real time] a hold may wait without any I/O before it is taken as lost."""

    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        self._last_io = time.monotonic()
        return self._inner.register(fileobj, events, data)

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        return self._inner.unregister(fileobj)

    def modify(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        self._last_io = time.monotonic()
        return self._inner.modify(fileobj, events, data)

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        events = self._inner.select(0)
        if events:
            self._last_io = time.monotonic()
        if events or timeout == 0:
            return events
        if self.threads_busy:
            # A thread does real work (a blocking connect) whose end may change what happens next.
            events = self._inner.select(min(0.005, timeout) if timeout is not None else 0.005)
            if events:
                self._last_io = time.monotonic()
            return events
        if self.holds:
            # The links count what is on its way through the broker (closed world): wait for exactly that.
            held = [hold for hold in self.holds if hold.busy()]
            if held:
                quiet = time.monotonic() - self._last_io
                if quiet < self._hold_timeout_s:
                    events = self._inner.select(min(self._hold_timeout_s - quiet, 0.05))
                    if events:
                        self._last_io = time.monotonic()
                    return events
                # nothing arrived for that long: what is counted was lost (a dropped message); go on
                for hold in held:
                    hold.reset()
        elif self._settle_s > 0:
            # Real network I/O happened a moment ago: an answer may be on its way, so let real time pass
            # until the network has been quiet for settle_s before jumping virtual time.
            quiet = time.monotonic() - self._last_io
            if quiet < self._settle_s:
                events = self._inner.select(self._settle_s - quiet)
                if events:
                    self._last_io = time.monotonic()
                return events
        if timeout is None:
            # Nothing scheduled at all: only a thread or a signal can wake the loop, so really wait —
            # but not forever: a simulation in which nothing can happen any more has stalled.
            events = self._inner.select(self._stall_timeout_s)
            if not events:
                raise SimulationStalled(
                    f"nothing is scheduled and nothing happened for {self._stall_timeout_s:g} s: "
                    "every task waits for something that cannot come"
                )
            return events
        self._time[0] += timeout
        return []

    def close(self) -> None:
        self._inner.close()

    def get_map(self) -> Mapping[Any, selectors.SelectorKey]:
        return self._inner.get_map()


class SimulationStalled(RuntimeError):
    """Every task of a simulation waits and no timer is left: it can never go on."""


class VirtualTimeEventLoop(asyncio.SelectorEventLoop):
    """A selector event loop whose ``time()`` is virtual seconds since the loop was made.

    ``stall_timeout_s`` [s of real time] bounds how long it waits when no timer is left at all before it
    raises :class:`SimulationStalled`. With ``settle_s`` > 0 [s of real time] virtual time stands still
    until real network I/O has been quiet that long, so that a simulation can run over a real broker.
    """

    def __init__(self, stall_timeout_s: float = 30.0, settle_s: float = 0.0) -> None:
        self._virtual_time = [0.0]
        self._virtual_selector = _VirtualSelector(self._virtual_time, stall_timeout_s, settle_s)
        super().__init__(selector=self._virtual_selector)

    def time(self) -> float:
        return self._virtual_time[0]

    def hold(self, what: Hold) -> None:
        """Let virtual time jump only while ``what`` is not busy (see :meth:`SimulatedClock.hold`)."""
        self._virtual_selector.holds.append(what)

    def run_in_executor(  # type: ignore[override]
        self, executor: Any, func: Callable[..., T], *args: Any
    ) -> asyncio.Future[T]:
        """As asyncio's, but virtual time stands still while the job runs in its thread."""
        selector = self._virtual_selector
        selector.threads_busy += 1
        future = super().run_in_executor(executor, func, *args)

        def done(_: asyncio.Future[T]) -> None:
            selector.threads_busy -= 1

        future.add_done_callback(done)
        return future


class SimulatedClock:
    """A clock on virtual time, starting at ``start``.

    Use :meth:`run` to run the simulation's main coroutine; inside it, :meth:`now` is ``start`` plus the
    virtual seconds elapsed.
    """

    def __init__(self, start: datetime, stall_timeout_s: float = 30.0, settle_s: float = 0.0) -> None:
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        self._start = start.astimezone(UTC)
        self._stall_timeout_s = stall_timeout_s
        self._settle_s = settle_s
        self._loop: VirtualTimeEventLoop | None = None
        self._holds: list[Hold] = []
        self._now: tuple[float, datetime] = (0.0, self._start)
        """The loop's virtual seconds and the instant they make."""

    @property
    def start(self) -> datetime:
        """The instant the simulation began at."""
        return self._start

    def now(self) -> datetime:
        """The simulated present instant in UTC (microsecond resolution)."""
        if self._loop is None:
            return self._start
        seconds = self._loop.time()
        if seconds != self._now[0]:  # asked far more often than time moves: computed once per instant
            self._now = (seconds, self._start + timedelta(seconds=round(seconds, 6)))
        return self._now[1]

    def hold(self, what: Hold) -> None:
        """Virtual time may jump only while ``what`` is not busy — instead of after ``settle_s`` of quiet network:
        for messages through a real broker that are counted exactly (``MqttBus(closed_world=True)``)."""
        self._holds.append(what)
        if self._loop is not None:
            self._loop.hold(what)

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of simulated time."""
        await asyncio.sleep(max(0.0, seconds))

    async def sleep_until(self, instant: datetime) -> None:
        """Wait until the simulated ``instant``."""
        while True:
            remaining = (instant - self.now()).total_seconds()
            if remaining <= 0:
                return
            await asyncio.sleep(remaining)

    def run(self, main: Coroutine[Any, Any, T]) -> T:
        """Run ``main`` to completion on a new virtual-time event loop and return its result."""
        loop = VirtualTimeEventLoop(self._stall_timeout_s, self._settle_s)
        for what in self._holds:
            loop.hold(what)
        self._loop = loop
        try:
            with asyncio.Runner(loop_factory=lambda: loop) as runner:
                return runner.run(main)
        finally:
            self._start = self.now()
            self._now = (0.0, self._start)
            self._loop = None
