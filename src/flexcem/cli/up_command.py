"""``flexcem up``: a grid server, a CEM and a simulated home on this machine, with both dashboards."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from datetime import date
from pathlib import Path
from typing import Any

__all__ = ["add_parser", "run"]


def add_parser(commands: Any) -> None:
    """Register the ``up`` sub-command."""
    parser = commands.add_parser(
        "up",
        help="run a grid server, a CEM and a simulated home here, with both dashboards",
        description="Start a grid server (operator API and dashboard), a household's CEM (API and dashboard) and "
        "a simulated home with PV, battery, heat pump, EV, washer and dishwasher on the real CityLearn data, all "
        "in this process on the in-process bus with SQLite files in --dir. The clock runs --speed times real "
        "time. Stop with Ctrl-C; run again on the same --dir to continue with what was stored.",
    )
    parser.add_argument("--dir", type=Path, default=Path("flexcem-up"), help="state directory (default flexcem-up)")
    parser.add_argument("--host", default="127.0.0.1", help="address both HTTP servers listen on")
    parser.add_argument("--grid-port", type=int, default=8300, help="grid dashboard and API port (default 8300)")
    parser.add_argument("--cem-port", type=int, default=8301, help="household dashboard and API port (default 8301)")
    parser.add_argument(
        "--speed", type=float, default=60.0, help="clock seconds per real second (default 60: a day in 24 minutes)"
    )
    parser.add_argument(
        "--day", type=date.fromisoformat, default=date(2021, 7, 20), help="first day of the data (default 2021-07-20)"
    )
    parser.add_argument("--days", type=int, default=7, help="days of data to play (default 7)")
    parser.add_argument(
        "--for", dest="run_for", type=float, default=None, metavar="SECONDS", help="stop after SECONDS of real time"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run until Ctrl-C, SIGTERM or ``--for`` seconds; the exit code."""
    from flexcem.sim.local_site import LocalSite, LocalSiteOptions

    for name, value, low in (("--speed", args.speed, 0.0), ("--days", args.days, 0)):
        if not value > low:
            print(f"flexcem up: {name} must be positive, got {value}", file=sys.stderr)
            return 2
    options = LocalSiteOptions(
        directory=args.dir, host=args.host, grid_port=args.grid_port, cem_port=args.cem_port, speed=args.speed,
        day=args.day, days=args.days,
    )

    async def main() -> None:
        site = LocalSite(options, echo=lambda text: print(text, flush=True))
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        links = await site.start()
        print("\n".join(links.lines()), flush=True)
        print(f"the clock runs {options.speed:g}× real time from {site.clock.now():%Y-%m-%d %H:%M %Z}; Ctrl-C stops",
              flush=True)
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=args.run_for)
        finally:
            await site.stop()

    try:
        asyncio.run(main())
    except OSError as error:  # a port in use
        print(f"flexcem up: {error}", file=sys.stderr)
        return 1
    return 0
