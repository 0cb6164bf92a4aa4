"""Each grid signal's own effect: a scenario with grid signals is also run under control without them (the
tariff still applies), and the summary gives per signal the change it asked for against the change it caused
(with − without the signals, mean over its window); the run can be left out."""

from __future__ import annotations

import csv
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from flexcem.model import AdjustmentAction
from flexcem.sim.kpis import own_effect, requested_change_w
from flexcem.sim.report import write_report
from flexcem.sim.runner import run_simulation
from flexcem.sim.runner_shard import HomeSeries
from flexcem.sim.scenario import parse_scenario
from flexcem.sim.scenario_signals import EnergySavingEvent, ExportReductionEvent, LoadManagementEvent

ZONE = ZoneInfo("America/Chicago")

# Batteries at a flat (off-peak) price have no reason to discharge at noon: only the request makes them.
REDUCE_AT_NOON = """name = "signal-effect-tiny"
use_case = "JWG2121 load management: the request's own effect"
[period]
start = 2021-08-10T10:00:00
days = 0.16666666666666666

[population]
homes = 2
seed = 3

[population.battery]
share = 1.0
kwh = 10.0
kw = 5.0
soc = 0.8

[[timeline]]
kind = "load_management"
at = 2021-08-10T10:30:00
start = 2021-08-10T12:00:00
end = 2021-08-10T13:00:00
action = "reduce"
amount_w = 1000
"""


@pytest.fixture(scope="module")
def three_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("effect")
    result = run_simulation(parse_scenario(REDUCE_AT_NOON), workers=1)
    assert len(result.without_signals) == 2
    return out, write_report(result, out)


def test_a_load_reduction_request_lowers_the_load_against_control_without_it(
    three_runs: tuple[Path, dict[str, Any]],
) -> None:
    _, summary = three_runs
    assert summary["runs"] == ["control", "no_control", "control_without_signals"]
    (signal,) = summary["kpis"]["signals"]
    assert signal["requested_change_w"] == pytest.approx(-2000.0)  # reduce: −1 kW per home
    means = signal["window_mean_w"]
    assert signal["signal_effect_w"] == pytest.approx(means["control"] - means["control_without_signals"])
    assert signal["signal_effect_w"] < -500.0, signal  # the batteries discharge for the request only
    assert signal["signal_effect_share"] == pytest.approx(signal["signal_effect_w"] / -2000.0)
    assert summary["kpis"]["control_without_signals"]["plans"] > 0
    assert signal["shares_window_with"] == [] and signal["slots_alone"] == 4  # alone: all of it is its own
    assert signal["signal_effect_alone_w"] == pytest.approx(signal["signal_effect_w"])


def test_the_three_runs_are_in_the_csv_and_the_reports_plot(three_runs: tuple[Path, dict[str, Any]]) -> None:
    out, summary = three_runs
    with (out / "aggregate.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    noon = [r for r in rows if "T12:" in r["slot_start"]]
    assert len(noon) == 4
    effect = sum(float(r["site_w_control"]) - float(r["site_w_control_without_signals"]) for r in noon) / 4
    assert effect == pytest.approx(summary["kpis"]["signals"][0]["signal_effect_w"], abs=0.05)
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "own effect" in page and "requested change" in page and "effect where alone" in page
    with (out / "homes" / "h00000.csv").open(encoding="utf-8") as handle:
        assert "site_w_control_without_signals" in next(csv.reader(handle))


def test_the_run_without_the_signals_can_be_left_out_and_is_not_made_for_tariffs_alone() -> None:
    short = REDUCE_AT_NOON.replace("homes = 2", "homes = 1").replace("days = 0.16666666666666666", "days = 0.125")
    off = parse_scenario(short.replace('use_case = "', 'signal_effect = false\nuse_case = "'))
    assert off.signal_effect is False and off.has_grid_signals
    result = run_simulation(off, workers=1, baseline=False)
    assert result.without_signals == [] and "control_without_signals" not in result.shard_wall_s
    tariff_only = parse_scenario(
        short.split("[[timeline]]")[0] + '[[timeline]]\nkind = "tariff_correction"\nat = 2021-08-10T10:30:00\n'
        "start = 2021-08-10T11:00:00\nend = 2021-08-10T12:00:00\nfactor = 3.0\n"
    )
    assert not tariff_only.has_grid_signals
    forced = run_simulation(parse_scenario(short), workers=1, baseline=False, signal_effect=False)
    assert forced.without_signals == []


def _home(site_w: list[float]) -> HomeSeries:
    zeros = [0.0] * len(site_w)
    return HomeSeries(
        home_id="h",
        building="Building_1",
        devices=[],
        site_w=site_w,
        base_w=zeros,
        pv_w=zeros,
        battery_w=zeros,
        heat_pump_w=zeros,
        ev_w=zeros,
        appliances_w=zeros,
        tank_degree_hours=0.0,
        messages_sent=0,
        messages_received=0,
        plans=0,
    )


def test_the_requested_change_follows_each_signals_meaning() -> None:
    at = datetime(2021, 8, 10, 10, tzinfo=ZONE)
    window = {"at": at, "start": at, "end": at + timedelta(hours=1)}
    homes = [_home([3000.0, 1000.0]), _home([-4000.0, 500.0])]
    inside = [0, 1]
    reduce = LoadManagementEvent(kind="load_management", amount_w=800, **window)
    increase = reduce.model_copy(update={"action": AdjustmentAction.INCREASE})
    limit = reduce.model_copy(update={"action": AdjustmentAction.LIMIT, "amount_w": 2000.0})
    assert requested_change_w(reduce, homes, inside) == -1600.0
    assert requested_change_w(increase, homes, inside) == 1600.0
    assert requested_change_w(limit, homes, inside) == pytest.approx(-1000.0 / 2)  # 1 kW above, in one slot of two
    saving = EnergySavingEvent(kind="energy_saving", target_percent=10.0, **window)
    assert requested_change_w(saving, homes, inside) == pytest.approx(-0.1 * (3000 + 1000 + 500) / 2)
    export = ExportReductionEvent(kind="export_reduction", limit_w=1000.0, **window)
    assert requested_change_w(export, homes, inside) == pytest.approx(3000.0 / 2)
    assert requested_change_w(reduce, homes, []) is None


def test_overlapping_windows_name_each_other_and_keep_the_effect_where_each_is_alone() -> None:
    """A traffic light over slots 0–5 and a load-management request over 4–7: the effect where both apply
    is theirs together; each gets its own effect on the slots only it covers [W]."""
    windows = {0: [0, 1, 2, 3, 4, 5], 1: [4, 5, 6, 7], 3: [10]}
    without = [5.0] * 12  # kW
    control = [5.0, 5.0, 4.5, 4.5, 2.0, 2.0, 3.0, 3.0, 5.0, 5.0, 6.0, 5.0]
    light = own_effect(0, windows, control, without)
    assert light["shares_window_with"] == [1] and light["slots_alone"] == 4
    assert light["signal_effect_alone_w"] == pytest.approx(-250.0)  # mean of 0, 0, −0.5, −0.5 kW
    request = own_effect(1, windows, control, without)
    assert request["shares_window_with"] == [0] and request["slots_alone"] == 2
    assert request["signal_effect_alone_w"] == pytest.approx(-2000.0)
    assert own_effect(3, windows, control, without) == {
        "shares_window_with": [],
        "signal_effect_alone_w": pytest.approx(1000.0),
        "slots_alone": 1,
    }
    inside = own_effect(1, {0: [0, 1, 2, 3], 1: [1, 2]}, control, without)
    assert inside["signal_effect_alone_w"] is None and inside["slots_alone"] == 0  # wholly inside another's
