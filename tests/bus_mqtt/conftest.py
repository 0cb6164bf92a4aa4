"""Shared fixtures of the MQTT binding's tests: a policy, brokers of the test's own, a network of links."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from flexcem.bus import Endpoint
from flexcem.bus.access import AccessPolicy, Grant, Identity, Role
from flexcem.bus.link import Incoming
from flexcem.bus.mqtt import MqttBus, MqttLink
from flexcem.clock import RealClock
from flexcem.model import Envelope, FlexModel
from mosquitto_harness import RunningBroker, start_broker

T = TypeVar("T")

DOMAIN = "dom"


def _endpoint(identity: str, *groups: str) -> Identity:
    return Identity(id=identity, grants=(Grant(domain=DOMAIN, groups=groups),))


def _controller(identity: str, acts_as: str | None = None) -> Identity:
    return Identity(id=identity, grants=(Grant(domain=DOMAIN, role=Role.CONTROLLER, acts_as=acts_as),))


POLICY = AccessPolicy(
    identities=(
        _controller("grid"),
        _controller("grid-1", acts_as="gridsvc"),
        _controller("grid-2", acts_as="gridsvc"),
        _endpoint("a", "north"),
        _endpoint("b", "north"),
        _endpoint("c"),
        _endpoint("washer"),
    )
)
"""Who is who in the tests: controllers grid (and two instances of gridsvc), endpoints a, b (group north), c."""


class Net:
    """Links and endpoints on one bus, all closed at the end."""

    def __init__(self, bus: MqttBus) -> None:
        self.bus = bus
        self.clock = RealClock()
        self.links: dict[str, MqttLink] = {}
        self._all: list[MqttLink] = []
        self._endpoints: list[Endpoint] = []

    async def link(self, address: str, role: Role = Role.ENDPOINT, **options: Any) -> MqttLink:
        """Connect ``address``; ``links[address]`` is its latest link."""
        link = await self.bus.connect(address, role=role, **options)
        self.links[address] = link
        self._all.append(link)
        return link

    async def endpoint(self, address: str, role: Role = Role.ENDPOINT, **options: Any) -> Endpoint:
        endpoint = Endpoint(await self.link(address, role, **options), self.clock, ack_timeout_s=3.0, retries=0)
        self._endpoints.append(endpoint)
        await endpoint.start()
        return endpoint

    async def close(self) -> None:
        for endpoint in self._endpoints:
            await endpoint.close()
        for link in self._all:
            await link.close()

    async def __aenter__(self) -> Net:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    @staticmethod
    async def next_item(link: MqttLink, timeout_s: float = 5.0) -> Incoming:
        """The next message of ``link`` (failing after ``timeout_s`` rather than hanging)."""
        return await asyncio.wait_for(link.receive(), timeout_s)

    @staticmethod
    async def next_envelope(link: MqttLink, timeout_s: float = 5.0) -> Envelope:
        """The next message of ``link``, which must be an envelope."""
        item = await Net.next_item(link, timeout_s)
        assert isinstance(item, Envelope), item
        return item

    @staticmethod
    def collector(into: list[FlexModel]) -> Callable[[FlexModel, Envelope], Awaitable[None]]:
        """A handler that keeps the bodies it gets."""

        async def handler(body: FlexModel, envelope: Envelope) -> None:
            into.append(body)

        return handler


def _run(coroutine: Coroutine[Any, Any, T], timeout_s: float = 20.0) -> T:
    async def bounded() -> T:
        return await asyncio.wait_for(coroutine, timeout_s)

    return asyncio.run(bounded())


@pytest.fixture
def run() -> Callable[..., Any]:
    """Run a scenario coroutine on the real clock, failing it after a bound rather than hanging."""
    return _run


@pytest.fixture
def policy() -> AccessPolicy:
    """The tests' access policy."""
    return POLICY


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[RunningBroker]:
    """A plain Mosquitto with the generated configuration for :data:`POLICY`."""
    running = start_broker(tmp_path / "broker", POLICY)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def net(request: pytest.FixtureRequest) -> Callable[..., Net]:
    """Make a :class:`Net`: ``net()`` on the ``broker`` fixture, ``net(bus)`` on a bus of the test's own."""

    def make(bus: MqttBus | None = None, **options: Any) -> Net:
        if bus is None:
            running: RunningBroker = request.getfixturevalue("broker")
            bus = MqttBus(running.uri, **options)
        return Net(bus)

    return make
