"""``report.html``: the district's load with and without control, prices and carbon intensity, the grid
signals' windows, the KPI table and the signals' responses — one self-contained file (plots as base64 PNG)."""

from __future__ import annotations

import base64
import html
import io
from typing import Any

from flexcem.sim.kpis import NORMALISED, district_kw
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
    figure, (load_axis, price_axis) = plt.subplots(2, 1, figsize=(11, 7), sharex=True, height_ratios=(2, 1))
    load_axis.step(times, district_kw(result.controlled), where="post", label="with control", color="#1d3557")
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
    price_axis.xaxis.set_major_formatter(mdates.DateFormatter("%d %H:%M", tz=zone))  # type: ignore[no-untyped-call]
    price_axis.grid(alpha=0.3)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90)
    plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _number(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.0f}"
    return html.escape(str(value))


def _kpi_table(kpis: dict[str, Any]) -> str:
    rows = []
    for name, value in kpis["control"].items():
        normalised = kpis["normalised"].get(name) if name in NORMALISED else None
        rows.append(
            f"<tr><td>{html.escape(name)}</td><td>{_number(value)}</td>"
            f"<td>{_number(kpis['no_control'].get(name))}</td><td>{_number(normalised)}</td></tr>"
        )
    return (
        "<table><tr><th>KPI</th><th>with control</th><th>no control</th><th>normalised</th></tr>"
        + "".join(rows)
        + "</table>"
    )


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
better).</p>
{_kpi_table(kpis)}
<h2>Grid signals: requested, answered, reported, measured</h2>
{_signal_table(kpis)}
</body></html>
"""
