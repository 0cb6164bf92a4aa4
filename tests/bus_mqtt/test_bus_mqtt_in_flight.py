"""A simulation over a real broker (issue 7, ``--bus``): the links of a closed world count what is on its way
through the broker (:mod:`flexcem.bus.in_flight`) and the simulated clock waits for exactly that before it jumps,
instead of for a quiet network. Tested on a Mosquitto of the test's own: deliveries to one endpoint, to a group and
to everyone are counted per local subscriber, a request and its reply arrive without a virtual second passing,
and a count that can never come back (a lost message) is given up after the hold's timeout."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from paho.mqtt.client import topic_matches_sub

from flexcem.bus import Endpoint, PeerUnsupported
from flexcem.bus.access import Role
from flexcem.bus.in_flight import InFlight
from flexcem.bus.mqtt import MqttBus
from flexcem.bus.topics import broadcast_topic, group_topic, inbox_topic
from flexcem.clock import SimulatedClock
from flexcem.model import StatusRequest
from mosquitto_harness import MOSQUITTO, anonymous_broker

START = datetime(2021, 7, 6, 12, tzinfo=UTC)


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[str]:
    if not Path(MOSQUITTO).exists():
        pytest.skip("no Mosquitto")
    with anonymous_broker(tmp_path) as uri:
        yield uri


def test_receivers_are_the_local_subscribers() -> None:
    links = [("sgcp/v1/d/ep/a/in", "sgcp/v1/d/grp/+", "sgcp/v1/d/all/+")] * 3 + [
        ("sgcp/v1/d/ep/+/out/grid", "sgcp/v1/d/ep/grid/in", "$share/grid/sgcp/v1/d/ep/+/out/grid"),
        ("sgcp/v1/d/ep/+/out/grid-2", "$share/grid/sgcp/v1/d/ep/+/out/grid"),
    ]
    flight = InFlight()
    for filters in links:
        flight.subscribed(filters)
    assert flight.receivers("sgcp/v1/d/all/Tariff") == 3
    assert flight.receivers("sgcp/v1/d/grp/cems") == 3
    assert flight.receivers("sgcp/v1/d/ep/a/in") == 3
    assert flight.receivers("sgcp/v1/d/ep/x/out/grid") == 2, "its own filter, and the share group once"
    assert flight.receivers("sgcp/v1/other/all/Tariff") == 0
    flight.subscribed(links[0], -1)  # a link closes
    assert flight.receivers("sgcp/v1/d/all/Tariff") == 2
    flight.subscribed(links[4], -1)
    assert flight.receivers("sgcp/v1/d/ep/x/out/grid") == 2, "the share group still has a member"
    flight.add(2)
    flight.done(5)
    assert not flight.busy(), "never below zero"


_LEVELS = st.sampled_from(["sgcp", "v1", "d", "ep", "grp", "all", "a", "b", "in", "out"])


@given(
    filters=st.lists(
        st.tuples(
            st.lists(st.one_of(_LEVELS, st.just("+")), min_size=1, max_size=5),
            st.booleans(),
            st.integers(min_value=1, max_value=3),
        ),
        max_size=12,
    ),
    topics=st.lists(st.lists(_LEVELS, min_size=1, max_size=6), min_size=1, max_size=8),
)
def test_wildcard_filters_match_as_mqtt_matches_them(
    filters: list[tuple[list[str], bool, int]], topics: list[list[str]]
) -> None:
    """The level tree the receivers are counted from agrees with paho's matching of every filter (``+`` at any
    level, a final ``#`` that also matches its parent level), links holding a filter counted each."""
    held: list[tuple[str, int]] = []
    flight = InFlight()
    for levels, rest, links in filters:
        pattern = "/".join([*levels, "#"] if rest else levels)
        if "+" not in pattern and "#" not in pattern:
            continue
        held.append((pattern, links))
        for _ in range(links):
            flight.subscribed([pattern])
    for levels in topics:
        topic = "/".join(levels)
        expected = sum(links for pattern, links in held if topic_matches_sub(pattern, topic))
        assert flight.receivers(topic) == expected, topic


def test_receivers_of_many_homes_are_counted_without_rescanning_every_filter() -> None:
    """Each of 2,000 CEM links holds a filter of its own: a new topic is matched through the level tree, and a
    link letting go of its filter stops counting at once."""
    flight = InFlight()
    for k in range(2000):
        flight.subscribed([f"sgcp/v1/d/ep/+/out/h{k}-cem", "sgcp/v1/d/grp/+", "sgcp/v1/d/all/+"])
    assert flight.receivers("sgcp/v1/d/ep/h7-pv/out/h7-cem") == 1
    assert flight.receivers("sgcp/v1/d/all/Tariff") == 2000
    flight.subscribed(["sgcp/v1/d/ep/+/out/h7-cem"], -1)
    assert flight.receivers("sgcp/v1/d/ep/h7-pv/out/h7-cem") == 0


def test_a_closed_world_on_simulated_time_waits_for_exactly_what_is_in_flight(broker: str) -> None:
    clock = SimulatedClock(START, stall_timeout_s=30.0)

    async def scenario() -> None:
        bus = MqttBus(broker, clock=clock, session_expiry_s=0, keepalive_s=60, closed_world=True)
        assert bus.in_flight is not None
        grid = Endpoint(await bus.connect("d/grid", role=Role.CONTROLLER), clock)
        homes = [Endpoint(await bus.connect(f"d/h{k}"), clock) for k in range(3)]
        for endpoint in (grid, *homes):
            await endpoint.start()
        assert bus.in_flight.receivers(inbox_topic("d/h0")) == 1
        assert bus.in_flight.receivers(group_topic("d/grp/cems")) == 3
        assert bus.in_flight.receivers(broadcast_topic("d", "Tariff")) == 4
        began = clock.now()
        for _ in range(20):  # a request and its answer, twenty times, with no virtual time in between
            with pytest.raises(PeerUnsupported):  # the answer came: the endpoint has no handler for it
                await grid.deliver("d/h0", StatusRequest(device_id="x"), timeout_s=5)
        assert clock.now() == began, "the clock held still while the messages were on their way"
        assert not bus.in_flight.busy()
        for endpoint in (grid, *homes):
            await endpoint.close()

    clock.run(scenario())


def test_a_count_that_cannot_come_back_is_given_up() -> None:
    clock = SimulatedClock(START)

    class Lost:
        """A message counted but never delivered."""

        def __init__(self) -> None:
            self.resets = 0

        def busy(self) -> bool:
            return self.resets == 0

        def reset(self) -> None:
            self.resets += 1

    lost = Lost()
    clock.hold(lost)

    async def scenario() -> float:
        began = time.monotonic()
        await asyncio.sleep(60.0)  # virtual: it may only jump once the hold is given up
        return time.monotonic() - began

    waited = clock.run(scenario())
    assert lost.resets == 1 and waited >= 4.5, "held for the hold's timeout of real time, then went on"
