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

Beyond CityLearn: ``self_consumption`` (share of the PV energy used on site, 1 − export/generation), comfort
violations — ``tank_comfort_violation_degree_hours`` (hot-water tanks outside their band),
``room_comfort_violation_degree_hours`` (rooms with an air conditioner outside its band, :func:`degree_hours`)
and their sum ``comfort_violation_degree_hours`` [K·h], also per home (:func:`home_comfort`) — messages sent and
received, and per grid signal the response asked, answered by the CEMs, reported by them and **measured** (no
control − control, mean over the window, for the whole population) [W]; with the run under control without the
grid signals, each signal's own effect (with − without the signals, mean over its window) against the change it
asked for (:func:`requested_change_w`) [W]; where signals' windows overlap, the signals sharing each window and
the effect on the part of the window no other signal covers (``signal_effect_alone_w``).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from flexcem.model import AdjustmentAction
from flexcem.sim.runner import SimulationResult
from flexcem.sim.runner_shard import HomeSeries
from flexcem.sim.scenario_signals import EnergySavingEvent, ExportReductionEvent, LoadManagementEvent, SignalEvent

__all__ = [
    "all_time_peak",
    "compute_kpis",
    "daily_peak_average",
    "degree_hours",
    "district_kw",
    "home_comfort",
    "one_minus_load_factor",
    "own_effect",
    "ramping",
    "requested_change_w",
    "room_degree_hours",
    "room_per_slot",
    "signal_windows",
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


def degree_hours(samples: Sequence[float], band: tuple[float, float], step_h: float) -> float:
    """Σ_k max(low − T_k, T_k − high, 0) · step_h: temperature samples ``T_k`` [°C] taken every ``step_h`` hours
    outside the band ``(low, high)`` [K·h] (each sample stands for the step that follows it)."""
    low, high = band
    return sum(max(low - t, t - high, 0.0) for t in samples) * step_h


def room_degree_hours(home: HomeSeries) -> float | None:
    """The home's room outside its air conditioner's comfort band [K·h]; ``None`` without an air conditioner."""
    if home.room_band_c is None:
        return None
    return degree_hours(home.room_c, home.room_band_c, home.room_step_minutes / 60.0)


def room_per_slot(home: HomeSeries, slot_minutes: float, count: int) -> list[float | None]:
    """The home's room temperature per slot: the mean of its samples in the slot, or the latest sample before
    it when none falls inside (slots shorter than the log's step) [°C]; ``None`` without an air conditioner."""
    samples, step = home.room_c, home.room_step_minutes
    if not samples:
        return [None] * count
    out: list[float | None] = []
    for k in range(count):
        first = -int(-(k * slot_minutes) // step)
        inside = samples[first : -int(-((k + 1) * slot_minutes) // step)]
        if inside:
            out.append(sum(inside) / len(inside))
        else:
            out.append(samples[min(int(k * slot_minutes // step), len(samples) - 1)])
    return out


def home_comfort(homes: Sequence[HomeSeries]) -> dict[str, dict[str, Any]]:
    """Per home with a heat pump or an air conditioner: tank and room violations [K·h] (``None``: no such device)
    and the room's comfort band [°C]."""
    return {
        home.home_id: {
            "tank_degree_hours": home.tank_degree_hours if "heatpump" in home.devices else None,
            "room_degree_hours": room_degree_hours(home),
            "room_band_c": list(home.room_band_c) if home.room_band_c is not None else None,
        }
        for home in homes
        if "heatpump" in home.devices or home.room_band_c is not None
    }


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
    tank = sum(home.tank_degree_hours for home in homes)
    room = sum(room_degree_hours(home) or 0.0 for home in homes)
    return {
        "cost": _clipped_sum(homes, result.price_per_kwh, hours),
        "carbon_emissions": _clipped_sum(homes, [c / 1000.0 for c in result.co2_g_per_kwh], hours),
        "ramping": ramping(district),
        "daily_peak_average": daily_peak_average(district, per_day),
        "all_time_peak_average": all_time_peak(district),
        "monthly_one_minus_load_factor": one_minus_load_factor(district, round(730 / hours)),
        "self_consumption": _self_consumption(homes),
        "comfort_violation_degree_hours": tank + room,
        "tank_comfort_violation_degree_hours": tank,
        "room_comfort_violation_degree_hours": room if any(home.room_band_c is not None for home in homes) else None,
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


def requested_change_w(event: SignalEvent, homes: Sequence[HomeSeries], inside: Sequence[int]) -> float | None:
    """The change of the district's load a signal asks for, mean over the slots ``inside`` its window [W]
    (+ more load, − less), judged on ``homes`` (the run without the signal); ``None``: it asks for no amount.

    * load management: ``reduce`` −Σ amount, ``increase`` +Σ amount, ``limit`` −(load above the limit, per home);
    * energy saving: −target % of the homes' import;
    * export reduction: +(export above the limit, per home).
    """
    if not inside or not homes:
        return None
    slots = len(inside)
    if isinstance(event, LoadManagementEvent):
        if event.action is AdjustmentAction.REDUCE:
            return -event.amount_w * len(homes)
        if event.action is AdjustmentAction.INCREASE:
            return event.amount_w * len(homes)
        return -sum(max(home.site_w[k] - event.amount_w, 0.0) for home in homes for k in inside) / slots
    if isinstance(event, EnergySavingEvent):
        imported = sum(max(home.site_w[k], 0.0) for home in homes for k in inside) / slots
        return -event.target_percent / 100.0 * imported
    if isinstance(event, ExportReductionEvent):
        return sum(max(-home.site_w[k] - event.limit_w, 0.0) for home in homes for k in inside) / slots
    return None


def _mean_w(district: Sequence[float], inside: Sequence[int]) -> float:
    return sum(district[k] for k in inside) / len(inside) * 1000.0


def signal_windows(result: SimulationResult) -> dict[int, list[int]]:
    """The slots of each timeline signal's window that the run without the signals leaves out (tariff corrections
    are sent in both runs), by event index."""
    out = {}
    for index, event in enumerate(result.scenario.timeline):
        window = event.window()
        if window is not None and event.kind != "tariff_correction":
            out[index] = [k for k, at in enumerate(result.slot_starts) if window[0] <= at < window[1]]
    return out


def own_effect(
    index: int, windows: dict[int, list[int]], control: Sequence[float], without: Sequence[float]
) -> dict[str, Any]:
    """Which other signals' windows overlap signal ``index``'s, and its effect where none does [W].

    ``windows``: slot indices per signal (:func:`signal_windows`); ``control``, ``without``: the district's load
    per slot [kW] under control with and without the signals.

    Where windows overlap, with − without is the effect of all of them together; on the slots of the window that
    no other signal covers it is this signal's alone (None when there are none).
    """
    inside = set(windows[index])
    shared = sorted(other for other, slots in windows.items() if other != index and inside & set(slots))
    covered = set().union(*(windows[other] for other in shared)) if shared else set()
    alone = sorted(inside - covered)
    return {
        "shares_window_with": shared,
        "signal_effect_alone_w": _mean_w(control, alone) - _mean_w(without, alone) if alone else None,
        "slots_alone": len(alone),
    }


def _signals(result: SimulationResult) -> list[dict[str, Any]]:
    out = []
    control, baseline = district_kw(result.controlled), district_kw(result.baseline)
    without = district_kw(result.without_signals)
    windows = signal_windows(result)
    for index, event in enumerate(result.scenario.timeline):
        window = event.window()
        outcomes = [s for s in result.signals if s.event == index]
        entry: dict[str, Any] = {"event": index, "kind": event.kind, "at": event.at.isoformat(), "homes": len(outcomes)}
        if window is not None:
            entry["start"], entry["end"] = window[0].isoformat(), window[1].isoformat()
            inside = [k for k, at in enumerate(result.slot_starts) if window[0] <= at < window[1]]
            if inside:
                entry["measured_reduction_w"] = (
                    sum(baseline[k] - control[k] for k in inside) / len(inside) * 1000.0 if baseline else None
                )
                entry["max_export_w"] = max(
                    (max(-home.site_w[k], 0.0) for home in result.controlled for k in inside), default=0.0
                )
                if without and event.kind != "tariff_correction":
                    effect = _mean_w(control, inside) - _mean_w(without, inside)
                    asked = requested_change_w(event, result.without_signals, inside)
                    entry["signal_effect_w"] = effect
                    entry["requested_change_w"] = asked
                    entry["signal_effect_share"] = effect / asked if asked else None
                    entry.update(own_effect(index, windows, control, without))
                    entry["window_mean_w"] = {
                        "control": _mean_w(control, inside),
                        "control_without_signals": _mean_w(without, inside),
                        "no_control": _mean_w(baseline, inside) if baseline else None,
                    }
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
    """Every KPI of the runs, the normalised CityLearn KPIs, comfort per home and the grid signals' responses.

    ``control_without_signals`` (the KPIs of the run under control without the grid signals) and its per-home
    comfort are ``{}`` when that run was not made.
    """
    control = _run_kpis(result, result.controlled)
    baseline = _run_kpis(result, result.baseline) if result.baseline else {}
    without = _run_kpis(result, result.without_signals) if result.without_signals else {}
    normalised: dict[str, float | None] = {}
    for name in NORMALISED:
        mine, theirs = control.get(name), baseline.get(name)
        normalised[name] = mine / theirs if mine is not None and theirs else None
    return {
        "control": control,
        "no_control": baseline,
        "control_without_signals": without,
        "normalised": normalised,
        "comfort_per_home": {
            "control": home_comfort(result.controlled),
            "no_control": home_comfort(result.baseline),
            "control_without_signals": home_comfort(result.without_signals),
        },
        "signals": _signals(result),
    }
