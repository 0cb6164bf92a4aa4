"""``flexcem cem run``: the CEM as a long-running service (docs/cem-service.md).

``flexcem cem run --config home.toml [--bus URL] [--db PATH] [--http HOST:PORT]`` reads the home configuration
(a bad one is refused with the file, line and field, status 2), opens the SQLite store (``--db`` overrides
``store.path``), restores the state it stopped in, joins the bus (``--bus`` overrides ``bus.url``: mqtt://,
mqtts:// or memory://) and runs until SIGTERM or SIGINT; with ``--http`` (or ``http.listen``) it serves the
household API.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from flexcem.cem.config import BusConfig, ConfigError, HttpConfig, load_home_config
from flexcem.cem.service import CemService

__all__ = ["EXIT_BAD_CONFIG", "add_parser", "run"]

EXIT_BAD_CONFIG = 2


def add_parser(commands: Any) -> None:
    """Register ``cem run``."""
    parser = commands.add_parser("cem", help="run the Customer Energy Manager as a service")
    actions = parser.add_subparsers(dest="cem_action", required=True, metavar="ACTION")
    run_parser = actions.add_parser(
        "run", help="run the CEM of a home.toml until stopped", description=__doc__.splitlines()[0] if __doc__ else None
    )
    run_parser.add_argument("--config", type=Path, required=True, metavar="FILE", help="the home configuration")
    run_parser.add_argument("--bus", metavar="URL", help="bus URL (mqtt://, mqtts://, memory://); overrides bus.url")
    run_parser.add_argument("--db", type=Path, metavar="PATH", help="SQLite store; overrides store.path")
    run_parser.add_argument("--http", metavar="HOST:PORT", help="serve the household API; overrides http.listen")
    run_parser.add_argument("--log-level", default="INFO", help="logging level (default INFO)")
    run_parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run the service; 0 after a clean stop, 2 for a bad configuration."""
    try:
        config = load_home_config(args.config)
        if args.bus is not None:
            bus = BusConfig.model_validate({**config.bus.model_dump(), "url": args.bus})
            config = config.model_copy(update={"bus": bus})
    except ConfigError as error:
        print(f"flexcem cem run: {error}", file=sys.stderr)
        return EXIT_BAD_CONFIG
    except ValidationError as error:
        print(f"flexcem cem run: --bus: {error.errors()[0]['msg']}", file=sys.stderr)
        return EXIT_BAD_CONFIG
    if args.http is not None:
        try:
            HttpConfig.model_validate({**config.http.model_dump(), "listen": args.http})
        except ValidationError as error:
            print(f"flexcem cem run: --http: {error.errors()[0]['msg']}", file=sys.stderr)
            return EXIT_BAD_CONFIG
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from flexcem.web.cem_service_http import household_server  # FastAPI only when the service runs

    service = CemService(config, db_path=args.db, http=args.http, http_server=household_server)
    return asyncio.run(_serve(service))


async def _serve(service: CemService) -> int:
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, service.request_stop)
    try:
        cem = await service.start()
    except Exception as error:
        print(f"flexcem cem run: could not start: {error}", file=sys.stderr)
        await service.stop()
        return 1
    print(f"flexcem cem run: {cem.endpoint.address} on {service.bus_url}, store {service.db_path}", flush=True)
    try:
        await service.wait()
    finally:
        await service.stop()
    return 0
