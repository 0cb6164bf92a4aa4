"""Benchmark of flexcem.planner on one home: 3, 5 and 10 flexible devices over 24 h at 15-minute slots.

Real hourly prices (CityLearn 2023 phase 3-1, ``pricing.csv``, USD/kWh) and carbon intensity
(``carbon_intensity.csv``, kg/kWh → g/kWh) with the base load of ``Building_1.csv`` as committed load.
Each run takes another day and draws new windows; the 3- and 5-device cases hold flexible starts only and
their cost is compared with the exhaustive optimum; the 10-device case adds an EV charging session.

Run: ``python benchmarks/planner_flexstart.py [--out benchmarks/results/planner_flexstart.json] [--runs 30]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import highspy
import numpy as np

from flexcem.model.flexibility import ChargeCurvePoint, IncentiveProgram
from flexcem.model.power_profile import PowerSequence, ProfileSlot
from flexcem.model.tariff import PriceSlot
from flexcem.model.timeseries import PowerSlot
from flexcem.planner import (
    ChargingSessionDevice,
    FlexibleStartDevice,
    PlanningProblem,
    SiteLimits,
    exhaustive_optimum,
    solve,
)
from flexcem.planner.builder import Level
from flexcem.planner.exhaustive import evaluate, plan_choices
from flexcem.planner.highs_runner import HighsRunner
from flexcem.planner.model import build_model
from flexcem.planner.objective import BLEND_VIOLATION
from flexcem.planner.site import site_cost
from machine_speed import reference

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "citylearn-2023-3-1"
if not DATA.exists():
    DATA = Path("/work/shared/data/citylearn-2023-3-1")
ORIGIN = datetime(2023, 6, 1, 0, 0, tzinfo=timezone(timedelta(hours=-7)))
"""Row 0 of the CityLearn files (summer; the dataset gives month and hour, not the year)."""
IMPORT_LIMIT_W = 13_800.0
"""3 × 20 A at 230 V."""
EXHAUSTIVE_CAP = 3_000_000
"""Most combinations for the exhaustive comparison; windows are narrowed until below it."""


def _phases(*phases: tuple[int, float, str]) -> tuple[ProfileSlot, ...]:
    return tuple(ProfileSlot(duration=timedelta(minutes=m), power_w=w, label=label) for m, w, label in phases)


PROGRAMMES: dict[str, tuple[PowerSequence, ...]] = {
    "washer": (
        PowerSequence(
            sequence_id="cotton40",
            slots=_phases((17, 2100, "heat"), (48, 180, "wash"), (20, 250, "rinse"), (12, 520, "spin")),
        ),
        PowerSequence(
            sequence_id="eco40",
            slots=_phases((25, 1300, "heat"), (95, 120, "wash"), (25, 200, "rinse"), (15, 450, "spin")),
        ),
    ),
    "dishwasher": (
        PowerSequence(
            sequence_id="eco",
            slots=_phases(
                (10, 100, "prewash"),
                (18, 1900, "heat"),
                (95, 90, "wash"),
                (12, 1800, "rinse"),
                (55, 40, "dry"),
            ),
        ),
        PowerSequence(
            sequence_id="normal",
            slots=_phases(
                (5, 100, "prewash"),
                (20, 2000, "heat"),
                (40, 120, "wash"),
                (15, 2000, "rinse"),
                (30, 50, "dry"),
            ),
        ),
    ),
    "dryer": (
        PowerSequence(
            sequence_id="heat_pump", slots=_phases((15, 900, "warm-up"), (115, 750, "dry"), (10, 150, "cool"))
        ),
        PowerSequence(sequence_id="fast", slots=_phases((65, 2400, "dry"), (10, 200, "cool"))),
    ),
    "water_heater": (PowerSequence(sequence_id="boost", slots=_phases((80, 3000, "heat"))),),
    "pool_pump": (PowerSequence(sequence_id="filter", slots=_phases((20, 1500, "prime"), (160, 900, "filter"))),),
    "bread_maker": (
        PowerSequence(sequence_id="basic", slots=_phases((30, 60, "knead"), (75, 20, "rise"), (55, 650, "bake"))),
    ),
    "robot_mower": (PowerSequence(sequence_id="charge", slots=_phases((70, 450, "charge"), (20, 120, "top-up"))),),
}

# (device id, programme, earliest offset range [h from 12:00], window slack range [h])
FLEX_3 = [("washer", "washer"), ("dishwasher", "dishwasher"), ("dryer", "dryer")]
FLEX_5 = [*FLEX_3, ("water_heater", "water_heater"), ("pool_pump", "pool_pump")]
FLEX_9 = [
    *FLEX_5,
    ("washer2", "washer"),
    ("dishwasher2", "dishwasher"),
    ("bread_maker", "bread_maker"),
    ("robot_mower", "robot_mower"),
]


def load_data() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hourly price [USD/kWh], carbon intensity [g/kWh] and base load [kW] of the CityLearn files."""
    price = np.loadtxt(DATA / "pricing.csv", delimiter=",", skiprows=1, usecols=0)
    carbon = np.loadtxt(DATA / "carbon_intensity.csv", delimiter=",", skiprows=1, ndmin=1) * 1000.0
    header = (DATA / "Building_1.csv").read_text().splitlines()[0].split(",")
    column = header.index("non_shiftable_load")
    load = np.loadtxt(DATA / "Building_1.csv", delimiter=",", skiprows=1, usecols=column)
    return price, carbon, load


@dataclass
class Case:
    """One generated problem."""

    problem: PlanningProblem
    combinations: int


def _flexible(
    device_id: str, programme: str, start: datetime, rng: random.Random, slack_h: float
) -> FlexibleStartDevice:
    alternatives = PROGRAMMES[programme]
    longest = max(sequence.duration for sequence in alternatives)
    earliest = start + timedelta(minutes=rng.randrange(0, 10 * 60, 5))
    slack = timedelta(minutes=int(slack_h * 60))
    return FlexibleStartDevice(
        device_id=device_id,
        earliest_start=earliest,
        latest_start=earliest + slack,
        latest_end=earliest + slack + longest,
        alternatives=alternatives,
        incentive=IncentiveProgram.CHEAPEST,
    )


def _ev(start: datetime, rng: random.Random) -> ChargingSessionDevice:
    arrival = start + timedelta(hours=rng.uniform(5.0, 8.0))
    departure = start + timedelta(hours=rng.uniform(18.5, 21.0))
    capacity_wh = 60_000.0
    soc = rng.uniform(0.2, 0.5)
    need = (0.95 - soc) * capacity_wh
    knee = max(1.0, (0.8 - soc) * capacity_wh)
    return ChargingSessionDevice(
        device_id="ev",
        earliest_start=arrival,
        latest_end=departure,
        energy_wh=need,
        max_power_w=11_000.0,
        min_power_w=4_140.0,  # 3 × 6 A × 230 V
        power_curve=(
            ChargeCurvePoint(energy_wh=0.0, max_power_w=11_000.0),
            ChargeCurvePoint(energy_wh=knee, max_power_w=11_000.0),
            ChargeCurvePoint(energy_wh=(1.0 - soc) * capacity_wh, max_power_w=4_500.0),
        ),
    )


def make_case(
    run: int,
    devices: list[tuple[str, str]],
    *,
    ev: bool,
    data: tuple[np.ndarray, np.ndarray, np.ndarray],
    exhaustive: bool,
    import_limit_w: float = IMPORT_LIMIT_W,
) -> Case:
    """The problem of one run: day ``run`` of the data from 12:00, windows drawn from a seeded generator."""
    price, carbon, load = data
    rng = random.Random(1000 * run + len(devices))
    first_hour = 24 * (run % 90) + 12
    start = ORIGIN + timedelta(hours=first_hour)
    hours = range(first_hour, first_hour + 26)
    prices = tuple(
        PriceSlot(
            start=ORIGIN + timedelta(hours=h),
            duration=timedelta(hours=1),
            price_per_kwh=float(price[h]),
            co2_g_per_kwh=float(carbon[h]),
        )
        for h in hours
    )
    committed = tuple(
        PowerSlot(start=ORIGIN + timedelta(hours=h), duration=timedelta(hours=1), power_w=float(load[h]) * 1000.0)
        for h in hours
    )
    slack_h = rng.uniform(3.0, 8.0)
    while True:
        flex = [_flexible(d, p, start, rng, slack_h) for d, p in devices]
        problem = PlanningProblem(
            start=start,
            end=start + timedelta(hours=24),
            devices=(*flex, *((_ev(start, rng),) if ev else ())),
            site=SiteLimits(import_limit_w=import_limit_w, committed_load=committed),
            prices=prices,
            currency="USD",
        )
        combinations = 0
        if exhaustive:
            from flexcem.planner.devices.flexible_start import candidate_set

            grid = problem.grid()
            combinations = int(np.prod([candidate_set(d, grid).size for d in flex]))
            if combinations > EXHAUSTIVE_CAP:
                slack_h *= 0.8
                continue
        return Case(problem=problem, combinations=combinations)


def _stats(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(np.ceil(0.95 * len(ordered))) - 1)]
    return {
        "median_ms": statistics.median(ordered) * 1000.0,
        "p95_ms": p95 * 1000.0,
        "max_ms": ordered[-1] * 1000.0,
        "min_ms": ordered[0] * 1000.0,
    }


def reference_mip(problem: PlanningProblem) -> tuple[float, int, float]:
    """HiGHS's MILP alone on the same model (first objective level, gap 1e-6): cost, violated slots, time."""
    model = build_model(problem)
    objective = BLEND_VIOLATION * model.levels[Level.VIOLATION] + model.levels[Level.COST]
    runner = HighsRunner()
    runner.load(model.builder.to_lp(objective), model.builder.col_kind)
    runner.set_objective(objective)
    t0 = time.perf_counter()
    result = runner.run(time_limit_s=60.0, mip_rel_gap=1e-6, start=None, rounding=None)
    elapsed = time.perf_counter() - t0
    assert result.x is not None
    site_kw = model.context.committed_kw + model.devices_kw(result.x)
    violated = len(model.site.violations(site_kw))
    return site_cost(site_kw, model.context), violated, elapsed


def run_size(
    name: str,
    devices: list[tuple[str, str]],
    *,
    ev: bool,
    runs: int,
    data: Any,
    import_limit_w: float = IMPORT_LIMIT_W,
    target: bool = True,
) -> dict[str, Any]:
    """Solve ``runs`` problems of one size; compare with the exhaustive optimum when there is no EV and
    with HiGHS's MILP alone when there is."""
    exhaustive = not ev
    build, solve_times, total, rel_diffs, statuses, methods = [], [], [], [], [], []
    combos, exhaustive_s, violations = [], [], 0
    mip_diffs, mip_times, mip_violations = [], [], 0
    for run in range(runs):
        case = make_case(run, devices, ev=ev, data=data, exhaustive=exhaustive, import_limit_w=import_limit_w)
        t0 = time.perf_counter()
        plan = solve(case.problem)
        wall = time.perf_counter() - t0
        build.append(plan.build_time_s)
        solve_times.append(plan.solve_time_s)
        total.append(wall)
        statuses.append(plan.status.value)
        methods.extend(plan.solves)
        violations += len(plan.violations)
        if exhaustive:
            t1 = time.perf_counter()
            best = exhaustive_optimum(case.problem, max_combinations=EXHAUSTIVE_CAP)
            exhaustive_s.append(time.perf_counter() - t1)
            mine = evaluate(case.problem, plan_choices(plan))
            combos.append(case.combinations)
            if abs(mine.violation - best.best.violation) > 1e-6:
                rel_diffs.append(float("inf"))
            else:
                rel_diffs.append((mine.cost - best.cost) / max(abs(best.cost), 1e-9))
        else:
            cost, violated, elapsed = reference_mip(case.problem)
            mip_times.append(elapsed)
            mip_violations += violated
            mip_diffs.append((plan.total_cost - cost) / max(abs(cost), 1e-9))
    result: dict[str, Any] = {
        "case": name,
        "devices": len(devices) + (1 if ev else 0),
        "ev": ev,
        "site_import_limit_w": import_limit_w,
        "counts_for_target": target,
        "runs": runs,
        "build": _stats(build),
        "solve": _stats(solve_times),
        "total": _stats(total),
        "status": {status: statuses.count(status) for status in sorted(set(statuses))},
        "methods": {method: methods.count(method) for method in sorted(set(methods))},
        "violations": violations,
    }
    if exhaustive:
        result["exhaustive"] = {
            "max_relative_cost_difference": max(rel_diffs),
            "mean_combinations": statistics.mean(combos),
            "max_combinations": max(combos),
            "median_exhaustive_s": statistics.median(exhaustive_s),
        }
    else:
        result["reference_mip"] = {
            "what": "HiGHS MILP alone on the same model, mip_rel_gap 1e-6 (no relaxation-first path)",
            "max_relative_cost_difference": max(mip_diffs),
            "min_relative_cost_difference": min(mip_diffs),
            "violations": mip_violations,
            "time": _stats(mip_times),
        }
    return result


def machine() -> dict[str, Any]:
    """What the benchmark ran on."""
    return {
        "python": sys.version.split()[0],
        "highspy": ".".join(
            str(part)
            for part in (
                highspy.HIGHS_VERSION_MAJOR,
                highspy.HIGHS_VERSION_MINOR,
                highspy.HIGHS_VERSION_PATCH,
            )
        ),
        "numpy": np.__version__,
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "speed": reference(),
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and write its JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/planner_flexstart.json"))
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args(argv)
    data = load_data()
    solve(make_case(0, FLEX_3, ev=False, data=data, exhaustive=False).problem)  # warm-up (imports, HiGHS)
    sizes = [
        run_size("3 flexible starts", FLEX_3, ev=False, runs=args.runs, data=data),
        run_size("5 flexible starts", FLEX_5, ev=False, runs=args.runs, data=data),
        run_size("9 flexible starts + EV", FLEX_9, ev=True, runs=args.runs, data=data),
        run_size(
            "stress: 10 devices, 7 kW",
            FLEX_9,
            ev=True,
            runs=args.runs,
            data=data,
            import_limit_w=7_000.0,
            target=False,
        ),
    ]
    ten = sizes[2]
    report = {
        "benchmark": "planner_flexstart",
        "horizon": "24 h from 12:00, 15-minute slots (96)",
        "data": "CityLearn 2023 phase 3-1: pricing.csv (USD/kWh), carbon_intensity.csv (kg/kWh × 1000), "
        "Building_1 non_shiftable_load as committed load; run r uses day r",
        "timing": "total = wall time of solve() (build + solve + plan); build/solve as reported by the plan",
        "machine": machine(),
        "sizes": sizes,
        "target": {
            "p95_total_ms_10_devices": 50.0,
            "measured_p95_total_ms_10_devices": ten["total"]["p95_ms"],
            "met": ten["total"]["p95_ms"] < 50.0,
            "exhaustive_equal": all(
                size["exhaustive"]["max_relative_cost_difference"] <= 1e-4 for size in sizes if "exhaustive" in size
            ),
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    for size in sizes:
        total, build, solve_ms = size["total"], size["build"], size["solve"]
        line = (
            f"{size['case']:>26}: total median {total['median_ms']:.1f} ms, p95 {total['p95_ms']:.1f} ms "
            f"(build {build['median_ms']:.1f}, solve {solve_ms['median_ms']:.1f}); {size['methods']}"
        )
        if "exhaustive" in size:
            line += f"; max rel. diff to exhaustive {size['exhaustive']['max_relative_cost_difference']:.2e}"
        if "reference_mip" in size:
            reference = size["reference_mip"]
            line += (
                f"; vs MILP alone: rel. diff {reference['max_relative_cost_difference']:.2e}, "
                f"MILP alone median {reference['time']['median_ms']:.0f} ms"
            )
        print(line)
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
