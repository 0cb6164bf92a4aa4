"""Replay of the planning problems a simulated neighbourhood really solves: CPU time per plan, and its cost.

1. **Capture** (once, reused while the capture directory exists): one shard of ``--homes`` homes of the
   scenario of :mod:`sim_scale` (PV, battery, heat pump with tank, EV, washer, dishwasher; tariff, critical
   peak, traffic light and load-management signals, each of which makes every CEM re-plan), run in this
   process with :func:`flexcem.cem.home_plan.solve` intercepted: every problem it is given, its arguments
   and the plan's outcome (cost, move cost, violations, how each level was solved) are pickled, one file per
   plan, in the order the simulation asked for them (the simulated clock and the population's seed make
   this deterministic).
2. **Replay**: each captured problem is solved again with the code of the tree, timed in CPU seconds
   (:func:`time.process_time`; the machine may be shared); per plan also the CPU of every objective level,
   by how that level was solved (``relaxation``, ``rounding``, ``fixed_mip``, ``mip``, ``lp``).
3. **Check**: the replayed plan's cost (``total_cost + move_cost``) and violations against the captured ones.
   The planner's MIP gap (``mip_rel_gap``, 1e-4 by default, 0.1 % at most) is relative to each level's
   objective, so a cost may move by that share of the level's scale; the check reports the largest
   differences and counts the plans whose cost moves by more than 0.1 % of the larger of the two costs and
   1 % of the problem's cost scale (the energy of the home at its highest price, below).

4. **Against** (``--against LABEL``): the cost of every plan against the run ``LABEL`` of the same capture (each
   run keeps its plans' costs, ``plan_costs``): the largest difference and how many plans differ at all — 0 for
   a change that must leave the plans as they are.

Usage: ``python benchmarks/planner_replay.py [--homes 20] [--capture-dir DIR] [--recapture] [--repeat 1]
[--label before] [--against LABEL]``; writes (merges by label) ``benchmarks/results/planner_replay.json``.
Capture a tree once and replay the same directory with each version of the planner for before/after figures
(an older tree: ``PYTHONPATH=OLD/src python benchmarks/planner_replay.py --label before``, then this tree with
``--label after --against before``).
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import platform
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import highspy

sys.path.insert(0, str(Path(__file__).resolve().parent))

from flexcem.planner import Plan, PlanningProblem, solve
from flexcem.planner.highs_runner import HighsRunner, RunResult
from sim_scale import scenario

RESULT = Path(__file__).parent / "results" / "planner_replay.json"
_COST_SHARE = 1e-3
"""A cost that moves by more than this share of the larger cost (and of 1 % of the scale) counts as moved."""


def _outcome(plan: Plan) -> dict[str, Any]:
    return {
        "cost": plan.total_cost + plan.move_cost,
        "violations": sum(v.amount for v in plan.violations),
        "solves": list(plan.solves),
        "status": str(plan.status),
    }


def capture(homes: int, directory: Path) -> dict[str, Any]:
    """Run one shard of ``homes`` homes and pickle every problem that the home planner solves into ``directory``."""
    import flexcem.cem.home_plan as home_plan
    from flexcem.sim.population import draw_population
    from flexcem.sim.runner_shard import ShardTask, run_shard

    directory.mkdir(parents=True, exist_ok=True)
    count = 0
    original: Callable[..., Plan] = getattr(home_plan, "solve")  # noqa: B009  (patched below)

    def recording(problem: PlanningProblem, **kwargs: Any) -> Plan:
        nonlocal count
        plan = original(problem, **kwargs)
        record = {"index": count, "problem": problem, "kwargs": kwargs, **_outcome(plan)}
        (directory / f"plan-{count:05d}.pkl").write_bytes(pickle.dumps(record))
        count += 1
        return plan

    s = scenario(homes)
    task = ShardTask(s, tuple(draw_population(s)), 0, True)
    setattr(home_plan, "solve", recording)  # noqa: B010
    began = time.perf_counter()
    try:
        run_shard(task)
    finally:
        setattr(home_plan, "solve", original)  # noqa: B010
    meta = {"homes": homes, "plans": count, "capture_wall_s": round(time.perf_counter() - began, 2)}
    (directory / "meta.json").write_text(json.dumps(meta))
    return meta


def _records(directory: Path) -> list[dict[str, Any]]:
    return [pickle.loads(path.read_bytes()) for path in sorted(directory.glob("plan-*.pkl"))]


@contextmanager
def _level_timer(levels: list[tuple[str, float]]) -> Iterator[None]:
    """Append (method, CPU s) of every :meth:`HighsRunner.run` while active."""
    original: Callable[..., RunResult] = HighsRunner.run

    def timed(self: HighsRunner, **kwargs: Any) -> RunResult:
        began = time.process_time()
        result = original(self, **kwargs)
        levels.append((result.method, time.process_time() - began))
        return result

    HighsRunner.run = timed  # type: ignore[method-assign]
    try:
        yield
    finally:
        HighsRunner.run = original  # type: ignore[method-assign]


def _stats(values: list[float]) -> dict[str, float | int]:
    ordered = sorted(values)
    if not ordered:
        return {"count": 0}
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {
        "count": len(ordered),
        "total_s": round(sum(ordered), 3),
        "median_ms": round(1000 * statistics.median(ordered), 2),
        "p95_ms": round(1000 * p95, 2),
        "max_ms": round(1000 * ordered[-1], 2),
    }


def _cost_scale(problem: PlanningProblem) -> float:
    """What 1 kWh per slot over the horizon costs at the highest price [currency]: a yardstick for cost moves."""
    highest = max((abs(slot.price_per_kwh) for slot in problem.prices), default=1.0)
    grid = problem.grid()
    return highest * grid.count * grid.slot_hours


def replay(directory: Path, repeat: int) -> dict[str, Any]:
    """Solve every captured problem again (``repeat`` times, the least CPU kept) and compare the outcomes."""
    records = _records(directory)
    plan_cpu: list[float] = []
    build_cpu: list[float] = []
    by_levels: dict[str, list[float]] = defaultdict(list)
    level_cpu: dict[str, list[float]] = defaultdict(list)
    cost_moves: list[dict[str, Any]] = []
    changed_solves = 0
    violation_moves = 0
    moved = 0
    for record in records:
        best = float("inf")
        plan: Plan | None = None
        levels: list[tuple[str, float]] = []
        for _ in range(repeat):
            run_levels: list[tuple[str, float]] = []
            with _level_timer(run_levels):
                began = time.process_time()
                plan = solve(record["problem"], **record["kwargs"])
                cpu = time.process_time() - began
            if cpu < best:
                best, levels = cpu, run_levels
        assert plan is not None
        plan_cpu.append(best)
        build_cpu.append(plan.build_time_s)
        for method, seconds in levels:
            level_cpu[method].append(seconds)
        by_levels[",".join(sorted({method for method, _ in levels}))].append(best)
        outcome = _outcome(plan)
        changed_solves += outcome["solves"] != record["solves"]
        if abs(outcome["violations"] - record["violations"]) > 1e-6 * max(1.0, abs(record["violations"])):
            violation_moves += 1
        delta = outcome["cost"] - record["cost"]
        scale = _cost_scale(record["problem"])
        if abs(delta) > _COST_SHARE * max(abs(record["cost"]), abs(outcome["cost"]), 0.01 * scale):
            moved += 1
        cost_moves.append(
            {
                "index": record["index"],
                "recorded": round(record["cost"], 6),
                "replayed": round(outcome["cost"], 6),
                "delta": delta,
                "delta_of_scale": delta / scale if scale else 0.0,
            }
        )
    deltas = [item["delta"] for item in cost_moves]
    worst = sorted(cost_moves, key=lambda item: -abs(item["delta"]))[:5]
    return {
        "plans": len(records),
        "repeat": repeat,
        "cpu_per_plan": _stats(plan_cpu),
        "build_cpu_per_plan": _stats(build_cpu),
        "cpu_by_plan_methods": {key: _stats(values) for key, values in sorted(by_levels.items())},
        "cpu_per_level_by_method": {key: _stats(values) for key, values in sorted(level_cpu.items())},
        "cost_check": {
            "recorded_total": round(sum(r["cost"] for r in records), 4),
            "replayed_total": round(sum(r["cost"] for r in records) + sum(deltas), 4),
            "max_abs_delta": max((abs(d) for d in deltas), default=0.0),
            "replayed_higher": sum(d > 1e-9 for d in deltas),
            "replayed_lower": sum(d < -1e-9 for d in deltas),
            "moved_beyond_gap": moved,
            "violations_changed": violation_moves,
            "largest": worst,
        },
        "plans_solved_otherwise": changed_solves,
        "plan_costs": [record["cost"] + item["delta"] for record, item in zip(records, cost_moves, strict=True)],
    }


def against(measured: dict[str, Any], previous: dict[str, Any], label: str) -> dict[str, Any]:
    """Plan-by-plan cost differences [currency] between this replay and the run ``label`` of the same capture."""
    mine, theirs = measured["plan_costs"], previous.get("plan_costs")
    if theirs is None or len(theirs) != len(mine):
        raise SystemExit(f"run {label!r} has no plan costs for these {len(mine)} plans")
    deltas = [a - b for a, b in zip(mine, theirs, strict=True)]
    return {
        "label": label,
        "max_abs_delta": max((abs(d) for d in deltas), default=0.0),
        "plans_differing": sum(d != 0.0 for d in deltas),
        "cpu_total_ratio": round(measured["cpu_per_plan"]["total_s"] / previous["cpu_per_plan"]["total_s"], 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--homes", type=int, default=20)
    parser.add_argument("--capture-dir", type=Path, default=None, help="default: a folder in the temp dir")
    parser.add_argument("--recapture", action="store_true", help="capture again even if the folder exists")
    parser.add_argument("--repeat", type=int, default=1, help="solves per plan, the least CPU kept")
    parser.add_argument("--label", default="current", help="key of this run in the result file")
    parser.add_argument("--out", type=Path, default=RESULT)
    parser.add_argument(
        "--against", default=None, help="label of an earlier run of the same capture: compare each plan's cost"
    )
    args = parser.parse_args()
    directory = args.capture_dir or Path(tempfile.gettempdir()) / f"flexcem-planner-replay-{args.homes}"
    meta_path = directory / "meta.json"
    if args.recapture or not meta_path.exists():
        for old in directory.glob("plan-*.pkl"):
            old.unlink()
        meta = capture(args.homes, directory)
        print(f"captured {meta['plans']} plans of {args.homes} homes in {meta['capture_wall_s']} s", flush=True)
    else:
        meta = json.loads(meta_path.read_text())
    measured = replay(directory, args.repeat)
    measured.update(
        {
            "capture": {**meta, "directory": str(directory)},
            "python": platform.python_version(),
            "highspy": getattr(highspy, "__version__", "?"),
            "cpus": os.cpu_count(),
            "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
    )
    previous = json.loads(args.out.read_text()) if args.out.exists() else {}
    runs = previous.get("runs", {})
    if args.against is not None:
        if args.against not in runs:
            raise SystemExit(f"no run {args.against!r} in {args.out}")
        measured["against"] = against(measured, runs[args.against], args.against)
    print(json.dumps({key: value for key, value in measured.items() if key != "plan_costs"}, indent=1))
    runs[args.label] = measured
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"benchmark": "planner_replay", "runs": runs}, indent=1) + "\n")


if __name__ == "__main__":
    main()
