"""The report of a simulation: ``summary.json``, CSV time series (aggregated and per home) and ``report.html``.

* ``summary.json``: the scenario, the population, every KPI (:func:`flexcem.sim.kpis.compute_kpis`), the
  grid signals' responses, wall time, workers and bus;
* ``aggregate.csv``: per slot, the price [currency/kWh], carbon intensity [g/kWh] and the district's power
  with and without control [W], split by device kind;
* ``homes/{home_id}.csv``: per slot, the home's power by device kind with control and its site power
  without [W];
* ``report.html``: plots inlined as base64 SVG (no external resource; opens offline).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from flexcem.sim.kpis import compute_kpis
from flexcem.sim.report_html import render_html
from flexcem.sim.runner import SimulationResult
from flexcem.sim.runner_shard import HomeSeries

__all__ = ["HOME_COLUMNS", "write_report"]

HOME_COLUMNS = ("site_w", "base_w", "pv_w", "battery_w", "heat_pump_w", "ev_w", "appliances_w")
"""Per-device series of a home [W] (site: + import, − export)."""


def _sum(homes: list[HomeSeries], column: str, count: int) -> list[float]:
    total = [0.0] * count
    for home in homes:
        for k, w in enumerate(getattr(home, column)):
            total[k] += w
    return total


def summary(result: SimulationResult, kpis: dict[str, Any]) -> dict[str, Any]:
    """What ``summary.json`` holds."""
    scenario = result.scenario
    return {
        "scenario": scenario.model_dump(mode="json"),
        "homes": len(result.homes),
        "population": [{"home_id": h.home_id, "building": h.building, "devices": h.devices} for h in result.homes],
        "slots": len(result.slot_starts),
        "currency": result.currency,
        "kpis": kpis,
        "wall_s": result.wall_s,
        "shard_wall_s": result.shard_wall_s,
        "bus_messages": result.bus_messages,
        "workers": result.workers,
        "bus": result.bus,
        "notes": {h.home_id: h.notes for h in result.controlled + result.baseline if h.notes},
    }


def write_report(result: SimulationResult, out: Path) -> dict[str, Any]:
    """Write every file of the report into ``out``; returns the summary."""
    out.mkdir(parents=True, exist_ok=True)
    kpis = compute_kpis(result)
    data = summary(result, kpis)
    (out / "summary.json").write_text(json.dumps(data, indent=2, default=str), encoding="utf-8")
    count = len(result.slot_starts)
    with (out / "aggregate.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        columns = [f"{c}_control" for c in HOME_COLUMNS] + ["site_w_no_control"]
        writer.writerow(["slot_start", "price_per_kwh", "co2_g_per_kwh", *columns])
        control = [_sum(result.controlled, c, count) for c in HOME_COLUMNS]
        baseline = _sum(result.baseline, "site_w", count)
        for k, start in enumerate(result.slot_starts):
            row = [round(series[k], 3) for series in control]
            writer.writerow(
                [start.isoformat(), result.price_per_kwh[k], result.co2_g_per_kwh[k], *row, round(baseline[k], 3)]
            )
    homes_dir = out / "homes"
    homes_dir.mkdir(exist_ok=True)
    baselines = {home.home_id: home for home in result.baseline}
    for home in result.controlled:
        other = baselines.get(home.home_id)
        with (homes_dir / f"{home.home_id}.csv").open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["slot_start", *HOME_COLUMNS, "site_w_no_control"])
            for k, start in enumerate(result.slot_starts):
                values = [round(getattr(home, c)[k], 3) for c in HOME_COLUMNS]
                writer.writerow([start.isoformat(), *values, round(other.site_w[k], 3) if other else ""])
    (out / "report.html").write_text(render_html(result, kpis), encoding="utf-8")
    return data
