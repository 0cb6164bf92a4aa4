"""``report.html``: the district's load with control, without control and under control without the grid
signals, prices and carbon intensity, the grid signals' windows, the rooms' mean temperature against their
comfort band, the KPI table, the signals' responses and own effects, and comfort per home — one self-contained
file (plots as base64 PNG)."""

from __future__ import annotations

import base64
import html
import io
from typing import Any

from flexcem.sim.kpis import NORMALISED, district_kw, room_per_slot
from flexcem.sim.runner import SimulationResult

__all__ = ["render_html"]

_COLOURS = {
    "tariff_correction": "#f4a261",
    "traffic_light": "#e9c46a",
    "load_management": "#2a9d8f",
    "emergency": "#e63946",
    "energy_saving": "#8ab17d",
    "export_reduction": "#457b9d",
}


def _plots(result: SimulationResult) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    zone = result.scenario.period.start.tzinfo
    times = result.slot_starts
    rooms = [home for home in result.controlled if home.room_c]
    if rooms:
        figure, (load_axis, price_axis, room_axis) = plt.subplots(
            3, 1, figsize=(11, 9.5), sharex=True, height_ratios=(2, 1, 1)
        )
    else:
        figure, (load_axis, price_axis) = plt.subplots(2, 1, figsize=(11, 7), sharex=True, height_ratios=(2, 1))
    load_axis.step(times, district_kw(result.controlled), where="post", label="with control", color="#1d3557")
    if result.without_signals:
        load_axis.step(
            times,
            district_kw(result.without_signals),
            where="post",
            label="control without the grid signals",
            color="#2a9d8f",
            linestyle="--",
        )
    if result.baseline:
        load_axis.step(
            times, district_kw(result.baseline), where="post", label="no control", color="#e76f51", alpha=0.8
        )
    for event in result.scenario.timeline:
        window = event.window()
        colour = _COLOURS.get(event.kind, "#999999")
        if window is not None:
            load_axis.axvspan(window[0], window[1], color=colour, alpha=0.15, label=event.kind.replace("_", " "))
        load_axis.axvline(event.at, color=colour, linestyle=":", linewidth=1)
    load_axis.set_ylabel("district net load [kW]")
    handles, labels = load_axis.get_legend_handles_labels()
    unique = dict(zip(labels, handles, strict=True))
    load_axis.legend(unique.values(), unique.keys(), loc="upper left", fontsize=8)
    load_axis.grid(alpha=0.3)
    price_axis.step(times, result.price_per_kwh, where="post", color="#264653")
    price_axis.set_ylabel(f"price [{result.currency}/kWh]")
    co2_axis = price_axis.twinx()
    co2_axis.plot(times, result.co2_g_per_kwh, color="#6a994e", alpha=0.7)
    co2_axis.set_ylabel("carbon intensity [g/kWh]", color="#6a994e")
    price_axis.grid(alpha=0.3)
    bottom = price_axis
    if rooms:
        _room_plot(room_axis, result)
        bottom = room_axis
    bottom.xaxis.set_major_formatter(mdates.DateFormatter("%d %H:%M", tz=zone))  # type: ignore[no-untyped-call]
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90)
    plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _room_plot(axis: Any, result: SimulationResult) -> None:
    """Mean room temperature of the homes with an air conditioner in each run, and their mean comfort band."""
    times, count = result.slot_starts, len(result.slot_starts)
    minutes = result.scenario.period.slot_minutes
    runs = (
        ("with control", result.controlled, "#1d3557", "-"),
        ("control without the grid signals", result.without_signals, "#2a9d8f", "--"),
        ("no control", result.baseline, "#e76f51", "-"),
    )
    for label, homes, colour, style in runs:
        series = [room_per_slot(home, minutes, count) for home in homes if home.room_c]
        if not series:
            continue
        mean = [sum(s[k] or 0.0 for s in series) / len(series) for k in range(count)]
        axis.step(times, mean, where="post", label=label, color=colour, linestyle=style, alpha=0.9)
    bands = [home.room_band_c for home in result.controlled if home.room_band_c is not None]
    low = sum(band[0] for band in bands) / len(bands)
    high = sum(band[1] for band in bands) / len(bands)
    axis.axhspan(low, high, color="#8ab17d", alpha=0.15, label="comfort band (mean)")
    axis.set_ylabel("room [°C], mean of homes with AC")
    axis.legend(loc="upper left", fontsize=8)
    axis.grid(alpha=0.3)


def _number(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.0f}"
    return html.escape(str(value))


def _kpi_table(kpis: dict[str, Any]) -> str:
    without = kpis.get("control_without_signals") or {}
    rows = []
    for name, value in kpis["control"].items():
        normalised = kpis["normalised"].get(name) if name in NORMALISED else None
        third = f"<td>{_number(without.get(name))}</td>" if without else ""
        rows.append(
            f"<tr><td>{html.escape(name)}</td><td>{_number(value)}</td>{third}"
            f"<td>{_number(kpis['no_control'].get(name))}</td><td>{_number(normalised)}</td></tr>"
        )
    head = "<th>control without the grid signals</th>" if without else ""
    return (
        f"<table><tr><th>KPI</th><th>with control</th>{head}<th>no control</th><th>normalised</th></tr>"
        + "".join(rows)
        + "</table>"
    )


def _effect_table(kpis: dict[str, Any]) -> str:
    signals = [signal for signal in kpis["signals"] if "signal_effect_w" in signal]
    if not signals:
        return (
            "<p>The run under control without the grid signals was not made (no grid signal in the timeline, or "
            "<code>signal_effect = false</code> / <code>--no-signal-effect</code>).</p>"
        )
    rows = []
    for signal in signals:
        means = signal["window_mean_w"]
        rows.append(
            f"<tr><td>{signal['event']}</td><td>{html.escape(signal['kind'])}</td>"
            f"<td>{html.escape(signal['start'])} – {html.escape(signal['end'])}</td>"
            f"<td>{_number(signal['requested_change_w'])}</td><td>{_number(signal['signal_effect_w'])}</td>"
            f"<td>{_number(signal['signal_effect_share'])}</td><td>{_number(means['control'])}</td>"
            f"<td>{_number(means['control_without_signals'])}</td><td>{_number(means['no_control'])}</td>"
            f"<td>{html.escape(', '.join(f'#{other}' for other in signal.get('shares_window_with', [])) or '—')}</td>"
            f"<td>{_number(signal.get('signal_effect_alone_w'))}</td></tr>"
        )
    return (
        "<table><tr><th>#</th><th>signal</th><th>window</th><th>requested change [W]</th>"
        "<th>signal's effect [W]</th><th>effect / requested</th><th>with control [W]</th>"
        "<th>without the signals [W]</th><th>no control [W]</th><th>window shared with</th>"
        "<th>effect where alone [W]</th></tr>" + "".join(rows) + "</table>"
        "<p>Where windows overlap, the signal's effect is that of all the signals sharing the window; the last "
        "column is the effect on the part of its window no other signal covers (— when there is none).</p>"
    )


_COMFORT_ROWS = 50
"""Homes listed in the comfort table (the worst first)."""


def _comfort_table(kpis: dict[str, Any]) -> str:
    per_home = kpis.get("comfort_per_home", {})
    control = per_home.get("control", {})
    if not control:
        return "<p>No home has a heat pump or an air conditioner.</p>"

    def worst(item: tuple[str, dict[str, Any]]) -> float:
        return -((item[1]["room_degree_hours"] or 0.0) + (item[1]["tank_degree_hours"] or 0.0))

    runs = [run for run in ("control", "control_without_signals", "no_control") if per_home.get(run)]
    head = "".join(f"<th>room, {run.replace('_', ' ')}</th><th>tank, {run.replace('_', ' ')}</th>" for run in runs)
    rows = []
    for home_id, entry in sorted(control.items(), key=worst)[:_COMFORT_ROWS]:
        band = entry["room_band_c"]
        cells = "".join(
            f"<td>{_number(per_home[run].get(home_id, {}).get('room_degree_hours'))}</td>"
            f"<td>{_number(per_home[run].get(home_id, {}).get('tank_degree_hours'))}</td>"
            for run in runs
        )
        shown = "–" if band is None else f"{band[0]:.1f}–{band[1]:.1f}"
        rows.append(f"<tr><td>{html.escape(home_id)}</td><td>{shown}</td>{cells}</tr>")
    more = len(control) - _COMFORT_ROWS
    note = f"<p>… and {more} more homes (summary.json has them all).</p>" if more > 0 else ""
    return f"<table><tr><th>home</th><th>room band [°C]</th>{head}</tr>" + "".join(rows) + "</table>" + note


def _signal_table(kpis: dict[str, Any]) -> str:
    if not kpis["signals"]:
        return "<p>No grid signals in this scenario.</p>"
    keys = ("requested_w", "answered_expected_w", "reported_achieved_w", "measured_reduction_w", "max_export_w")
    rows = []
    for signal in kpis["signals"]:
        cells = "".join(f"<td>{_number(signal.get(key))}</td>" for key in keys)
        answers = ", ".join(f"{k}: {v}" for k, v in signal["answers"].items())
        rows.append(
            f"<tr><td>{signal['event']}</td><td>{html.escape(signal['kind'])}</td><td>{html.escape(signal['at'])}</td>"
            f"<td>{signal['homes']}</td>{cells}<td>{html.escape(answers)}</td></tr>"
        )
    head = "".join(f"<th>{key}</th>" for key in keys)
    return (
        f"<table><tr><th>#</th><th>signal</th><th>sent</th><th>homes</th>{head}<th>answers</th></tr>"
        + "".join(rows)
        + "</table>"
    )


def render_html(result: SimulationResult, kpis: dict[str, Any]) -> str:
    """The report as one HTML document."""
    scenario = result.scenario
    title = html.escape(f"flexcem simulation: {scenario.name}")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; margin: 1em 0; }}
td, th {{ border: 1px solid #ccc; padding: 3px 8px; text-align: right; }}
td:first-child, th:first-child {{ text-align: left; }}
</style></head><body>
<h1>{title}</h1>
<p>{html.escape(scenario.description)}</p>
<p>{html.escape(scenario.use_case)} — {len(result.homes)} homes, {len(result.slot_starts)} slots of
{scenario.period.slot_minutes} min from {scenario.period.start.isoformat()}; {result.workers} worker(s) on the
{html.escape(result.bus)} bus; {result.wall_s:.1f} s.</p>
<h2>District load, prices and signals</h2>
<img alt="district load with and without control, prices, carbon intensity and grid signals"
 src="data:image/png;base64,{_plots(result)}">
<h2>KPIs</h2>
<p>Normalised: the KPI with control divided by the KPI without control (CityLearn's convention; below 1 is
better). Comfort violations [K·h]: hot-water tanks and rooms outside their bands.</p>
{_kpi_table(kpis)}
<h2>Grid signals: requested, answered, reported, measured</h2>
{_signal_table(kpis)}
<h2>Each grid signal's own effect</h2>
<p>The district's load under control with the timeline's grid signals minus under control without them (the
tariff and its corrections apply to both), mean over the signal's window; overlapping windows share their
effects. The requested change is judged on the run without the signals (− less load, + more).</p>
{_effect_table(kpis)}
<h2>Comfort per home [K·h outside the band]</h2>
<p>Room: air conditioner's room outside its set point ± 1 K; tank: heat pump's hot-water tank outside its
band. Sampled every 15 min.</p>
{_comfort_table(kpis)}
</body></html>
"""
