"""What a closed world of MQTT links still waits for from the broker, so that a simulated clock can hold still.

A simulation over a real broker runs every endpoint of its domain in one process, on virtual time: the clock
jumps to its next timer as soon as nothing is ready to run. A message on its way through the broker is not
"ready", so without more knowledge the clock can only guess that the network is done once it has been quiet for
a while (``SimulatedClock(settle_s=…)``), which costs that much real time at every jump. Here the links count
exactly what is outstanding instead:

* every packet they wait an acknowledgement for (a PUBLISH until its PUBACK, a connection until it is subscribed
  and announced, a farewell until it is gone), and
* every delivery they expect: a message published on a topic counts once for each local link whose
  subscriptions match it (a shared subscription once per share group); its arrival counts it off.

While the count is above zero the clock waits for the network; at zero it may jump at once. It is exact only in
a closed world — every subscriber of the domain on this bus — which the simulation guarantees and declares
(``MqttBus(closed_world=True)``). Retained copies handed to a new subscriber were never counted and are not
counted off; the count never goes below zero.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager

from paho.mqtt.client import topic_matches_sub

__all__ = ["InFlight"]


class InFlight:
    """The outstanding packets and deliveries of a closed world of links."""

    def __init__(self, subscriptions: Callable[[], Iterable[tuple[str, ...]]]) -> None:
        """``subscriptions`` gives the message filters of every local link, one tuple per link."""
        self._subscriptions = subscriptions
        self._receivers: dict[str, int] = {}
        self.count = 0
        """Packets awaiting their acknowledgement plus deliveries awaited."""

    def busy(self) -> bool:
        """Whether anything is still on its way."""
        return self.count > 0

    def add(self, n: int = 1) -> None:
        """``n`` more outstanding."""
        self.count += n

    def done(self, n: int = 1) -> None:
        """``n`` fewer outstanding (never below zero)."""
        self.count = max(0, self.count - n)

    def reset(self) -> None:
        """Forget everything outstanding (the clock gave up waiting: something was lost)."""
        self.count = 0

    @asynccontextmanager
    async def waiting(self) -> AsyncIterator[None]:
        """Count one exchange with the broker while the block runs."""
        self.add()
        try:
            yield
        finally:
            self.done()

    def receivers(self, topic: str) -> int:
        """How many local deliveries a message on ``topic`` makes (cached until :meth:`links_changed`)."""
        known = self._receivers.get(topic)
        if known is None:
            known = 0
            shares: set[str] = set()
            for filters in self._subscriptions():
                for pattern in filters:
                    share = None
                    if pattern.startswith("$share/"):
                        _, share, pattern = pattern.split("/", 2)
                    if not topic_matches_sub(pattern, topic):
                        continue
                    if share is None:
                        known += 1
                        break  # one delivery per link, however many of its filters match
                    if share not in shares:
                        shares.add(share)
                        known += 1
                        break
            self._receivers[topic] = known
        return known

    def links_changed(self) -> None:
        """A link connected or closed: the receivers of every topic are counted again."""
        self._receivers.clear()
