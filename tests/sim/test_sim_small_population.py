"""A small neighbourhood simulated end to end: KPIs consistent with the CSV time series (recomputed here),
control beats no control on cost for a price-driven scenario, load management reported as requested vs
answered vs achieved, and a report that opens offline."""

from __future__ import annotations

import csv
import itertools
import json
import re
from pathlib import Path
from typing import Any

import pytest

from flexcem.sim.report import write_report
from flexcem.sim.runner import run_simulation
from flexcem.sim.scenario import parse_scenario

TINY = """name = "tiny-price"
use_case = "price-driven planning"

[period]
start = 2021-07-06T12:00:00
days = 1

[population]
homes = 3
seed = 2

[population.pv]
share = 0.7
kw = [3.0, 5.0]

[population.battery]
share = 1.0
kwh = [8.0, 10.0]
kw = [4.0, 5.0]

[population.ev]
share = 0.7

[population.appliances]
washer = 1.0
dishwasher = 1.0

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


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("sim")
    result = run_simulation(parse_scenario(TINY), workers=1)
    return out, write_report(result, out)


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_cost_and_carbon_are_those_of_the_csv_series_recomputed_independently(
    report: tuple[Path, dict[str, Any]],
) -> None:
    out, summary = report
    aggregate = rows(out / "aggregate.csv")
    assert len(aggregate) == 96
    price = [float(r["price_per_kwh"]) for r in aggregate]
    co2 = [float(r["co2_g_per_kwh"]) for r in aggregate]
    cost = {"control": 0.0, "no_control": 0.0}
    carbon = {"control": 0.0, "no_control": 0.0}
    for home in sorted((out / "homes").glob("*.csv")):
        for k, r in enumerate(rows(home)):
            for run, column in (("control", "site_w"), ("no_control", "site_w_no_control")):
                kwh = float(r[column]) / 1000.0 * 0.25
                cost[run] += max(kwh * price[k], 0.0)
                carbon[run] += max(kwh * co2[k] / 1000.0, 0.0)
    kpis = summary["kpis"]
    for run in ("control", "no_control"):
        assert kpis[run]["cost"] == pytest.approx(cost[run], rel=1e-4, abs=1e-4)
        assert kpis[run]["carbon_emissions"] == pytest.approx(carbon[run], rel=1e-4, abs=1e-3)
    assert kpis["normalised"]["cost"] == pytest.approx(cost["control"] / cost["no_control"], rel=1e-3)


def test_peaks_ramping_and_load_factor_follow_citylearns_definitions_on_the_aggregate(
    report: tuple[Path, dict[str, Any]],
) -> None:
    out, summary = report
    district = [float(r["site_w_control"]) / 1000.0 for r in rows(out / "aggregate.csv")]
    kpis = summary["kpis"]["control"]
    ramps = sum(max(b - a, 0.0) for a, b in itertools.pairwise(district))
    assert kpis["ramping"] == pytest.approx(ramps, abs=1e-3)
    assert kpis["all_time_peak_average"] == pytest.approx(max(district), abs=1e-3)
    assert kpis["daily_peak_average"] == pytest.approx(max(district), abs=1e-3)  # one day: one window
    load_factor = 1.0 - (sum(district) / len(district)) / max(district)
    assert kpis["monthly_one_minus_load_factor"] == pytest.approx(load_factor, abs=1e-4)


def test_the_cems_plans_cost_less_than_no_control_on_the_real_tariff(report: tuple[Path, dict[str, Any]]) -> None:
    _, summary = report
    kpis = summary["kpis"]
    assert kpis["control"]["plans"] >= 3  # at least one plan per home
    assert kpis["normalised"]["cost"] < 0.95, kpis["normalised"]
    assert kpis["control"]["messages_sent"] > 0 and kpis["control"]["messages_received"] > 0


def test_load_management_is_reported_as_requested_answered_and_measured(report: tuple[Path, dict[str, Any]]) -> None:
    _, summary = report
    signals = {s["kind"]: s for s in summary["kpis"]["signals"]}
    event = signals["load_management"]
    assert event["homes"] == 3
    assert event["requested_w"] == pytest.approx(1500.0)
    assert sum(event["answers"].values()) == 3 and "no answer" not in event["answers"]
    assert "measured_reduction_w" in event and "start" in event


def test_the_report_has_every_file_and_the_html_needs_no_network(report: tuple[Path, dict[str, Any]]) -> None:
    out, _ = report
    for name in ("summary.json", "aggregate.csv", "report.html"):
        assert (out / name).stat().st_size > 0
    assert len(list((out / "homes").glob("*.csv"))) == 3
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "http://" not in page and "https://" not in page
    links = re.findall(r"""(?:src|href)\s*=\s*["']([^"']*)""", page)
    assert links and all(link.startswith("data:") for link in links), links
    assert "data:image/png;base64," in page and "<table>" in page
    json.loads((out / "summary.json").read_text(encoding="utf-8"))
