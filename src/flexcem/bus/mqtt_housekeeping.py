"""paho's housekeeping (keep-alive pings, ping timeouts) for every MQTT client of one event loop, in one task.

aiomqtt gives each client its own timer that calls paho's ``loop_misc``. A process that holds thousands of
connections (a simulation shard: eight per home) then keeps thousands of timers; on a simulated clock, where a
day passes in seconds, those timers fire millions of times and dominate the run. Here one task per event loop
ticks every ``interval`` seconds of the loop's time and calls ``loop_misc`` of every client — but only once per
``interval`` seconds of *real* time (:func:`time.monotonic`), because paho's keep-alive is kept in real time:
the broker counts real seconds, whatever the simulation's clock says.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import weakref
from typing import Any

from paho.mqtt.client import MQTT_ERR_SUCCESS

__all__ = ["Housekeeping", "housekeeping"]


class Housekeeping:
    """The clients of one event loop and the task that looks after them."""

    def __init__(self) -> None:
        self._clients: dict[Any, tuple[float, asyncio.Future[None]]] = {}
        """paho client → (its interval [s], the future that ends when paho reports the connection gone)."""
        self._due: dict[Any, float] = {}
        """paho client → the real instant [s, :func:`time.monotonic`] of its next ``loop_misc``."""
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    def __len__(self) -> int:
        return len(self._clients)

    async def look_after(self, client: Any, interval_s: float) -> None:
        """Call ``client.loop_misc()`` every ``interval_s`` seconds of real time until it reports an error (the
        connection is gone) or the caller is cancelled (aiomqtt cancels when the socket closes)."""
        if client.loop_misc() != MQTT_ERR_SUCCESS:
            return
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._clients[client] = (interval_s, done)
        self._due[client] = time.monotonic() + interval_s
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="mqtt housekeeping")
        self._wake.set()
        try:
            await done
        finally:
            self._clients.pop(client, None)
            self._due.pop(client, None)

    async def _run(self) -> None:
        while self._clients:
            tick = min(interval for interval, _ in self._clients.values())
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), tick)
            now = time.monotonic()
            for client, due in list(self._due.items()):
                if due > now or client not in self._clients:
                    continue
                interval, done = self._clients[client]
                self._due[client] = now + interval
                if client.loop_misc() != MQTT_ERR_SUCCESS and not done.done():
                    done.set_result(None)


_BY_LOOP: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Housekeeping] = weakref.WeakKeyDictionary()


def housekeeping() -> Housekeeping:
    """The running event loop's :class:`Housekeeping`."""
    loop = asyncio.get_running_loop()
    keeper = _BY_LOOP.get(loop)
    if keeper is None:
        keeper = _BY_LOOP[loop] = Housekeeping()
    return keeper
