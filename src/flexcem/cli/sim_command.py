"""``flexcem sim run | prepare``: simulate a neighbourhood, in-process or over a broker.

* ``flexcem sim run SCENARIO.toml --out DIR [--workers N] [--bus mqtt://HOST:PORT] [--no-signal-effect]
  [--quiet]`` runs the scenario and writes the report;
* over a secured broker: ``flexcem sim run SCENARIO.toml --out DIR --bus mqtts://HOST:PORT --pki PKI
  [--policy PREPARED/policy.json]``, every endpoint connecting with its own certificate from ``PKI``;
* ``flexcem sim prepare SCENARIO.toml --pki PKI --out PREPARED [--workers N]`` issues those certificates and
  writes the access policy for ``flexcem broker-config --policy PREPARED/policy.json --pki PKI``.

See ``docs/simulation.md``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

__all__ = ["add_parser", "run"]

EXIT_BAD_INPUT = 2
EXIT_CONNECT = 1
"""An endpoint could not connect to the broker (refused, TLS handshake failed, unreachable)."""
_SHOWN = 5
"""Endpoints named at most in one error message (the count says how many more)."""


def add_parser(commands: Any) -> None:
    """Register the ``sim`` sub-command."""
    parser = commands.add_parser(
        "sim",
        help="simulate a neighbourhood of homes from a scenario file (KPIs and a report)",
        description="Simulate the homes of a scenario with their CEMs, devices and the grid's signals, again "
        "without control and (when it has grid signals) under control without them; write summary.json, CSV time "
        "series and report.html. Over a secured broker, 'sim prepare' first issues the endpoints' certificates "
        "and writes the broker's access policy.",
    )
    actions = parser.add_subparsers(dest="sim_action", required=True, metavar="ACTION")
    run_parser = actions.add_parser(
        "run",
        help="run a scenario",
        description="Run a scenario in-process, over a plain broker (--bus mqtt://HOST:PORT, development) or over a "
        "secured one (--bus mqtts://HOST:PORT --pki PKI: mutual TLS, every endpoint under its own certificate; "
        "prepare them with 'flexcem sim prepare').",
    )
    run_parser.add_argument("scenario", type=Path, help="the scenario file (TOML; see scenarios/)")
    run_parser.add_argument("--out", type=Path, required=True, help="directory for the report")
    run_parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="worker processes (default: one per core); over mqtts:// the number the scenario was prepared for",
    )
    run_parser.add_argument(
        "--bus",
        default=None,
        metavar="URI",
        help="run over an MQTT broker instead of in-process: mqtt://HOST:PORT (anonymous, development) or "
        "mqtts://HOST:PORT (mutual TLS, needs --pki)",
    )
    run_parser.add_argument(
        "--pki",
        type=Path,
        default=None,
        metavar="DIR",
        help="for mqtts://: the PKI directory (flexcem pki init) holding every endpoint's certificate "
        "(flexcem sim prepare)",
    )
    run_parser.add_argument(
        "--policy",
        type=Path,
        default=None,
        metavar="FILE",
        help="for mqtts://: the policy.json written by flexcem sim prepare; checked to grant every endpoint of "
        "this run before it starts (the broker would refuse the rest)",
    )
    run_parser.add_argument(
        "--no-signal-effect",
        action="store_true",
        help="skip the run under control without the grid signals (the scenario's signal_effect = false)",
    )
    run_parser.add_argument("--quiet", action="store_true", help="no progress bar")
    run_parser.set_defaults(run=run)

    prepare_parser = actions.add_parser(
        "prepare",
        help="issue the certificates of a scenario's endpoints and write its access policy (for mqtts://)",
        description="For a run over a secured broker: issue a client certificate (CN = endpoint id) to every "
        "endpoint of the scenario's shards that has no valid one in the PKI, and write OUT/policy.json, the "
        "access policy to give 'flexcem broker-config --policy'. Prepare for the --workers the run will use.",
    )
    prepare_parser.add_argument("scenario", type=Path, help="the scenario file (TOML; see scenarios/)")
    prepare_parser.add_argument(
        "--pki", type=Path, required=True, metavar="DIR", help="the PKI directory (made by 'flexcem pki init')"
    )
    prepare_parser.add_argument("--out", type=Path, required=True, metavar="DIR", help="directory for policy.json")
    prepare_parser.add_argument(
        "--workers", type=int, default=None, help="worker processes of the run (default: one per core)"
    )
    prepare_parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Carry out ``args.sim_action``; 2 with a message on stderr on bad input."""
    from flexcem.sim.scenario import ScenarioError, load_scenario

    if args.workers is not None and args.workers < 1:
        print("--workers: must be at least 1", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        scenario = load_scenario(args.scenario)
    except ScenarioError as error:
        for line, field, message in error.problems:
            print(f"{error.path}:{line if line is not None else '?'}: {field}: {message}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.sim_action == "prepare":
        return _prepare(args, scenario)
    return _run(args, scenario)


def _prepare(args: argparse.Namespace, scenario: Any) -> int:
    from flexcem.bus.pki import PkiError
    from flexcem.sim.secure import prepare

    try:
        prepared = prepare(scenario, args.pki, args.out, workers=args.workers)
    except PkiError as error:
        print(f"flexcem sim prepare: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as error:
        print(f"flexcem sim prepare: {error.filename or args.out}: {error.strerror}", file=sys.stderr)
        return EXIT_BAD_INPUT
    workers = f" --workers {prepared.workers}"
    print(
        f"{scenario.name}: {prepared.identities} endpoints in {prepared.domains} domains ({prepared.workers} shards); "
        f"issued {prepared.issued} certificates in {prepared.issue_s:.2f} s, {prepared.already_valid} already valid"
    )
    print(f"wrote {prepared.policy_file}")
    print(
        f"next: flexcem broker-config --policy {prepared.policy_file} --pki {args.pki} --out BROKER --port 8883\n"
        f"      mosquitto -c BROKER/mosquitto.conf\n"
        f"      flexcem sim run {args.scenario} --bus mqtts://HOST:8883 --pki {args.pki}{workers} "
        f"--policy {prepared.policy_file} --out REPORT"
    )
    return 0


def _named(addresses: list[str]) -> str:
    more = len(addresses) - _SHOWN
    return ", ".join(addresses[:_SHOWN]) + (f" and {more} more" if more > 0 else "")


def _check_secured(args: argparse.Namespace, scenario: Any, signal_effect: bool | None) -> list[str]:
    """Why the run cannot start over ``mqtts://`` (certificates, grants), one line each; empty when it can."""
    from pydantic import ValidationError

    from flexcem.bus.access import AccessPolicy
    from flexcem.bus.pki import PkiError
    from flexcem.sim.runner import plan_shards
    from flexcem.sim.secure import missing_certificates, missing_grants

    if args.pki is None:
        return ["--bus mqtts:// needs --pki DIR with the endpoints' certificates (flexcem sim prepare)"]
    plan = plan_shards(scenario, workers=args.workers, pki=args.pki, signal_effect=signal_effect)
    workers = f" --workers {plan.workers}"
    prepare = f"flexcem sim prepare {args.scenario} --pki {args.pki}{workers} --out DIR"
    try:
        missing = missing_certificates(plan, args.pki)
    except PkiError as error:
        return [f"--pki {args.pki}: {error}"]
    lines = []
    by_reason: dict[str, list[str]] = {}
    for address, why in missing:
        by_reason.setdefault(why, []).append(address)
    for why, addresses in by_reason.items():
        lines.append(f"endpoint {_named(addresses)}: {why}; issue the certificates with: {prepare}")
    if args.policy is not None:
        try:
            policy = AccessPolicy.load(args.policy)
        except (OSError, ValueError, ValidationError) as error:
            return [*lines, f"--policy {args.policy}: {error}"]
        ungranted = missing_grants(plan, policy)
        if ungranted:
            lines.append(
                f"endpoint {_named(ungranted)}: not granted in its domain by {args.policy} (prepared for another "
                f"scenario or number of workers?); prepare again with: {prepare}, then reload the broker's ACL"
            )
    return lines


def _run(args: argparse.Namespace, scenario: Any) -> int:
    from flexcem.sim.progress import ProgressBar
    from flexcem.sim.report import write_report
    from flexcem.sim.runner import run_simulation
    from flexcem.sim.runner_home import HomeConnectError
    from flexcem.sim.runner_shard import EndpointConnectError

    secured = args.bus is not None and args.bus.startswith("mqtts://")
    if not secured and (args.pki is not None or args.policy is not None):
        print("flexcem sim run: --pki and --policy are for --bus mqtts://HOST:PORT", file=sys.stderr)
        return EXIT_BAD_INPUT
    if secured:
        problems = _check_secured(args, scenario, False if args.no_signal_effect else None)
        for line in problems:
            print(f"flexcem sim run: {line}", file=sys.stderr)
        if problems:
            return EXIT_BAD_INPUT
    period = scenario.period
    bar = None if args.quiet else ProgressBar(period.start, period.end, scenario.population.homes)
    effect = False if args.no_signal_effect else None
    try:
        result = run_simulation(
            scenario, workers=args.workers, bus=args.bus, pki=args.pki, progress=bar, signal_effect=effect
        )
    except (EndpointConnectError, HomeConnectError) as error:
        print(f"flexcem sim run: {error}", file=sys.stderr)
        return EXIT_CONNECT
    summary = write_report(result, args.out)
    normalised = summary["kpis"]["normalised"]
    print(f"{scenario.name}: {len(result.homes)} homes, {result.wall_s:.1f} s; report in {args.out}")
    for name, value in normalised.items():
        print(f"  {name:32} {'–' if value is None else f'{value:.3f}'}")
    return 0
