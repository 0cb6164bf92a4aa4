"""A shard over a broker connects its homes concurrently (bounded by ``CONNECTS_IN_FLIGHT``), its results equal
those of the in-process bus, and a home that cannot connect fails the shard at once, named with its endpoint."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from flexcem.bus.mqtt import MqttBus, MqttLink
from flexcem.sim import runner_shard
from flexcem.sim.population import draw_population
from flexcem.sim.runner_home import HomeConnectError
from flexcem.sim.runner_shard import ShardResult, ShardTask, run_shard
from flexcem.sim.scenario import Scenario, parse_scenario
from mosquitto_harness import MOSQUITTO, anonymous_broker, free_port

SHORT = """name = "mqtt-connect"
[period]
start = 2021-07-06T16:00:00
days = 0.25

[population]
homes = 3
seed = 4

[population.pv]
share = 1.0
kw = [3.0, 5.0]

[population.battery]
share = 1.0
kwh = [5.0, 8.0]
kw = [3.0, 4.0]

[population.appliances]
dishwasher = 1.0
dishwasher_hour = 17.0

[[timeline]]
kind = "load_management"
at = 2021-07-06T17:00:00
start = 2021-07-06T18:00:00
end = 2021-07-06T20:00:00
amount_w = 500
"""
"""Three homes with PV, battery, dishwasher, base load, meter and CEM: 18 connections, and a signal answered."""

GATE = 4
"""Connections in flight at most, for the test (the default is larger than the shard's 18 connections)."""


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[str]:
    if not Path(MOSQUITTO).exists():
        pytest.skip("no Mosquitto")
    with anonymous_broker(tmp_path) as uri:
        yield uri


@pytest.fixture
def scenario() -> Scenario:
    return parse_scenario(SHORT)


def _task(scenario: Scenario, bus: str | None) -> ShardTask:
    return ShardTask(scenario, tuple(draw_population(scenario)), 0, True, bus)


class _ConnectsInFlight:
    """Wraps :meth:`MqttBus.connect`: the most connections under way at once, and of how many homes."""

    def __init__(self) -> None:
        self.now: list[str] = []
        self.most = 0
        self.most_homes = 0
        self.original = MqttBus.connect

    async def connect(self, bus: MqttBus, address: str, **kwargs: Any) -> MqttLink:
        self.now.append(address)
        self.most = max(self.most, len(self.now))
        homes = {name.split("/", 1)[1].split("-", 1)[0] for name in self.now if "-" in name}
        self.most_homes = max(self.most_homes, len(homes))
        try:
            return await self.original(bus, address, **kwargs)
        finally:
            self.now.remove(address)


def _same(over_broker: ShardResult, in_process: ShardResult) -> None:
    assert [h.home_id for h in over_broker.homes] == [h.home_id for h in in_process.homes]
    for a, b in zip(over_broker.homes, in_process.homes, strict=True):
        # two re-plan triggers close together may be coalesced into one plan or not, by the broker's timing,
        # without changing any power (the series below): one plan more or less
        assert abs(a.plans - b.plans) <= 1, a.home_id
        for name in ("site_w", "battery_w", "pv_w", "appliances_w"):
            assert getattr(a, name) == pytest.approx(getattr(b, name), rel=1e-9, abs=1e-6), (a.home_id, name)

    def answers(result: ShardResult) -> list[tuple[int, str, str | None, float | None, float | None]]:
        # recorded as the answers come in: the homes' order may differ
        return sorted((s.event, s.home_id, s.answered, s.expected_w, s.reported_w) for s in result.signals)

    assert answers(over_broker) == answers(in_process)


def test_homes_connect_concurrently_within_the_bound_and_match_the_in_process_run(
    broker: str, scenario: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    watch = _ConnectsInFlight()

    async def connect(bus: MqttBus, address: str, **kwargs: Any) -> MqttLink:
        return await watch.connect(bus, address, **kwargs)

    monkeypatch.setattr(MqttBus, "connect", connect)
    monkeypatch.setattr(runner_shard, "CONNECTS_IN_FLIGHT", GATE)
    over_broker = run_shard(_task(scenario, broker))
    assert watch.most == GATE  # as many as allowed, never more
    assert watch.most_homes > 1  # different homes connect at the same time, not one after another
    in_process = run_shard(_task(scenario, None))
    assert sum(h.plans for h in in_process.homes) > 0 and in_process.signals
    _same(over_broker, in_process)


def test_a_home_that_cannot_connect_fails_the_shard_naming_the_home_and_the_endpoint(scenario: Scenario) -> None:
    nowhere = f"mqtt://127.0.0.1:{free_port()}"  # nothing listens there
    with pytest.raises(HomeConnectError) as failure:
        run_shard(_task(scenario, nowhere))
    homes = {spec.home_id for spec in draw_population(scenario)}
    assert failure.value.home_id in homes
    assert failure.value.address.startswith(f"sim-c0/{failure.value.home_id}-")
    assert failure.value.home_id in str(failure.value) and failure.value.address in str(failure.value)
    assert nowhere in str(failure.value)  # the broker it tried
