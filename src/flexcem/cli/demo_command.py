"""``flexcem demo [--out DIR]``: one home, one simulated day, planned against the real tariff."""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

__all__ = ["add_parser", "run"]


def add_parser(commands: Any) -> None:
    """Register the ``demo`` sub-command."""
    parser = commands.add_parser(
        "demo",
        help="simulate one home for a day: a CEM schedules a washing machine, an EV and a dishwasher",
        description="Simulate one home for a day on real CityLearn prices: the CEM schedules a washing machine "
        "(finished by 20:00), an EV (charged by 08:00) and a dishwasher (done by 07:00), and compares the cost "
        "with starting everything at once.",
    )
    parser.add_argument("--out", type=Path, default=Path("demo-out"), help="directory for summary.json and demo.png")
    parser.add_argument(
        "--day",
        type=date.fromisoformat,
        default=None,
        help="day of the data set to simulate, 2021-06-01 … 2021-08-30 (default 2021-06-15)",
    )
    parser.add_argument(
        "--wire",
        choices=["xml", "json", "none"],
        default="xml",
        help="encoding every message crosses the in-process bus in (default xml)",
    )
    parser.add_argument(
        "--no-critical-peak",
        action="store_true",
        help="leave out the retailer's critical-peak correction at 17:00",
    )
    parser.add_argument("--quiet", action="store_true", help="print only the comparison")
    parser.add_argument(
        "--bus",
        action="append",
        default=[],
        metavar="URI",
        help="run over an MQTT broker, mqtt://HOST:PORT or mqtts://HOST:PORT (repeat for failover "
        "brokers); the broker must allow the demo's identities (see --write-policy)",
    )
    parser.add_argument(
        "--pki",
        type=Path,
        default=None,
        help="PKI directory (flexcem pki) with certificates for cem, retailer, washer, ev, "
        "dishwasher and monitor, for mqtts://",
    )
    parser.add_argument(
        "--write-policy",
        type=Path,
        default=None,
        metavar="FILE",
        help="write the demo's access policy (for flexcem broker-config) to FILE and exit",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run the demo; 0 on success."""
    from flexcem.sim.demo import DemoScenario, Mode, demo_policy, run_demo_day
    from flexcem.sim.demo_report import comparison_lines, summary, write_plot, write_summary

    if args.write_policy is not None:
        demo_policy().save(args.write_policy)
        print(f"Wrote the demo's access policy to {args.write_policy}.")
        return 0
    if any(uri.startswith("mqtts://") for uri in args.bus) and args.pki is None:
        print("flexcem demo: mqtts:// needs --pki DIR with the identities' certificates", file=sys.stderr)
        return 2
    options: dict[str, Any] = {
        "wire": None if args.wire == "none" else args.wire,
        "critical_peak": not args.no_critical_peak,
    }
    if args.day is not None:
        options["day"] = args.day
    if args.bus:
        options["bus"] = tuple(args.bus)
        options["pki"] = args.pki
    scenario = DemoScenario(**options)
    began = time.perf_counter()
    if not args.quiet:
        print(
            f"flexcem demo: {scenario.day:%A %d %B %Y}, one home in {scenario.timezone}, "
            f"import limit {scenario.site_import_limit_w / 1000:.0f} kW, messages in {args.wire}\n"
        )
    planned = run_demo_day(scenario, Mode.PLANNED, echo=None if args.quiet else print)
    at_once = run_demo_day(scenario, Mode.AT_ONCE)
    for line in comparison_lines(scenario, planned, at_once):
        print(line)
    args.out.mkdir(parents=True, exist_ok=True)
    write_summary(args.out / "summary.json", summary(scenario, planned, at_once))
    write_plot(args.out / "demo.png", scenario, planned, at_once)
    print(f"\nWrote {args.out / 'summary.json'} and {args.out / 'demo.png'} ({time.perf_counter() - began:.1f} s).")
    return 0
