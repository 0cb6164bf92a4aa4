"""Simulation at scale (issue 7): N homes, each with PV, battery, heat pump with tank, EV and two appliances, one
day at 15-minute slots, on the real CityLearn data (six buildings) — wall time and peak memory.

Every home is a real CEM with its device agents (physics) and base-load meter on the shard's bus; the grid
side of each shard publishes the day-ahead tariff (noon), a critical-peak correction (17:00), a yellow traffic
light (16:00–22:00) and a load-management request (sent 18:00 for 20:00–22:00): each makes every CEM re-plan.
Measured per size (each in a fresh process): the wall time of the controlled run (sharded over ``--workers``
processes, in-process bus), the wall time of the run without control, the number of plans and messages, and
the peak resident memory of the main process and of the largest worker (``ru_maxrss``), and where the CPU went:
each shard's CPU time and the CEMs' planning time in it (``planning_share_of_cpu``: building, solving and
reading the plans that the timeline and the devices ask for). ``--profile N`` runs
one shard of N homes in-process under cProfile and stores the top functions (where the time goes).

Usage: ``python benchmarks/sim_scale.py [--sizes 10 100 1000] [--workers 2] [--profile 40] [--bus mqtt://…]``;
writes ``benchmarks/results/sim_scale.json``.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import platform
import pstats
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from flexcem.sim.kpis import compute_kpis
from flexcem.sim.runner import run_simulation
from flexcem.sim.scenario import Scenario, parse_scenario
from machine_speed import reference

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "citylearn-2023-3-1"
RESULT = Path(__file__).parent / "results" / "sim_scale.json"


def scenario(homes: int) -> Scenario:
    """The benchmark's scenario for ``homes`` homes."""
    source = (
        f'source = "directory"\ndirectory = "{DATA}"\n'
        'buildings = ["Building_1", "Building_2", "Building_3", "Building_4", "Building_5", "Building_6"]'
        if DATA.exists()
        else 'source = "embedded"'
    )
    return parse_scenario(
        f"""name = "sim-scale"
use_case = "benchmark"
[period]
start = 2021-07-06T12:00:00
days = 1
slot_minutes = 15
[data]
{source}
[population]
homes = {homes}
seed = 1
[population.pv]
share = 1.0
kw = [3.0, 7.0]
[population.battery]
share = 1.0
kwh = [5.0, 13.5]
kw = [3.0, 5.0]
[population.heat_pump]
share = 1.0
[population.ev]
share = 1.0
[population.appliances]
washer = 1.0
dishwasher = 1.0
[cem]
import_limit_w = 13800
[[timeline]]
kind = "traffic_light"
at = 2021-07-06T16:00:00
state = "yellow"
until = 2021-07-06T22:00:00
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
    )


def measure(homes: int, workers: int, bus: str | None) -> dict[str, Any]:
    """One size, in this process: the controlled run, then the run without control."""
    s = scenario(homes)
    began = time.perf_counter()
    controlled = run_simulation(s, workers=workers, bus=bus, baseline=False, signal_effect=False)
    control_s = time.perf_counter() - began
    workers_peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    full = None
    both_s = None
    if homes <= 100:  # with the run without control too (the normalisation), on small sizes only
        began = time.perf_counter()
        full = run_simulation(s, workers=workers, bus=bus, baseline=True, signal_effect=False)
        both_s = round(time.perf_counter() - began, 2)
    plans = sum(h.plans for h in controlled.controlled)
    planning_s = sum(h.planning_cpu_s for h in controlled.controlled)
    return {
        "homes": homes,
        "slots": s.period.slot_count,
        "workers": controlled.workers,
        "bus": controlled.bus,
        "control_wall_s": round(control_s, 2),
        "control_shard_wall_s": [round(x, 2) for x in controlled.shard_wall_s["control"]],
        "control_shard_cpu_s": [round(x, 2) for x in controlled.shard_cpu_s["control"]],
        "planning_cpu_s": round(planning_s, 2),
        "planning_share_of_cpu": round(planning_s / max(sum(controlled.shard_cpu_s["control"]), 1e-9), 3),
        "control_and_no_control_wall_s": both_s,
        "plans": plans,
        "plans_per_home": round(plans / homes, 2),
        "messages": controlled.bus_messages["control"],
        "messages_per_home": round(controlled.bus_messages["control"] / homes, 1),
        "peak_rss_main_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "peak_rss_worker_mib": round(workers_peak_kib / 1024, 1),
        "normalised_cost": None if full is None else compute_kpis(full)["normalised"]["cost"],
        "notes": sum(len(h.notes) for h in controlled.controlled),
    }


def profile(homes: int) -> dict[str, Any]:
    """One shard of ``homes`` homes in-process under cProfile: the functions with the most cumulative and own time."""
    from flexcem.sim.population import draw_population
    from flexcem.sim.runner_shard import ShardTask, run_shard

    s = scenario(homes)
    task = ShardTask(s, tuple(draw_population(s)), 0, True)
    profiler = cProfile.Profile()
    began = time.perf_counter()
    profiler.enable()
    run_shard(task)
    profiler.disable()
    wall = time.perf_counter() - began
    stats = pstats.Stats(profiler)
    total = stats.total_tt  # type: ignore[attr-defined]

    def top(key: str, count: int) -> list[dict[str, Any]]:
        rows = []
        for (filename, line, name), (_, calls, own, cumulative, _) in sorted(
            stats.stats.items(),  # type: ignore[attr-defined]
            key=lambda item: item[1][3 if key == "cumulative" else 2],
            reverse=True,
        )[:count]:
            rows.append(
                {
                    "function": f"{Path(filename).name}:{line} {name}",
                    "calls": calls,
                    "own_s": round(own, 2),
                    "cumulative_s": round(cumulative, 2),
                    "cumulative_share": round(cumulative / total, 3),
                }
            )
        return rows

    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(5)
    return {
        "homes": homes,
        "wall_s": round(wall, 2),
        "profiled_s": round(total, 2),
        "by_cumulative": top("cumulative", 25),
        "by_own_time": top("own", 20),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--bus", default=None)
    parser.add_argument("--profile", type=int, default=0, help="profile one shard of N homes (0: skip)")
    parser.add_argument("--child", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child, args.workers, args.bus)))
        return
    previous = json.loads(RESULT.read_text()) if RESULT.exists() else {}
    speed = reference()
    runs = []
    for homes in args.sizes:
        command = [sys.executable, __file__, "--child", str(homes), "--workers", str(args.workers)]
        if args.bus:
            command += ["--bus", args.bus]
        output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        runs.append(json.loads(output.strip().splitlines()[-1]))
        print(json.dumps(runs[-1]), flush=True)
    key = "mqtt" if args.bus else "in_process"
    measured = {run["homes"] for run in runs}
    runs = sorted([r for r in previous.get(key, []) if r["homes"] not in measured] + runs, key=lambda r: r["homes"])
    result = {
        **previous,
        "benchmark": "sim_scale",
        "scenario": "each home: PV 3-7 kW, battery 5-13.5 kWh / 3-5 kW, heat pump 3 kW with a 200 L tank, EV "
        "(11 kW, plug-in 17-20 h, leaves 6-8 h), washer and dishwasher; 24 h from 12:00 at 15-min slots; "
        "tariff at 12:00, yellow traffic light 16:00, critical-peak correction 17:00, load management 18:00",
        "machine": {
            "python": platform.python_version(),
            "cpu_count": os.cpu_count(),
            "platform": platform.platform(),
            "loadavg_at_end": os.getloadavg(),
            "speed_at_start": speed,
        },
        key: runs,
    }
    if args.profile:
        result["profile"] = profile(args.profile)
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
