"""The demo day: deadlines met, planning cheaper than starting at once, the site limit respected."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flexcem.bus.pki import init_pki, issue_clients
from flexcem.cli.main import main
from flexcem.data.citylearn import DATA_START, CityLearnData
from flexcem.sim.demo import DemoScenario, Mode, demo_policy, run_demo_day
from mosquitto_harness import start_broker

SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "citylearn-2023-3-1"


@pytest.fixture(scope="module")
def runs():  # type: ignore[no-untyped-def]
    scenario = DemoScenario(wire=None)
    return scenario, run_demo_day(scenario, Mode.PLANNED), run_demo_day(scenario, Mode.AT_ONCE)


def test_every_device_meets_its_deadline_in_both_runs(runs) -> None:  # type: ignore[no-untyped-def]
    _, planned, at_once = runs
    for run in (planned, at_once):
        assert [device.device_id for device in run.devices] == ["washer", "ev", "dishwasher"]
        assert all(device.met_deadline for device in run.devices)


def test_planning_costs_less_and_keeps_the_site_under_its_limit(runs) -> None:  # type: ignore[no-untyped-def]
    scenario, planned, at_once = runs
    assert planned.devices_cost < 0.6 * at_once.devices_cost
    assert planned.peak_w <= scenario.site_import_limit_w * 1.05  # the plan used yesterday's load as forecast
    assert at_once.peak_w > scenario.site_import_limit_w
    energy = {d.device_id: d.energy_wh for d in planned.devices}
    assert energy == pytest.approx({d.device_id: d.energy_wh for d in at_once.devices}, abs=1.0)


def test_the_correction_shifted_a_device_that_had_not_started(runs) -> None:  # type: ignore[no-untyped-def]
    _, planned, _ = runs
    correction = next(i for i, line in enumerate(planned.timeline) if "correction" in line)
    at = planned.timeline[correction].split()[1]
    follow = [line for line in planned.timeline[correction + 1 :] if line.split()[1] == at]
    assert any("cem → washer" in line and "slot shift" in line for line in follow), follow
    assert any("washer → cem" in line and "confirms" in line for line in follow), follow


def test_demo_command_writes_summary_and_plot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--out", str(tmp_path), "--quiet"]) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["currency"] == "USD"
    assert summary["planned"]["devices_cost"] < summary["at_once"]["devices_cost"]
    assert set(summary["planned"]["devices"]) == {"washer", "ev", "dishwasher"}
    for device in summary["planned"]["devices"].values():
        assert device["start"] and device["end"] and device["energy_wh"] > 0 and device["met_deadline"]
    png = (tmp_path / "demo.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 20_000
    assert "Planning saves" in capsys.readouterr().out


def test_embedded_data_is_the_shared_data_set() -> None:
    embedded = CityLearnData.embedded()
    assert embedded.start == DATA_START and len(embedded.price_per_kwh) == 2208
    if SHARED_DATA.exists():
        full = CityLearnData.from_directory(SHARED_DATA)
        assert (full.price_per_kwh == embedded.price_per_kwh).all()
        assert (full.base_load_w == embedded.base_load_w).all()


@pytest.mark.parametrize("tls", [False, True], ids=["mqtt", "mqtts"])
def test_demo_runs_over_mosquitto_with_the_same_outcome(tls: bool, tmp_path: Path, runs) -> None:  # type: ignore[no-untyped-def]
    """`flexcem demo --bus mqtt(s)://…`: every component on its own connection, the same plan as in-process."""

    _, planned_in_process, _ = runs
    pki = None
    if tls:
        pki = tmp_path / "pki"
        init_pki(pki)
        issue_clients(pki, [identity.id for identity in demo_policy().identities])
    broker = start_broker(tmp_path / "broker", demo_policy(), pki=pki)
    try:
        scenario = DemoScenario(wire=None, bus=(broker.uri.replace("127.0.0.1", "localhost"),), pki=pki)
        planned = run_demo_day(scenario, Mode.PLANNED)
    finally:
        broker.stop()
    assert [d.start for d in planned.devices] == [d.start for d in planned_in_process.devices]
    assert planned.devices_cost == pytest.approx(planned_in_process.devices_cost, rel=1e-6)
    assert planned.messages > 50
    assert any("slot shift" in line for line in planned.timeline)
    assert "as demo-planned/cem" in broker.log() or "u'cem'" in broker.log()
