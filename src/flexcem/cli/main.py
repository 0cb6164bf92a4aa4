"""The ``flexcem`` command."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from flexcem import __version__
from flexcem.cli import (
    broker_command,
    cem_command,
    demo_command,
    grid_command,
    pki_command,
    plan_command,
    sim_command,
    up_command,
)

__all__ = ["main"]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every sub-command."""
    parser = argparse.ArgumentParser(
        prog="flexcem",
        description="Reference implementation of IEC TR 62746-2: grid signals, SG CP, CEM and smart devices.",
    )
    parser.add_argument("--version", action="version", version=f"flexcem {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    demo_command.add_parser(commands)
    plan_command.add_parser(commands)
    pki_command.add_parser(commands)
    broker_command.add_parser(commands)
    sim_command.add_parser(commands)
    cem_command.add_parser(commands)
    grid_command.add_parser(commands)
    up_command.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    code: int = args.run(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
