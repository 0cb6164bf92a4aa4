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

from collections import Counter
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

from paho.mqtt.client import topic_matches_sub

__all__ = ["InFlight"]


class InFlight:
    """The outstanding packets and deliveries of a closed world of links."""

    def __init__(self) -> None:
        self._exact: Counter[str] = Counter()
        """Filters without wildcards (inboxes) → how many local links hold them."""
        self._wildcard = _FilterTree()
        """Filters with wildcards (groups, broadcasts, outboxes), by topic level: a topic is matched against
        them in as many steps as it has levels, however many links there are."""
        self._shared: dict[str, Counter[str]] = {}
        """Shared subscriptions: filter → share group → how many local links hold it."""
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

    def subscribed(self, filters: Iterable[str], change: int = 1) -> None:
        """A local link holds ``filters`` (``change`` −1: it let them go). The filters of one link must not
        overlap (flexcem's topic scheme: inbox, groups, broadcasts, outboxes), so each match is one delivery."""
        for pattern in filters:
            if pattern.startswith("$share/"):
                _, share, pattern = pattern.split("/", 2)
                self._shared.setdefault(pattern, Counter())[share] += change
            elif "+" in pattern or "#" in pattern:
                self._wildcard.add(pattern, change)
            else:
                self._exact[pattern] += change
        self._receivers.clear()

    def receivers(self, topic: str) -> int:
        """How many local deliveries a message on ``topic`` makes (one per matching filter of a link, one per
        share group); cached per topic until the links change."""
        known = self._receivers.get(topic)
        if known is None:
            known = self._exact[topic]
            known += self._wildcard.matches(topic)
            for pattern, groups in self._shared.items():
                if topic_matches_sub(pattern, topic):
                    known += sum(1 for n in groups.values() if n > 0)
            self._receivers[topic] = known
        return known


class _FilterTree:
    """MQTT topic filters with wildcards and how many links hold each, in a tree of topic levels (as a broker
    keeps them): matching a topic follows its levels, the literal, ``+`` and ``#`` branches at each."""

    __slots__ = ("_children", "_held", "_rest")

    def __init__(self) -> None:
        self._children: dict[str, _FilterTree] = {}
        self._held = 0
        """Links holding the filter that ends here."""
        self._rest = 0
        """Links holding the filter that ends here with ``#`` (this level and everything below)."""

    def add(self, pattern: str, change: int) -> None:
        """``change`` more links hold ``pattern`` (−1: one let it go)."""
        node = self
        levels = pattern.split("/")
        for level in levels[:-1] if levels[-1] == "#" else levels:
            node = node._children.setdefault(level, _FilterTree())
        if levels[-1] == "#":
            node._rest += change
        else:
            node._held += change

    def matches(self, topic: str) -> int:
        """How many held filters match ``topic`` (counted once per link holding each)."""
        return self._matches(topic.split("/"), 0)

    def _matches(self, levels: list[str], depth: int) -> int:
        found = max(self._rest, 0)  # '#' also matches the parent level itself (MQTT 3.1.1 §4.7.1.2)
        if depth == len(levels):
            return found + max(self._held, 0)
        for key in (levels[depth], "+"):
            child = self._children.get(key)
            if child is not None:
                found += child._matches(levels, depth + 1)
        return found
