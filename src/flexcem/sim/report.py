"""The report of a simulation: ``summary.json``, CSV time series (aggregated and per home) and ``report.html``.

* ``summary.json``: the scenario, the population, every KPI (:func:`flexcem.sim.kpis.compute_kpis`) with
  comfort per home, the grid signals' responses and effects, wall time, workers and bus;
* ``aggregate.csv``: per slot, the price [currency/kWh], carbon intensity [g/kWh], the district's power
  with control [W], split by device kind, and its site power without control and under control without the
  grid signals [W]; the mean room temperature of the homes with an air conditioner in each run [°C];
* ``homes/{home_id}.csv``: per slot, the home's power by device kind with control and its site power
  in the other runs [W]; its room temperature in each run [°C];
* ``report.html``: plots inlined as base64 SVG (no external resource; opens offline).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from flexcem.sim.kpis import compute_kpis, room_per_slot
from flexcem.sim.report_html import render_html
from flexcem.sim.runner import SimulationResult
from flexcem.sim.runner_shard import HomeSeries

__all__ = ["HOME_COLUMNS", "write_report"]

HOME_COLUMNS = ("site_w", "base_w", "pv_w", "battery_w", "heat_pump_w", "ev_w", "appliances_w", "ac_w")
"""Per-device series of a home [W] (site: + import, − export)."""

RUNS = ("control", "no_control", "control_without_signals")
"""The runs, as named in the report's columns and keys."""


def _sum(homes: list[HomeSeries], column: str, count: int) -> list[float]:
    total = [0.0] * count
    for home in homes:
        for k, w in enumerate(getattr(home, column)):
            total[k] += w
    return total


def _runs(result: SimulationResult) -> dict[str, list[HomeSeries]]:
    return {
        "control": result.controlled,
        "no_control": result.baseline,
        "control_without_signals": result.without_signals,
    }


def _room(homes: list[HomeSeries], minutes: float, count: int) -> list[float | None]:
    """Mean room temperature of the homes with an air conditioner, per slot [°C]."""
    series = [room_per_slot(home, minutes, count) for home in homes if home.room_c]
    out: list[float | None] = []
    for k in range(count):
        values = [s[k] for s in series if s[k] is not None]
        out.append(sum(v for v in values if v is not None) / len(values) if values else None)
    return out


def _cell(value: float | None, digits: int = 3) -> float | str:
    return "" if value is None else round(value, digits)


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
        "shard_cpu_s": result.shard_cpu_s,
        "planning_cpu_s": {
            name: sum(home.planning_cpu_s for home in homes) for name, homes in _runs(result).items() if homes
        },
        "bus_messages": result.bus_messages,
        "workers": result.workers,
        "bus": result.bus,
        "runs": [name for name, homes in _runs(result).items() if homes],
        "notes": {h.home_id: h.notes for h in result.controlled + result.baseline + result.without_signals if h.notes},
    }


def write_report(result: SimulationResult, out: Path) -> dict[str, Any]:
    """Write every file of the report into ``out``; returns the summary."""
    out.mkdir(parents=True, exist_ok=True)
    kpis = compute_kpis(result)
    data = summary(result, kpis)
    (out / "summary.json").write_text(json.dumps(data, indent=2, default=str), encoding="utf-8")
    count = len(result.slot_starts)
    minutes = result.scenario.period.slot_minutes
    runs = _runs(result)
    others = ("no_control", "control_without_signals")
    with (out / "aggregate.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        columns = [f"{c}_control" for c in HOME_COLUMNS] + [f"site_w_{run}" for run in others]
        rooms = [f"room_c_{run}" for run in RUNS]
        writer.writerow(["slot_start", "price_per_kwh", "co2_g_per_kwh", *columns, *rooms])
        control = [_sum(result.controlled, c, count) for c in HOME_COLUMNS]
        sites = [_sum(runs[run], "site_w", count) if runs[run] else None for run in others]
        room = [_room(runs[run], minutes, count) for run in RUNS]
        for k, start in enumerate(result.slot_starts):
            row = [round(series[k], 3) for series in control] + [_cell(s[k] if s else None) for s in sites]
            writer.writerow(
                [start.isoformat(), result.price_per_kwh[k], result.co2_g_per_kwh[k], *row]
                + [_cell(r[k]) for r in room]
            )
    homes_dir = out / "homes"
    homes_dir.mkdir(exist_ok=True)
    by_id = {run: {home.home_id: home for home in runs[run]} for run in others}
    for home in result.controlled:
        other = [by_id[run].get(home.home_id) for run in others]
        room_series = [room_per_slot(h, minutes, count) if h is not None else None for h in (home, *other)]
        with (homes_dir / f"{home.home_id}.csv").open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(
                ["slot_start", *HOME_COLUMNS, *(f"site_w_{run}" for run in others), *(f"room_c_{run}" for run in RUNS)]
            )
            for k, start in enumerate(result.slot_starts):
                values = [round(getattr(home, c)[k], 3) for c in HOME_COLUMNS]
                sites_k = [_cell(h.site_w[k] if h is not None else None) for h in other]
                rooms_k = [_cell(r[k] if r is not None else None) for r in room_series]
                writer.writerow([start.isoformat(), *values, *sites_k, *rooms_k])
    (out / "report.html").write_text(render_html(result, kpis), encoding="utf-8")
    return data
