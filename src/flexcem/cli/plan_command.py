"""``flexcem plan INPUT.json [-o PLAN.json]``: plan a home's flexible devices from a JSON problem.

The input is a :class:`~flexcem.planner.PlanningProblem` (schema: ``docs/plan-input.schema.json``), the
output a :class:`~flexcem.planner.Plan` (``docs/plan-output.schema.json``), on stdout unless ``-o`` is given.
Bad input is reported on stderr, one line per error with the field's path, and exits with status 2.

``python -m flexcem.cli.plan_command --write-schemas docs/`` regenerates the published schemas.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from flexcem.planner import Plan, PlanningProblem, solve
from flexcem.planner.schema import schema_files

__all__ = ["EXIT_BAD_INPUT", "add_parser", "format_errors", "main", "run", "write_schemas"]

EXIT_BAD_INPUT = 2


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``plan`` sub-command to ``flexcem``'s sub-parsers."""
    parser = subparsers.add_parser(
        "plan",
        help="plan flexible devices (MILP) from a JSON planning problem",
        description=__doc__.splitlines()[0] if __doc__ else None,
    )
    _arguments(parser)
    parser.set_defaults(run=run)


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", help="planning problem as JSON (see docs/plan-input.schema.json); - for stdin")
    parser.add_argument("-o", "--output", type=Path, help="write the plan to this file (default: stdout)")
    parser.add_argument(
        "--time-limit", type=float, default=10.0, metavar="SECONDS", help="solver time limit (default 10)"
    )
    parser.add_argument("--mip-gap", type=float, default=1e-4, metavar="GAP", help="relative MIP gap (default 1e-4)")


def format_errors(error: ValidationError) -> list[str]:
    """One line per validation error: ``field.path: message``."""
    lines = []
    for item in error.errors():
        location = ".".join(str(part) for part in item["loc"]) or "(problem)"
        lines.append(f"{location}: {item['msg']}")
    return lines


def _read(source: str) -> str:
    if source == "-":
        return sys.stdin.read()
    return Path(source).read_text(encoding="utf-8")


def load_problem(source: str) -> PlanningProblem | list[str]:
    """The problem in ``source`` (a path or -), or the lines describing why it cannot be read."""
    try:
        text = _read(source)
    except OSError as error:
        return [f"cannot read {source}: {error.strerror or error}"]
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError as error:
        return [f"invalid JSON at line {error.lineno}, column {error.colno}: {error.msg}"]
    try:
        return PlanningProblem.model_validate(data)
    except ValidationError as error:
        return format_errors(error)


def run(args: argparse.Namespace) -> int:
    """Plan the problem of ``args.input``; write the plan; 2 on bad input, 0 otherwise."""
    loaded = load_problem(args.input)
    if isinstance(loaded, list):
        name = "stdin" if args.input == "-" else args.input
        for line in loaded:
            print(f"{name}: {line}", file=sys.stderr)
        return EXIT_BAD_INPUT
    plan = solve(loaded, time_limit_s=args.time_limit, mip_rel_gap=args.mip_gap)
    text = plan.model_dump_json(indent=2) + "\n"
    if args.output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text, encoding="utf-8")
        print(_summary(plan, args.output), file=sys.stderr)
    return 0


def _summary(plan: Plan, path: Path) -> str:
    violated = f", {len(plan.violations)} violation(s)" if plan.violations else ""
    return (
        f"plan written to {path}: {len(plan.devices)} device(s), cost {plan.total_cost:.4f} {plan.currency}, "
        f"{plan.status.value}{violated}"
    )


def write_schemas(directory: Path) -> list[Path]:
    """Write the published JSON Schemas into ``directory``; returns the files written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in schema_files().items():
        path = directory / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry: ``python -m flexcem.cli.plan_command INPUT [-o OUT] | --write-schemas DIR``."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["--write-schemas"]:
        if len(arguments) != 2:
            print("usage: python -m flexcem.cli.plan_command --write-schemas DIR", file=sys.stderr)
            return EXIT_BAD_INPUT
        for path in write_schemas(Path(arguments[1])):
            print(f"wrote {path}", file=sys.stderr)
        return 0
    parser = argparse.ArgumentParser(prog="flexcem plan", description=__doc__.splitlines()[0] if __doc__ else None)
    _arguments(parser)
    return run(parser.parse_args(arguments))


if __name__ == "__main__":
    raise SystemExit(main())
