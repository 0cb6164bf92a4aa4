"""Key performance indicators of a simulation, as CityLearn defines them where they overlap.

CityLearn (``citylearn/cost_function.py``, ``CostFunction``; docs ``overview/cost_function.rst``) evaluates a
controller by KPIs of the net electricity consumption ``E`` (import +, export −), each divided by the same KPI
of the run without control. Here a step is a slot of the scenario and ``E`` its mean power [kW] (CityLearn's
hourly kWh, for hourly steps); windows in hours are converted to slots:

* ``cost``: Σ_homes Σ_t max(E_t · price_t, 0) (``CostFunction.cost``: the cost series clipped at 0) [currency];
* ``carbon_emissions``: Σ_homes Σ_t max(E_t · intensity_t, 0) (``CostFunction.carbon_emissions``) [kg];
* ``ramping``: Σ_t max(E_t − E_{t−1}, 0) of the district (``CostFunction.ramping`` with its defaults
  ``down_ramp=False``, ``net_export=True``) [kW];
* ``daily_peak_average``: mean over days of the district's daily peak (``CostFunction.peak``, 24-h window) [kW];
* ``all_time_peak_average``: the district's peak over the whole period (``peak`` with one window) [kW];
* ``monthly_one_minus_load_factor``: mean over 730-h windows of 1 − mean(E)/max(E) of the district
  (``CostFunction.one_minus_load_factor``, default window 730 h).

Beyond CityLearn: ``self_consumption`` (share of the PV energy used on site, 1 − export/generation),
``comfort_violation_degree_hours`` (hot-water tank outside its band [K·h]), messages sent and received, and per
grid signal the response asked, answered by the CEMs, reported by them and **measured** (no control − control,
mean over the window, for the whole population) [W].
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from flexcem.sim.runner import SimulationResult
from flexcem.sim.runner_shard import HomeSeries

__all__ = [
    "all_time_peak",
    "compute_kpis",
    "daily_peak_average",
    "district_kw",
    "one_minus_load_factor",
    "ramping",
]


def district_kw(homes: Sequence[HomeSeries]) -> list[float]:
    """The district's net consumption per slot [kW]."""
    if not homes:
        return []
    return [sum(values) / 1000.0 for values in zip(*(home.site_w for home in homes), strict=True)]


def ramping(series: Sequence[float]) -> float:
    """Σ max(E_t − E_{t−1}, 0)."""
    return sum(max(b - a, 0.0) for a, b in itertools.pairwise(series))


def _windows(series: Sequence[float], size: int) -> list[Sequence[float]]:
    size = max(1, size)
    return [series[k : k + size] for k in range(0, len(series), size)]


def daily_peak_average(series: Sequence[float], slots_per_day: int) -> float:
    """Mean over windows of ``slots_per_day`` of their maximum."""
    windows = _windows(series, slots_per_day)
    return sum(max(window) for window in windows) / len(windows)


def all_time_peak(series: Sequence[float]) -> float:
    """The maximum."""
    return max(series)


def one_minus_load_factor(series: Sequence[float], window_slots: int) -> float:
    """Mean over windows of 1 − mean/max (a window whose maximum is not positive counts 0)."""
    windows = _windows(series, window_slots)
    values = [1.0 - (sum(w) / len(w)) / max(w) if max(w) > 0 else 0.0 for w in windows]
    return sum(values) / len(values)


def _clipped_sum(homes: Sequence[HomeSeries], factors: Sequence[float], hours: float) -> float:
    return sum(max(w / 1000.0 * hours * f, 0.0) for home in homes for w, f in zip(home.site_w, factors, strict=True))


def _self_consumption(homes: Sequence[HomeSeries]) -> float | None:
    generated = sum(-w for home in homes for w in home.pv_w)
    if generated <= 0:
        return None
    exported = sum(max(-w, 0.0) for home in homes for w in home.site_w)
    return max(0.0, 1.0 - exported / generated)


def _run_kpis(result: SimulationResult, homes: Sequence[HomeSeries]) -> dict[str, float | None]:
    period = result.scenario.period
    hours = period.slot.total_seconds() / 3600.0
    district = district_kw(homes)
    per_day = round(24 / hours)
    return {
        "cost": _clipped_sum(homes, result.price_per_kwh, hours),
        "carbon_emissions": _clipped_sum(homes, [c / 1000.0 for c in result.co2_g_per_kwh], hours),
        "ramping": ramping(district),
        "daily_peak_average": daily_peak_average(district, per_day),
        "all_time_peak_average": all_time_peak(district),
        "monthly_one_minus_load_factor": one_minus_load_factor(district, round(730 / hours)),
        "self_consumption": _self_consumption(homes),
        "comfort_violation_degree_hours": sum(home.tank_degree_hours for home in homes),
        "energy_imported_kwh": sum(max(w, 0.0) for home in homes for w in home.site_w) * hours / 1000.0,
        "energy_exported_kwh": sum(max(-w, 0.0) for home in homes for w in home.site_w) * hours / 1000.0,
        "messages_sent": float(sum(home.messages_sent for home in homes)),
        "messages_received": float(sum(home.messages_received for home in homes)),
        "plans": float(sum(home.plans for home in homes)),
    }


NORMALISED = (
    "cost",
    "carbon_emissions",
    "ramping",
    "daily_peak_average",
    "all_time_peak_average",
    "monthly_one_minus_load_factor",
)
"""The CityLearn KPIs, reported divided by the run without control (below 1: control did better)."""


def _signals(result: SimulationResult) -> list[dict[str, Any]]:
    out = []
    for index, event in enumerate(result.scenario.timeline):
        window = event.window()
        outcomes = [s for s in result.signals if s.event == index]
        entry: dict[str, Any] = {"event": index, "kind": event.kind, "at": event.at.isoformat(), "homes": len(outcomes)}
        if window is not None:
            entry["start"], entry["end"] = window[0].isoformat(), window[1].isoformat()
            inside = [k for k, at in enumerate(result.slot_starts) if window[0] <= at < window[1]]
            if inside:
                control, baseline = district_kw(result.controlled), district_kw(result.baseline)
                entry["measured_reduction_w"] = (
                    sum(baseline[k] - control[k] for k in inside) / len(inside) * 1000.0 if baseline else None
                )
                entry["max_export_w"] = max(
                    (max(-home.site_w[k], 0.0) for home in result.controlled for k in inside), default=0.0
                )
        requested = [s.requested_w for s in outcomes if s.requested_w is not None]
        if requested:
            entry["requested_w"] = sum(requested)
        expected = [s.expected_w for s in outcomes if s.expected_w is not None]
        if expected:
            entry["answered_expected_w"] = sum(expected)
        reported = [s.reported_w for s in outcomes if s.reported_w is not None]
        if reported:
            entry["reported_achieved_w"] = sum(reported)
        answers: dict[str, int] = {}
        for s in outcomes:
            key = s.answered or "no answer"
            answers[key] = answers.get(key, 0) + 1
        entry["answers"] = answers
        out.append(entry)
    return out


def compute_kpis(result: SimulationResult) -> dict[str, Any]:
    """Every KPI of both runs, the normalised CityLearn KPIs and the grid signals' responses."""
    control = _run_kpis(result, result.controlled)
    baseline = _run_kpis(result, result.baseline) if result.baseline else {}
    normalised: dict[str, float | None] = {}
    for name in NORMALISED:
        mine, theirs = control.get(name), baseline.get(name)
        normalised[name] = mine / theirs if mine is not None and theirs else None
    return {"control": control, "no_control": baseline, "normalised": normalised, "signals": _signals(result)}
