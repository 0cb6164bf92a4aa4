"""``flexcem sim run SCENARIO.toml --out DIR [--workers N] [--bus mqtt://HOST:PORT] [--no-signal-effect] [--quiet]``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

__all__ = ["add_parser", "run"]


def add_parser(commands: Any) -> None:
    """Register the ``sim`` sub-command."""
    parser = commands.add_parser(
        "sim",
        help="simulate a neighbourhood of homes from a scenario file (KPIs and a report)",
        description="Simulate the homes of a scenario with their CEMs, devices and the grid's signals, again "
        "without control and (when it has grid signals) under control without them; write summary.json, CSV time "
        "series and report.html.",
    )
    actions = parser.add_subparsers(dest="sim_action", required=True, metavar="ACTION")
    run_parser = actions.add_parser("run", help="run a scenario")
    run_parser.add_argument("scenario", type=Path, help="the scenario file (TOML; see scenarios/)")
    run_parser.add_argument("--out", type=Path, required=True, help="directory for the report")
    run_parser.add_argument("--workers", type=int, default=None, help="worker processes (default: one per core)")
    run_parser.add_argument(
        "--bus", default=None, metavar="URI", help="run over an MQTT broker (mqtt://HOST:PORT) instead of in-process"
    )
    run_parser.add_argument(
        "--no-signal-effect",
        action="store_true",
        help="skip the run under control without the grid signals (the scenario's signal_effect = false)",
    )
    run_parser.add_argument("--quiet", action="store_true", help="no progress bar")
    run_parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run the scenario and write the report; 2 when the scenario is refused."""
    from flexcem.sim.progress import ProgressBar
    from flexcem.sim.report import write_report
    from flexcem.sim.runner import run_simulation
    from flexcem.sim.scenario import ScenarioError, load_scenario

    if args.workers is not None and args.workers < 1:
        print("--workers: must be at least 1", file=sys.stderr)
        return 2
    try:
        scenario = load_scenario(args.scenario)
    except ScenarioError as error:
        for line, field, message in error.problems:
            print(f"{error.path}:{line if line is not None else '?'}: {field}: {message}", file=sys.stderr)
        return 2
    period = scenario.period
    bar = None if args.quiet else ProgressBar(period.start, period.end, scenario.population.homes)
    effect = False if args.no_signal_effect else None
    result = run_simulation(scenario, workers=args.workers, bus=args.bus, progress=bar, signal_effect=effect)
    summary = write_report(result, args.out)
    normalised = summary["kpis"]["normalised"]
    print(f"{scenario.name}: {len(result.homes)} homes, {result.wall_s:.1f} s; report in {args.out}")
    for name, value in normalised.items():
        print(f"  {name:32} {'–' if value is None else f'{value:.3f}'}")
    return 0
