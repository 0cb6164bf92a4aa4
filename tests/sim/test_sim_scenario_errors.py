"""Scenario files: every example in scenarios/ is accepted; a bad one is refused naming FILE:LINE and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from flexcem.sim.population import draw_population
from flexcem.sim.scenario import ScenarioError, load_scenario, parse_scenario

SCENARIOS = sorted((Path(__file__).parents[2] / "scenarios").glob("*.toml"))
GOOD = """name = "tiny"
[period]
start = 2021-07-06T12:00:00
days = 1

[population]
homes = 3
seed = 4

[population.battery]
share = 0.5
kwh = [5.0, 10.0]

[[timeline]]
kind = "tariff_correction"
at = 2021-07-06T17:00:00
start = 2021-07-06T19:00:00
end = 2021-07-06T21:00:00
factor = 3.0

[[timeline]]
kind = "load_management"
at = 2021-07-06T18:00:00
start = 2021-07-06T20:00:00
end = 2021-07-06T22:00:00
amount_w = 500
"""


def refused(text: str) -> ScenarioError:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text, "bad.toml")
    return caught.value


def test_every_example_scenario_is_accepted_and_names_its_use_case() -> None:
    assert len(SCENARIOS) >= 8
    for path in SCENARIOS:
        scenario = load_scenario(path)
        assert scenario.use_case, path
        assert len(draw_population(scenario)) == scenario.population.homes


def test_a_good_scenario_reads_local_times_in_the_sites_zone_and_draws_the_same_homes_every_time() -> None:
    scenario = parse_scenario(GOOD)
    assert scenario.period.start.utcoffset() is not None and scenario.period.start.hour == 12
    assert scenario.period.slot_count == 96
    assert draw_population(scenario) == draw_population(scenario)
    assert [e.kind for e in scenario.timeline] == ["tariff_correction", "load_management"]


def test_an_unknown_key_is_refused_with_its_line_and_field() -> None:
    error = refused(GOOD.replace("seed = 4", "seed = 4\nhouses = 9"))
    assert error.problems[0][:2] == (9, "population.houses")
    assert "bad.toml:9: population.houses" in str(error)


def test_a_value_out_of_range_is_refused_with_its_line_and_field() -> None:
    error = refused(GOOD.replace("kwh = [5.0, 10.0]", "kwh = [10.0, 5.0]"))
    assert error.problems[0][:2] == (12, "population.battery.kwh")


def test_a_bad_timeline_entry_names_the_entry_and_its_field() -> None:
    error = refused(GOOD.replace("amount_w = 500", "amount_w = -5"))
    line, field, message = error.problems[0]
    assert line == 26 and field.startswith("timeline.1") and field.endswith("amount_w"), error.problems
    assert "greater than 0" in message


def test_a_missing_table_is_reported_and_a_syntax_error_has_its_line() -> None:
    error = refused(GOOD.replace("homes = 3", ""))
    assert ("population.homes" in error.problems[0][1]) and error.problems[0][0] == 6
    syntax = refused(GOOD.replace("days = 1", "days = = 1"))
    assert syntax.problems[0][0] == 4


def test_a_signal_outside_the_period_is_refused() -> None:
    error = refused(GOOD.replace("at = 2021-07-06T17:00:00", "at = 2021-07-09T17:00:00"))
    assert "outside the period" in str(error) or "before at" in str(error)


def test_a_start_off_the_slot_grid_is_refused_at_the_period_table() -> None:
    error = refused(GOOD.replace("start = 2021-07-06T12:00:00", "start = 2021-07-06T12:07:00"))
    assert error.problems[0][:2] == (2, "period") and "15-minute boundary" in error.problems[0][2]
