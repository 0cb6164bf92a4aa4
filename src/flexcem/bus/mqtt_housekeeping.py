"""paho's housekeeping (keep-alive pings, ping timeouts) for every MQTT client of one event loop.

aiomqtt gives each client its own asyncio timer that calls paho's ``loop_misc``. A process that holds thousands
of connections (a simulation shard: eight per home) then keeps thousands of timers, and on a simulated clock,
where a day passes in seconds of real time, those timers fire millions of times and each is an instant the
clock must stop at. paho's keep-alive is kept in *real* time (the broker counts real seconds, whatever the
simulation's clock says), so here one daemon thread per event loop wakes every ``interval`` seconds of real time
and hands the loop one round of ``loop_misc`` calls (``call_soon_threadsafe``); paho itself is only ever called
from the loop's thread. No asyncio timer is involved: a simulated clock never stops for housekeeping.
"""

from __future__ import annotations

import asyncio
import threading
import time
import weakref
from typing import Any

from paho.mqtt.client import MQTT_ERR_SUCCESS

__all__ = ["Housekeeping", "housekeeping"]


class Housekeeping:
    """The clients of one event loop and the thread that paces their housekeeping."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = weakref.ref(loop)
        """Weakly: the loop is the key of this object in a weak mapping."""
        self._clients: dict[Any, tuple[float, asyncio.Future[None]]] = {}
        """paho client → (its interval [s], the future that ends when paho reports the connection gone)."""
        self._due: dict[Any, float] = {}
        """paho client → the real instant [s, :func:`time.monotonic`] of its next ``loop_misc``."""
        self._tick_s = 15.0
        """The thread's pause [s of real time]: the shortest interval of any client so far."""
        self._thread: threading.Thread | None = None

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
        self._tick_s = min(self._tick_s, interval_s)
        if self._thread is None:
            self._thread = threading.Thread(target=self._pace, name="mqtt housekeeping", daemon=True)
            self._thread.start()
        try:
            await done
        finally:
            self._clients.pop(client, None)
            self._due.pop(client, None)

    def _pace(self) -> None:
        """The thread: one round per tick, run in the loop, for as long as the loop lives (a round without
        clients does nothing; a thread that stopped with the last client could miss the next one's arrival)."""
        while True:
            time.sleep(self._tick_s)
            loop = self._loop()
            if loop is None:
                return
            try:
                loop.call_soon_threadsafe(self._round)
            except RuntimeError:  # the loop is closed
                return
            del loop

    def _round(self) -> None:
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
        keeper = _BY_LOOP[loop] = Housekeeping(loop)
    return keeper
