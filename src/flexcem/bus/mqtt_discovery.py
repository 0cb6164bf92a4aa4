"""Presence and service discovery of an MQTT link: what the broker retains, read exactly and watched live.

TR §3.3: "information about network availability (presence) is required"; "the protocol shall support
service discovery". Both are retained messages (:mod:`flexcem.bus.mqtt_wire`). A link keeps a
:class:`RetainedViews`: the presence of every endpoint its subscriptions bring (a controller's domain),
callbacks for changes, and exact reads of what the broker holds now — subscribe, then a round trip whose
answer the broker sends after the retained messages of that subscription.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable, Sequence

import aiomqtt
from paho.mqtt.subscribeoptions import SubscribeOptions

from flexcem.bus.errors import BusError
from flexcem.bus.mqtt_wire import decode_body
from flexcem.bus.topics import TopicKind
from flexcem.codec import Codec
from flexcem.model import Presence, ServiceDescriptor

__all__ = ["PresenceCallback", "PresenceChanges", "RetainedViews", "subscribe"]

log = logging.getLogger("flexcem.bus.mqtt")

PresenceCallback = Callable[[Presence], None]
"""Called with each new presence."""

Retained = Presence | ServiceDescriptor | None

_SHARED_FRAMES = 1 << 15
"""Decoded presence frames kept for the links of a process (each frame a few hundred bytes)."""


class _DecodedFrames:
    """Presence frames decoded once per process, not once per link that receives them.

    Every controller's link receives the presence of every endpoint of its domain; in a simulation of many homes
    over one broker (one process, thousands of links) decoding each frame again per link made connecting
    quadratic in CPU. Frames are keyed by their bytes (and the codec); the models are frozen, so sharing them is
    safe. The oldest are forgotten beyond ``limit``.
    """

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._frames: OrderedDict[tuple[Codec, bytes], Presence] = OrderedDict()

    def presence(self, codec: Codec, payload: bytes) -> Presence:
        """The presence in ``payload``; :class:`ValueError` when it is not one."""
        key = (codec, payload)
        found = self._frames.get(key)
        if found is not None:
            self._frames.move_to_end(key)
            return found
        value = decode_body(codec, payload, Presence)
        self._frames[key] = value
        if len(self._frames) > self._limit:
            self._frames.popitem(last=False)
        return value


_DECODED = _DecodedFrames(_SHARED_FRAMES)


async def subscribe(client: aiomqtt.Client, v5: bool, wanted: Sequence[tuple[str, int, int]]) -> list[bool]:
    """Subscribe to ``(filter, qos, retain handling)`` in one SUBSCRIBE; whether each was granted."""
    if v5:
        options = [(topic, SubscribeOptions(qos=qos, retainHandling=handling)) for topic, qos, handling in wanted]
        granted = await client.subscribe(options, timeout=10)
    else:
        granted = await client.subscribe([(topic, qos) for topic, qos, _ in wanted], timeout=10)
    return [not (isinstance(value := getattr(code, "value", code), int) and value >= 0x80) for code in granted]


class RetainedViews:
    """The presence and service descriptors link ``owner`` has seen, and exact reads of the broker's."""

    def __init__(self, owner: str, codec: Codec) -> None:
        self._owner = owner
        self._codec = codec
        self.presence: dict[str, Presence] = {}
        self._watchers: list[PresenceCallback] = []
        self._reads: list[dict[str, Retained]] = []

    def watch(self, callback: PresenceCallback) -> Callable[[], None]:
        """Call ``callback`` on every change of presence; returns the function that stops it."""
        self._watchers.append(callback)

        def stop() -> None:
            if callback in self._watchers:
                self._watchers.remove(callback)

        return stop

    def arrived(self, kind: TopicKind, topic: str, endpoint: str, payload: bytes) -> None:
        """A (retained) presence or service frame arrived on ``topic``; empty means withdrawn.

        A service descriptor is decoded only while an exact read waits for it (nothing else keeps one).
        """
        if kind is not TopicKind.PRESENCE and not self._reads:
            return
        value: Retained = None
        try:
            if payload and kind is TopicKind.PRESENCE:
                value = _DECODED.presence(self._codec, payload)
            elif payload:
                value = decode_body(self._codec, payload, ServiceDescriptor)
        except ValueError as error:
            log.warning("%s: ignored a malformed frame on %s: %s", self._owner, topic, error)
            return
        for read in self._reads:
            read[topic] = value
        if isinstance(value, Presence) and value.address == endpoint and self.presence.get(endpoint) != value:
            self.presence[endpoint] = value
            for watcher in list(self._watchers):
                watcher(value)

    async def read(self, client: aiomqtt.Client | None, v5: bool, subscription: str) -> dict[str, Retained]:
        """What the broker retains on ``subscription`` (not a filter the link keeps), by topic.

        Subscribes at QoS 0 (the broker sends the retained messages right after its SUBACK, with no in-flight
        window to hold one back), then unsubscribes: the UNSUBACK comes after those messages, which the link
        handles in the order they arrive.
        """
        if client is None:
            raise BusError(f"{self._owner} is not connected to a broker right now")
        found: dict[str, Retained] = {}
        self._reads.append(found)
        try:
            await subscribe(client, v5, [(subscription, 0, 0)])
            await client.unsubscribe(subscription, timeout=10)
        except aiomqtt.MqttError as error:
            raise BusError(f"{self._owner}: reading {subscription} failed: {error}") from error
        finally:
            self._reads.remove(found)
        return found


class PresenceChanges:
    """Presence changes from the moment it is made, as an async iterator; ``aclose()`` stops it."""

    def __init__(self, views: RetainedViews) -> None:
        self._changes: asyncio.Queue[Presence] = asyncio.Queue()
        self._stop = views.watch(self._changes.put_nowait)

    def __aiter__(self) -> PresenceChanges:
        return self

    async def __anext__(self) -> Presence:
        return await self._changes.get()

    async def aclose(self) -> None:
        """Stop collecting changes."""
        self._stop()
