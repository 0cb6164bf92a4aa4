"""Room comfort: homes with an air conditioner hold a room (1R1C) in a band around their set point; the KPI is
the kelvin-hours outside it, per home and aggregated, in every run; a bad ``[population.air_conditioner]`` is
refused with its line and field."""

from __future__ import annotations

import csv
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from flexcem.data.citylearn import CityLearnData
from flexcem.sim.kpis import compute_kpis, degree_hours, room_degree_hours, room_per_slot
from flexcem.sim.population import data_set_point_c, draw_population
from flexcem.sim.report import write_report
from flexcem.sim.runner import SimulationResult, run_simulation
from flexcem.sim.runner_shard import HomeSeries
from flexcem.sim.scenario import ScenarioError, parse_scenario

ZONE = ZoneInfo("America/Chicago")

HOT_AFTERNOON = """name = "room-tiny"
use_case = "JWG1110 room comfort"
[period]
start = 2021-08-10T13:00:00
days = 0.125

[population]
homes = 2
seed = 3

[population.air_conditioner]
share = 1.0
power_kw = 0.5
"""


def home(home_id: str, room_c: list[float], band: tuple[float, float] | None, slots: int = 4) -> HomeSeries:
    zeros = [0.0] * slots
    return HomeSeries(
        home_id=home_id,
        building="Building_1",
        devices=["ac"] if band else [],
        site_w=list(zeros),
        base_w=list(zeros),
        pv_w=list(zeros),
        battery_w=list(zeros),
        heat_pump_w=list(zeros),
        ev_w=list(zeros),
        appliances_w=list(zeros),
        tank_degree_hours=0.0,
        messages_sent=0,
        messages_received=0,
        plans=0,
        ac_w=list(zeros),
        room_c=room_c,
        room_band_c=band,
    )


def test_room_violation_is_the_kelvin_hours_outside_the_band_of_a_known_history() -> None:
    band = (23.1, 25.1)
    history = [25.5, 24.0, 26.1, 22.0]  # 0.4 K above, inside, 1.0 K above, 1.1 K below; 15 min each
    assert degree_hours(history, band, 0.25) == pytest.approx((0.4 + 1.0 + 1.1) * 0.25)
    assert degree_hours([23.1, 25.1, 24.0], band, 0.25) == 0.0  # the band's edges are comfortable
    hot, cool, none = home("h1", history, band), home("h2", [24.0] * 4, band), home("h3", [], None)
    assert room_degree_hours(hot) == pytest.approx(0.625)
    assert room_degree_hours(cool) == 0.0 and room_degree_hours(none) is None
    start = datetime(2021, 8, 10, 13, tzinfo=ZONE)
    scenario = parse_scenario(HOT_AFTERNOON.replace("days = 0.125", "days = 0.041666666666666664"))
    result = SimulationResult(
        scenario=scenario,
        homes=[],
        controlled=[hot, cool, none],
        baseline=[cool, none],
        signals=[],
        slot_starts=[start + k * timedelta(minutes=15) for k in range(4)],
        price_per_kwh=[0.03] * 4,
        co2_g_per_kwh=[400.0] * 4,
        currency="USD",
        wall_s=0.0,
        shard_wall_s={},
        bus_messages={},
        workers=1,
        bus="memory",
    )
    kpis = compute_kpis(result)
    assert kpis["control"]["room_comfort_violation_degree_hours"] == pytest.approx(0.625)
    assert kpis["control"]["comfort_violation_degree_hours"] == pytest.approx(0.625)  # tanks: none here
    assert kpis["no_control"]["room_comfort_violation_degree_hours"] == 0.0
    per_home = kpis["comfort_per_home"]["control"]
    assert per_home["h1"] == {
        "tank_degree_hours": None,
        "room_degree_hours": pytest.approx(0.625),
        "room_band_c": [23.1, 25.1],
    }
    assert "h3" not in per_home and kpis["control_without_signals"] == {}


def test_room_temperature_per_slot_is_the_mean_of_its_samples_or_the_latest_before_it() -> None:
    series = home("h1", [20.0, 21.0, 22.0, 23.0, 24.0, 25.0, 26.0, 27.0], (20.0, 30.0))
    assert room_per_slot(series, 60, 2) == [21.5, 25.5]
    assert room_per_slot(series, 5, 4) == [20.0, 20.0, 20.0, 21.0]
    assert room_per_slot(home("h2", [], None), 15, 3) == [None, None, None]


def test_an_undersized_air_conditioner_leaves_its_room_above_the_datas_set_point_band(tmp_path: Path) -> None:
    scenario = parse_scenario(HOT_AFTERNOON)
    result = run_simulation(scenario, workers=1)
    data = CityLearnData.embedded()
    set_point = data_set_point_c(data, scenario.period.start, scenario.period.end)
    assert 22.0 < set_point < 26.0
    for homes_of_run in (result.controlled, result.baseline):
        for series in homes_of_run:
            assert "ac" in series.devices and series.room_band_c == (set_point - 1.0, set_point + 1.0)
            assert len(series.room_c) == 12 and series.room_c[0] == pytest.approx(set_point)
            assert max(series.ac_w) > 400.0  # a 0.5 kW unit at full power most of a hot afternoon
    kpis = write_report(result, tmp_path)["kpis"]
    for run, homes in (("control", result.controlled), ("no_control", result.baseline)):
        recomputed = sum(degree_hours(h.room_c, h.room_band_c or (0.0, 0.0), 0.25) for h in homes)
        assert kpis[run]["room_comfort_violation_degree_hours"] == pytest.approx(recomputed)
        assert recomputed > 0.2, run  # 0.5 kW cannot hold a room against ~7 kW of gains at 37 °C outside
        assert set(kpis["comfort_per_home"][run]) == {"h00000", "h00001"}
    with (tmp_path / "homes" / "h00000.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 12 and float(rows[-1]["room_c_no_control"]) > set_point + 1.0
    assert float(rows[-1]["ac_w"]) > 400.0
    assert "room band" in (tmp_path / "report.html").read_text(encoding="utf-8")


def test_an_air_conditioner_draws_separately_and_does_not_change_the_other_devices_draws() -> None:
    base = HOT_AFTERNOON.replace("[population.air_conditioner]\nshare = 1.0\npower_kw = 0.5\n", "")
    pv = "\n[population.pv]\nshare = 0.5\nkw = [3.0, 7.0]\n"
    without = draw_population(parse_scenario(base.replace("homes = 2", "homes = 8") + pv))
    with_ac = draw_population(
        parse_scenario(
            base.replace("homes = 2", "homes = 8") + pv + "\n[population.air_conditioner]\nshare = 0.5\n"
            "set_point_c = [23.0, 25.0]\n"
        )
    )
    assert [h.pv_w for h in without] == [h.pv_w for h in with_ac]
    units = [h.ac for h in with_ac if h.ac is not None]
    assert 0 < len(units) < 8 and all(23.0 <= (u.set_point_c or 0.0) <= 25.0 and u.power_w == 3000.0 for u in units)


@pytest.mark.parametrize(
    ("line", "value", "field", "message"),
    [
        ("power_kw = 0.5", "power_kw = [4.0, 2.0]", "population.air_conditioner.power_kw", "low 4.0 above high 2.0"),
        ("power_kw = 0.5", "power_kw = 0.5\nset_point_c = 35.0", "population.air_conditioner.set_point_c", "outside"),
        ("power_kw = 0.5", 'power_kw = 0.5\nmode = "fan"', "population.air_conditioner.mode", "cool"),
        ("power_kw = 0.5", "power_kw = 0.5\nsetpoint = 24.0", "population.air_conditioner.setpoint", "not permitted"),
        ("share = 1.0", "share = 1.5", "population.air_conditioner.share", "less than or equal to 1"),
    ],
)
def test_a_bad_air_conditioner_field_is_refused_with_its_line_and_field(
    line: str, value: str, field: str, message: str
) -> None:
    text = HOT_AFTERNOON.replace(line, value)
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text, "bad.toml")
    problem_line, problem_field, problem = caught.value.problems[0]
    expected = next(n for n, t in enumerate(text.splitlines(), 1) if t.startswith(value.splitlines()[-1].split(" ")[0]))
    assert (problem_line, problem_field) == (expected, field) and message in problem, caught.value.problems
    assert f"bad.toml:{expected}: {field}" in str(caught.value)
