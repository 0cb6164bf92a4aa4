"""What ``flexcem demo`` leaves behind: a comparison on screen, ``summary.json`` and ``demo.png``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from flexcem.sim.demo import DemoRun, DemoScenario, DeviceOutcome

__all__ = ["comparison_lines", "summary", "write_plot", "write_summary"]

_COLOURS = {"washing_machine": "tab:blue", "electric_vehicle": "tab:green", "dishwasher": "tab:orange"}


def _device_summary(device: DeviceOutcome) -> dict[str, Any]:
    return {
        "kind": device.kind,
        "job": device.job,
        "activated": device.activated.isoformat(),
        "deadline": device.deadline.isoformat(),
        "start": device.start.isoformat() if device.start else None,
        "end": device.end.isoformat() if device.end else None,
        "met_deadline": device.met_deadline,
        "energy_wh": round(device.energy_wh, 1),
        "cost": round(device.cost, 5),
        "co2_g": round(device.co2_g, 1),
    }


def _run_summary(run: DemoRun) -> dict[str, Any]:
    return {
        "devices_cost": round(run.devices_cost, 5),
        "site_cost": round(run.site_cost, 5),
        "devices_co2_g": round(sum(device.co2_g for device in run.devices), 1),
        "site_peak_w": round(run.peak_w, 1),
        "messages": run.messages,
        "plans": run.plans,
        "devices": {device.device_id: _device_summary(device) for device in run.devices},
    }


def summary(scenario: DemoScenario, planned: DemoRun, at_once: DemoRun) -> dict[str, Any]:
    """Both runs side by side, with the saving of planning."""
    saving = at_once.devices_cost - planned.devices_cost
    return {
        "scenario": {
            "day": scenario.day.isoformat(),
            "timezone": scenario.timezone,
            "start": scenario.start.isoformat(),
            "end": scenario.end.isoformat(),
            "site_import_limit_w": scenario.site_import_limit_w,
            "critical_peak_correction": scenario.critical_peak,
            "wire_format": scenario.wire or "none",
            "data": "CityLearn Challenge 2023 phase 3 (MIT licence): prices, carbon intensity, Building 1 load",
        },
        "currency": planned.currency,
        "planned": _run_summary(planned),
        "at_once": _run_summary(at_once),
        "saving": {
            "devices_cost": round(saving, 5),
            "percent": round(100.0 * saving / at_once.devices_cost, 1) if at_once.devices_cost else 0.0,
        },
    }


def write_summary(path: Path, content: dict[str, Any]) -> None:
    """Write ``summary.json``."""
    path.write_text(json.dumps(content, indent=2) + "\n", encoding="utf-8")


def comparison_lines(scenario: DemoScenario, planned: DemoRun, at_once: DemoRun) -> list[str]:
    """The comparison printed after the timeline."""
    zone = scenario.zone
    currency = planned.currency

    def when(device: DeviceOutcome) -> str:
        if device.start is None or device.end is None:
            return "did not finish"
        return f"{device.start.astimezone(zone):%H:%M}–{device.end.astimezone(zone):%H:%M}"

    lines = [
        "",
        f"{'device':<12} {'planned':<13} {'cost':>9}   {'at once':<13} {'cost':>9}   deadline",
    ]
    for mine, theirs in zip(planned.devices, at_once.devices, strict=True):
        ok = "met" if mine.met_deadline else "MISSED"
        lines.append(
            f"{mine.device_id:<12} {when(mine):<13} {mine.cost:>9.4f}   {when(theirs):<13} {theirs.cost:>9.4f}   "
            f"{mine.deadline.astimezone(zone):%H:%M} {ok}"
        )
    saving = at_once.devices_cost - planned.devices_cost
    percent = 100.0 * saving / at_once.devices_cost if at_once.devices_cost else 0.0
    lines += [
        f"{'devices':<12} {'':<13} {planned.devices_cost:>9.4f}   {'':<13} {at_once.devices_cost:>9.4f}   {currency}",
        "",
        f"Planning saves {saving:.4f} {currency} ({percent:.0f} %) on the three devices; "
        f"site peak {planned.peak_w / 1000:.1f} kW planned vs {at_once.peak_w / 1000:.1f} kW at once "
        f"(limit {scenario.site_import_limit_w / 1000:.0f} kW).",
    ]
    return lines


def write_plot(path: Path, scenario: DemoScenario, planned: DemoRun, at_once: DemoRun) -> None:
    """Prices, each device's power and the site power for both runs, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    zone = scenario.zone
    times = [start.astimezone(zone) for start in planned.slot_starts]
    step = planned.slot_starts[1] - planned.slot_starts[0]
    edges = [*times, times[-1] + step]
    figure, axes = plt.subplots(3, 1, figsize=(11, 9), sharex=True, height_ratios=[1, 2, 2])
    price_axis = axes[0]
    price_axis.stairs(planned.price_per_kwh, edges, color="tab:red", label="price")
    price_axis.set_ylabel(f"{planned.currency}/kWh")
    price_axis.set_title(f"flexcem demo — {scenario.day:%A %d %B %Y}, one home in {scenario.timezone}")
    co2_axis = price_axis.twinx()
    co2_axis.stairs(planned.co2_g_per_kwh, edges, color="tab:gray", linestyle=":", label="CO2")
    co2_axis.set_ylabel("g CO2/kWh")
    handles = price_axis.get_legend_handles_labels()[0] + co2_axis.get_legend_handles_labels()[0]
    price_axis.legend(handles=handles, loc="upper left")
    for axis, run, title in (
        (axes[1], planned, "planned by the CEM"),
        (axes[2], at_once, "everything at once"),
    ):
        baseline = [0.0] * len(times)
        layers = [("base load", run.base_load_w, "lightgray")] + [
            (device.device_id, device.power_w, _COLOURS.get(device.kind, "tab:purple")) for device in run.devices
        ]
        for label, power, color in layers:
            top = [b + p / 1000.0 for b, p in zip(baseline, power, strict=True)]
            axis.stairs(top, edges, baseline=baseline, fill=True, label=label, color=color, alpha=0.85)
            baseline = top
        axis.stairs([p / 1000.0 for p in run.site_power_w], edges, color="black", linewidth=1.0, label="site")
        axis.axhline(
            scenario.site_import_limit_w / 1000.0,
            color="tab:red",
            linestyle="--",
            linewidth=1.0,
            label="import limit",
        )
        axis.set_ylabel("kW")
        axis.set_title(f"{title}: devices cost {run.devices_cost:.3f} {run.currency}")
        axis.legend(loc="upper left", ncols=3, fontsize="small")
    axes[2].xaxis.set_major_formatter(mdates.DateFormatter("%H:%M", tz=zone))  # type: ignore[no-untyped-call]
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
