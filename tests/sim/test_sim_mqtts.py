"""``flexcem sim run --bus mqtts://… --pki DIR``: a scenario over a Mosquitto of the test's own with mutual TLS and
the deny-by-default ACL generated from the policy ``flexcem sim prepare`` wrote; the same results as in-process;
an endpoint without a certificate, with a revoked one or from another CA is named."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from flexcem.bus.access import AccessPolicy, Role
from flexcem.bus.pki import certificates, init_pki, revoke
from flexcem.cli.main import main
from flexcem.sim.population import draw_population
from flexcem.sim.runner import plan_shards
from flexcem.sim.runner_home import HomeConnectError
from flexcem.sim.runner_shard import ShardTask, run_shard, shard_endpoints
from flexcem.sim.scenario import parse_scenario
from flexcem.sim.secure import sim_policy
from mosquitto_harness import MOSQUITTO, RunningBroker, free_port, start_broker

TWO_HOMES = """name = "mqtts-two"
[period]
start = 2021-07-06T16:00:00
days = 0.125

[population]
homes = 2
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
dishwasher_hour = 16.5

[[timeline]]
kind = "load_management"
at = 2021-07-06T16:30:00
start = 2021-07-06T17:00:00
end = 2021-07-06T18:30:00
amount_w = 500
"""
"""Two homes with PV, battery, dishwasher, base load and meter, and a load-management request: the three runs
(control, no control, control without the request) in two shards each."""

WORKERS = "2"


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """``(scenario file, PKI, policy.json)``: a PKI made with ``flexcem pki init`` and the scenario prepared."""
    root = tmp_path_factory.mktemp("mqtts")
    scenario, pki, out = root / "two.toml", root / "pki", root / "prepared"
    scenario.write_text(TWO_HOMES, encoding="utf-8")
    init_pki(pki)
    command = ["sim", "prepare", str(scenario), "--pki", str(pki), "--out", str(out), "--workers", WORKERS]
    assert main(command) == 0
    return scenario, pki, out / "policy.json"


@pytest.fixture(scope="module")
def broker(prepared: tuple[Path, Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningBroker]:
    if not Path(MOSQUITTO).exists():
        pytest.skip("no Mosquitto")
    _, pki, policy = prepared
    running = start_broker(tmp_path_factory.mktemp("broker"), AccessPolicy.load(policy), pki=pki)
    try:
        yield running
    finally:
        running.stop()


def _run(scenario: Path, out: Path, *extra: str) -> int:
    return main(["sim", "run", str(scenario), "--out", str(out), "--quiet", "--workers", WORKERS, *extra])


_COUNTS = ("messages_sent", "messages_received", "plans")
"""KPIs that may differ by bus: in-process the tariff goes to a group of the CEMs, over a broker it is broadcast
on the domain's ``all`` topic, which the devices receive too; and over a broker a CEM may make one plan more or
less (two triggers coalesced or not: seen over plain ``mqtt://`` as well) without changing any power series."""


def _results(out: Path) -> dict[str, Any]:
    """The report's KPIs (but the message counts) and every home's CSV time series, as written."""
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    kpis = {
        run: {name: value for name, value in values.items() if name not in _COUNTS}
        if isinstance(values, dict)
        else values
        for run, values in summary["kpis"].items()
    }
    homes = {path.name: path.read_text(encoding="utf-8") for path in sorted((out / "homes").glob("*.csv"))}
    return {"kpis": kpis, "homes": homes}


def test_the_prepared_policy_gives_every_endpoint_of_every_run_its_role_in_its_shards_domain(
    prepared: tuple[Path, Path, Path],
) -> None:
    scenario_file, pki, policy_file = prepared
    policy = AccessPolicy.load(policy_file)
    plan = plan_shards(parse_scenario(scenario_file.read_text(encoding="utf-8")), workers=int(WORKERS))
    assert {task.shard for task in plan.tasks} == {0, 1} and len(plan.runs) == 3
    domains = {"sim-c0", "sim-c1", "sim-n0", "sim-n1", "sim-u0", "sim-u1"}
    assert set(policy.domains()) == domains
    endpoints = [endpoint for task in plan.tasks for endpoint in shard_endpoints(task)]
    for address, role in endpoints:
        assert policy.role(address) is role, address
    assert policy.role("sim-c0/sim-c0-dso") is Role.CONTROLLER and policy.role("sim-c1/sim-c0-dso") is None
    cems = [address for address, role in endpoints if address.endswith("-cem")]
    assert cems and all(policy.role(address) is Role.CONTROLLER for address in cems)
    devices = [address for address, role in endpoints if address.endswith(("-battery", "-pv", "-dishwasher"))]
    assert devices and all(policy.role(address) is Role.ENDPOINT for address in devices)
    # every endpoint id holds exactly one valid certificate, CN = endpoint id
    valid = [record.common_name for record in certificates(pki) if record.kind == "client" and not record.revoked]
    assert sorted(valid) == sorted(identity.id for identity in policy.identities)


def test_preparing_again_issues_nothing_new_and_writes_the_same_policy(
    prepared: tuple[Path, Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario, pki, policy = prepared
    before = len(certificates(pki))
    command = ["sim", "prepare", str(scenario), "--pki", str(pki), "--out", str(tmp_path), "--workers", WORKERS]
    assert main(command) == 0
    assert len(certificates(pki)) == before
    assert "issued 0 certificates" in capsys.readouterr().out
    assert (tmp_path / "policy.json").read_text(encoding="utf-8") == policy.read_text(encoding="utf-8")


def test_two_homes_over_mutual_tls_and_the_generated_acl_give_the_in_process_results(
    prepared: tuple[Path, Path, Path], broker: RunningBroker, tmp_path: Path
) -> None:
    scenario, pki, policy = prepared
    secured, in_process = tmp_path / "mqtts", tmp_path / "memory"
    assert _run(scenario, secured, "--bus", broker.uri, "--pki", str(pki), "--policy", str(policy)) == 0
    assert _run(scenario, in_process) == 0
    summary = json.loads((secured / "summary.json").read_text(encoding="utf-8"))
    control = summary["kpis"]["control"]
    assert summary["bus"] == broker.uri and control["messages_received"] > 0 and control["plans"] >= 1
    over_tls = _results(secured)
    assert over_tls["kpis"]["signals"]  # the load-management request was answered
    assert over_tls == _results(in_process)
    log = broker.files.log.read_text(errors="replace")  # the whole log (broker.log() is its tail)
    assert "h00000-cem" in log and "sim-c1-retailer" in log  # they did connect through this broker
    assert "already connected" not in log  # no identity held two connections at once (a session taken over)
    assert "denied" not in log.lower()


def test_a_scenario_not_prepared_is_refused_naming_the_endpoint_and_the_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario, pki = tmp_path / "two.toml", tmp_path / "pki"
    scenario.write_text(TWO_HOMES, encoding="utf-8")
    init_pki(pki)
    uri = f"mqtts://127.0.0.1:{free_port()}"
    assert _run(scenario, tmp_path / "out", "--bus", uri, "--pki", str(pki)) == 2
    error = capsys.readouterr().err
    assert "endpoint sim-c0/sim-c0-retailer" in error and "no certificate was issued" in error
    assert f"flexcem sim prepare {scenario} --pki {pki} --workers {WORKERS}" in error
    assert not (tmp_path / "out").exists()


def test_a_shard_without_certificates_fails_naming_the_home_and_the_endpoint(tmp_path: Path) -> None:
    """Past the command's check (the library called directly): the shard itself names what is missing."""
    init_pki(tmp_path)
    scenario = parse_scenario(TWO_HOMES)
    task = ShardTask(scenario, tuple(draw_population(scenario)), 0, True, f"mqtts://127.0.0.1:{free_port()}")
    task = ShardTask(task.scenario, task.homes, 0, True, task.bus, pki=tmp_path)
    with pytest.raises(HomeConnectError) as failure:
        run_shard(task)
    assert failure.value.address.startswith(f"sim-c0/{failure.value.home_id}-")
    assert failure.value.address in str(failure.value) and "flexcem sim prepare" in str(failure.value)


def test_a_revoked_certificate_is_refused_naming_the_endpoint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario, pki, out = tmp_path / "two.toml", tmp_path / "pki", tmp_path / "prepared"
    scenario.write_text(TWO_HOMES, encoding="utf-8")
    init_pki(pki)
    assert main(["sim", "prepare", str(scenario), "--pki", str(pki), "--out", str(out), "--workers", WORKERS]) == 0
    revoke(pki, "h00001-battery")
    uri = f"mqtts://127.0.0.1:{free_port()}"
    assert _run(scenario, tmp_path / "report", "--bus", uri, "--pki", str(pki)) == 2
    error = capsys.readouterr().err
    assert "h00001-battery: its certificate was revoked" in error and "flexcem sim prepare" in error


def test_certificates_of_another_ca_fail_the_run_naming_the_endpoint(
    prepared: tuple[Path, Path, Path], broker: RunningBroker, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario, _, _ = prepared
    other = tmp_path / "other-pki"
    init_pki(other, ca_name="another CA")
    assert (
        main(["sim", "prepare", str(scenario), "--pki", str(other), "--out", str(tmp_path / "p"), "--workers", WORKERS])
        == 0
    )
    assert _run(scenario, tmp_path / "report", "--bus", broker.uri, "--pki", str(other)) == 1
    error = capsys.readouterr().err
    assert "could not connect" in error and "TLS handshake" in error
    assert "endpoint sim-c" in error  # the endpoint, with its shard's domain


def test_a_policy_prepared_for_other_workers_is_refused_before_the_run(
    prepared: tuple[Path, Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario, pki, policy = prepared
    uri = f"mqtts://127.0.0.1:{free_port()}"
    command = ["sim", "run", str(scenario), "--out", str(tmp_path), "--quiet", "--workers", "1"]
    assert main([*command, "--bus", uri, "--pki", str(pki), "--policy", str(policy)]) == 2
    error = capsys.readouterr().err
    assert "endpoint sim-c0/h00001-" in error and "not granted in its domain" in error and "--workers 1" in error


def test_sim_policy_is_one_identity_per_endpoint_id() -> None:
    plan = plan_shards(parse_scenario(TWO_HOMES), workers=1)
    policy = sim_policy(plan)
    ids = [identity.id for identity in policy.identities]
    assert len(ids) == len(set(ids))
    cem = policy.identity("h00000-cem")
    assert cem is not None and {grant.domain for grant in cem.grants} == {"sim-c0", "sim-n0", "sim-u0"}


def test_over_a_secured_broker_no_identity_is_in_two_shards_that_run_at_the_same_time() -> None:
    """Mosquitto takes a certificate's CN as the client id: a second connection under one CN takes the first
    one's session over. The runs of one home share its ids, so over mqtts:// they go one after another."""
    scenario = parse_scenario(TWO_HOMES)

    def clashes(batches: list[list[ShardTask]]) -> list[str]:
        found = []
        for batch in batches:
            ids = [address.split("/", 1)[1] for task in batch for address, _ in shard_endpoints(task)]
            found += sorted({name for name in ids if ids.count(name) > 1})
        return found

    secured = plan_shards(scenario, workers=2, pki=Path("pki"))
    assert len(secured.batches()) == 3 and all(len(batch) == 2 for batch in secured.batches())
    assert clashes(secured.batches()) == []
    in_process = plan_shards(scenario, workers=2)  # all at once: the same homes' ids in sim-c0, sim-n0, sim-u0
    assert len(in_process.batches()) == 1 and "h00000-cem" in clashes(in_process.batches())


def test_a_device_may_read_the_presence_of_its_own_cem_only_so_the_acl_grows_linearly(
    prepared: tuple[Path, Path, Path],
) -> None:
    from flexcem.bus.broker_config import acl_text

    _, _, policy_file = prepared
    acl = acl_text(AccessPolicy.load(policy_file))
    battery = acl.split("user h00001-battery\n", 1)[1].split("\n\n", 1)[0]
    presence = [line for line in battery.splitlines() if "/presence/" in line and line.startswith("topic read ")]
    assert presence == [
        "topic read sgcp/v1/sim-c1/presence/h00001-cem",
        "topic read sgcp/v1/sim-n1/presence/h00001-cem",
        "topic read sgcp/v1/sim-u1/presence/h00001-cem",
    ]
    cem = acl.split("user h00001-cem\n", 1)[1].split("\n\n", 1)[0]
    assert "topic read sgcp/v1/sim-c1/presence/#" in cem  # a controller still sees its domain's presence
