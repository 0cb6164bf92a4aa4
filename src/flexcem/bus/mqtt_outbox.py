"""The MQTT link's send queue: bounded, ordered, pipelined, and kept across reconnects.

Every message a link sends goes through one :class:`Outbox`. While connected a pump publishes from its head
with up to ``window`` messages awaiting their PUBACK at once (paho writes them in order on one connection);
a message leaves the outbox only when the broker has acknowledged it. When the connection is lost, whatever
was not acknowledged goes back to the front of the queue, in order, and is published again after the
reconnect — a duplicate at worst, which the receiving :class:`~flexcem.bus.endpoint.Endpoint` recognises by
its message id.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import aiomqtt

from flexcem.bus.errors import BusError, LinkClosed
from flexcem.model import Envelope

__all__ = ["Outbox", "Outgoing", "Publisher", "SendQueueFull"]

log = logging.getLogger("flexcem.bus.mqtt")


class SendQueueFull(BusError):
    """The link's send queue is at its bound (the broker has been out of reach for a while)."""


@dataclass(eq=False)
class Outgoing:
    """One message waiting to be published: topic, encoded payload, retain flag and its envelope, if any."""

    topic: str
    payload: bytes
    retain: bool
    envelope: Envelope | None
    waiter: asyncio.Future[None] | None = None

    def release(self, error: BaseException | None = None) -> None:
        """Let the sender waiting for this message go on (with ``error`` when it could not be sent)."""
        waiter, self.waiter = self.waiter, None
        if waiter is None or waiter.done():
            return
        if error is None:
            waiter.set_result(None)
        else:
            waiter.set_exception(error)
            waiter.add_done_callback(lambda future: future.exception())  # a cancelled sender never reads it


Publisher = Callable[[aiomqtt.Client, Outgoing], Coroutine[Any, Any, bool]]
"""Publishes one item on a client and waits for its PUBACK; ``False`` when the item expired unsent."""


class Outbox:
    """The send queue of link ``owner``: at most ``limit`` messages, ``window`` of them in flight."""

    def __init__(self, owner: str, publish: Publisher, *, limit: int, window: int) -> None:
        self._owner = owner
        self._publish = publish
        self._limit = limit
        self._window = window
        self._queue: deque[Outgoing] = deque()
        self._inflight: deque[tuple[Outgoing, asyncio.Task[bool]]] = deque()
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._pump: asyncio.Task[None] | None = None
        self._closed = False
        self.published = 0
        self.requeued = 0
        self.expired = 0

    def __len__(self) -> int:
        return len(self._queue) + len(self._inflight)

    async def put(self, item: Outgoing, *, wait: bool) -> None:
        """Queue ``item``; with ``wait``, return only once it is acknowledged or back in the queue after a loss."""
        if self._closed:
            raise LinkClosed(f"{self._owner} is closed")
        if len(self) >= self._limit:
            raise SendQueueFull(
                f"{self._owner}: the send queue holds {len(self)} messages, its limit; the broker is out of reach"
            )
        if wait:
            item.waiter = asyncio.get_running_loop().create_future()
        self._queue.append(item)
        self._idle.clear()
        self._wake.set()
        if item.waiter is not None:
            await asyncio.shield(item.waiter)

    async def drain(self) -> None:
        """Wait until the queue is empty and everything in it was acknowledged."""
        while self._queue or self._inflight:
            self._idle.clear()
            await self._idle.wait()

    def start(self, client: aiomqtt.Client) -> None:
        """Publish on ``client`` (just connected)."""
        self.stop()
        self._pump = asyncio.create_task(self._run(client), name=f"outbox {self._owner}")

    def stop(self) -> None:
        """The connection is gone: stop, and put what was not acknowledged back at the front, in order."""
        if self._pump is not None:
            self._pump.cancel()
            self._pump = None
        unacknowledged: list[Outgoing] = []
        for item, task in self._inflight:
            if task.done() and not task.cancelled() and task.exception() is None:
                self._done(item, task.result())
            else:
                task.cancel()
                unacknowledged.append(item)
        self._inflight.clear()
        self.requeued += len(unacknowledged)
        self._queue.extendleft(reversed(unacknowledged))
        for item in self._queue:
            item.release()  # queued now: the sender need not wait for the reconnect

    def close(self) -> None:
        """Stop for good; what is still queued is dropped (logged)."""
        self.stop()
        self._closed = True
        if self._queue:
            log.warning("%s: %d queued message(s) dropped on close", self._owner, len(self._queue))
            self._queue.clear()
        self._idle.set()

    def _done(self, item: Outgoing, sent: bool) -> None:
        if sent:
            self.published += 1
        else:
            self.expired += 1
        item.release()

    async def _run(self, client: aiomqtt.Client) -> None:
        while True:
            self._wake.clear()
            while self._inflight and self._inflight[0][1].done():
                item, task = self._inflight[0]
                error = None if task.cancelled() else task.exception()
                if task.cancelled() or isinstance(error, aiomqtt.MqttError):
                    log.info("%s: publishing stopped: %s", self._owner, error or "cancelled")
                    return  # the connection is going; the session calls stop() and everything is requeued
                self._inflight.popleft()
                if error is None:
                    self._done(item, task.result())
                else:
                    log.error("%s: cannot publish on %s: %s", self._owner, item.topic, error)
                    item.release(error)
            while self._queue and len(self._inflight) < self._window:
                item = self._queue.popleft()
                # Tasks start in the order they are made, and each hands its message to paho in its first
                # step: the broker receives them in queue order.
                task = asyncio.create_task(self._publish(client, item))
                task.add_done_callback(lambda _: self._wake.set())
                self._inflight.append((item, task))
            if not self._queue and not self._inflight:
                self._idle.set()
            await self._wake.wait()
