"""On Mosquitto, a group the operator fills through the grid server reaches the broker's ACL at once (TR §3.3:
"a change of group membership regenerates the ACL and reloads the broker"; issue 6 on a real broker).

The broker runs with mutual TLS and the deny-by-default ACL flexcem generates from an access policy in which
no CEM belongs to any group. The grid server, given the policy and the broker's ACL file and pid, writes the
members of an area it registers into the policy, regenerates the ACL and sends SIGHUP; the member then gets
the area's traffic light over its live connection, a CEM outside the area does not, and a member added
later gets the next one.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from flexcem.bus import Endpoint
from flexcem.bus.access import AccessPolicy, Grant, Identity, Role
from flexcem.bus.mqtt import MqttBus
from flexcem.bus.pki import init_pki, issue_clients
from flexcem.clock import RealClock
from flexcem.grid.broker_acl import BrokerAcl
from flexcem.grid.server import GridServer
from flexcem.model import Envelope, GridState, TrafficLight
from mosquitto_harness import RunningBroker, start_broker

DOMAIN = "grid"
POLICY = AccessPolicy(
    identities=(
        Identity(id="dso", grants=(Grant(domain=DOMAIN, role=Role.CONTROLLER),)),
        Identity(id="cem-a", grants=(Grant(domain=DOMAIN),)),
        Identity(id="cem-b", grants=(Grant(domain=DOMAIN),)),
    )
)
RELOAD_S = 0.5  # Mosquitto applies a SIGHUP on its next loop iteration


@pytest.fixture
def pki(tmp_path: Path) -> Path:
    directory = tmp_path / "pki"
    init_pki(directory)
    issue_clients(directory, [identity.id for identity in POLICY.identities])
    return directory


@pytest.fixture
def broker(tmp_path: Path, pki: Path) -> RunningBroker:
    running = start_broker(tmp_path / "broker", POLICY, pki=pki)
    yield running  # type: ignore[misc]
    running.stop()


def test_an_area_registered_through_the_server_is_written_into_the_acl_and_its_members_get_its_signals(
    tmp_path: Path, pki: Path, broker: RunningBroker
) -> None:
    policy_path = tmp_path / "policy.json"
    POLICY.save(policy_path)
    assert broker.process is not None

    async def scenario() -> dict[str, list[GridState]]:
        acl = BrokerAcl(policy_path, broker.files.acl, broker.process.pid)  # type: ignore[union-attr]
        server = GridServer.open(f"sqlite:///{tmp_path / 'grid.db'}", bus=broker.uri, pki=pki, domain=DOMAIN,
                                 broker_acl=acl)
        await server.start()
        cem_bus = MqttBus(broker.uri, pki=pki)
        seen: dict[str, list[GridState]] = {"cem-a": [], "cem-b": []}
        cems = []
        for name in seen:
            endpoint = Endpoint(await cem_bus.connect(f"{DOMAIN}/{name}"), RealClock())

            async def on_light(light: TrafficLight, envelope: Envelope, name: str = name) -> None:
                seen[name].append(light.state)

            endpoint.on(TrafficLight, on_light)
            await endpoint.start()
            cems.append(endpoint)
        try:
            server.add_customer("household-a")
            server.add_customer("household-b")
            server.add_endpoint("cem-a", "household-a")
            server.add_endpoint("cem-b", "household-b")
            area_group = server.add_area("north", members=["cem-a"])
            await asyncio.sleep(RELOAD_S)
            await server.set_traffic_light("north", GridState.YELLOW)
            await asyncio.sleep(RELOAD_S)
            first = {name: list(states) for name, states in seen.items()}
            server.add_group(area_group, members=["cem-b"])
            await asyncio.sleep(RELOAD_S)
            await server.set_traffic_light("north", GridState.RED)
            await asyncio.sleep(RELOAD_S)
            return {"first-a": first["cem-a"], "first-b": first["cem-b"], **seen}
        finally:
            for endpoint in cems:
                await endpoint.close()
            await server.stop()
            server.close()

    seen = asyncio.run(scenario())
    assert seen["first-a"] == [GridState.YELLOW], "the member got the area's light over its live connection"
    assert seen["first-b"] == [], "the broker keeps a CEM outside the area from reading it"
    assert seen["cem-b"] == [GridState.RED], "a member added later gets the next light"
    assert seen["cem-a"] == [GridState.YELLOW, GridState.RED]
    stored = AccessPolicy.load(policy_path)
    assert set(stored.members(f"{DOMAIN}/grp/area-north")) == {f"{DOMAIN}/cem-a", f"{DOMAIN}/cem-b"}
    assert "grid/grp/area-north" in broker.files.acl.read_text()


def test_members_without_an_identity_in_the_policy_are_reported_not_invented(tmp_path: Path) -> None:
    policy_path = tmp_path / "policy.json"
    POLICY.save(policy_path)
    acl = BrokerAcl(policy_path, tmp_path / "acl")
    result = acl.sync({f"{DOMAIN}/grp/south": [f"{DOMAIN}/cem-a", f"{DOMAIN}/cem-z"]})
    assert result.added == ((f"{DOMAIN}/grp/south", f"{DOMAIN}/cem-a"),)
    assert result.unknown == (f"{DOMAIN}/cem-z",) and result.reloaded is False
    assert AccessPolicy.load(policy_path).members(f"{DOMAIN}/grp/south") == (f"{DOMAIN}/cem-a",)
    assert acl.sync({f"{DOMAIN}/grp/south": [f"{DOMAIN}/cem-a"]}).added == (), "a second sync changes nothing"


def test_a_policy_the_server_cannot_rewrite_is_refused_at_start_naming_the_file(tmp_path: Path) -> None:
    toml = tmp_path / "policy.toml"
    toml.write_text('[[identities]]\nid = "dso"\n')
    with pytest.raises(ValueError, match=r"policy\.toml"):
        BrokerAcl(toml, tmp_path / "acl")
