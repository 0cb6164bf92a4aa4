"""``flexcem grid``: the grid server as a service, and its API tokens.

``flexcem grid serve --db URL [--schema S] --bus URL --http HOST:PORT --tokens FILE`` opens the store
(``sqlite:///flexcem-grid.db`` by default; ``postgresql+psycopg://…`` with ``--schema``), connects to the bus
(``memory://``, ``mqtt://host:port``, ``mqtts://host:port`` with ``--pki``), and serves the operator API and
dashboard on ``HOST:PORT`` in the same event loop. SIGTERM or SIGINT stop it cleanly: the HTTP server
finishes, the programs stop, the bus link closes (presence offline), the store is released. A kill -9 loses
nothing stored: start it again on the same database.

When ``--tokens FILE`` has no token yet, an ``admin`` token is issued and its secret printed once on stderr.

``flexcem grid token --tokens FILE --name NAME --role viewer|operator|admin`` issues a token and prints its
secret; ``--revoke NAME`` removes one.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path
from typing import Any

from flexcem.store import DEFAULT_URL

__all__ = ["EXIT_BAD_INPUT", "add_parser", "parse_http", "run_serve", "run_token"]

EXIT_BAD_INPUT = 2


def parse_http(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``:PORT`` means 127.0.0.1) as a pair; :class:`argparse.ArgumentTypeError` otherwise."""
    host, _, port = text.rpartition(":")
    try:
        number = int(port)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not HOST:PORT") from None
    if not 0 <= number <= 65535:
        raise argparse.ArgumentTypeError(f"port must be 0-65535, not {number}")
    return (host.strip("[]") or "127.0.0.1", number)


def add_parser(commands: Any) -> None:
    """Register the ``grid`` sub-command (``serve``, ``token``)."""
    parser = commands.add_parser("grid", help="the grid server: HTTP API, dashboard, programs over a store and a bus",
                                 description=__doc__.splitlines()[0] if __doc__ else None)
    actions = parser.add_subparsers(dest="grid_command", required=True, metavar="ACTION")
    serve = actions.add_parser("serve", help="run the grid server")
    serve.add_argument("--db", default=DEFAULT_URL, help=f"store URL (default {DEFAULT_URL})")
    serve.add_argument("--schema", help="PostgreSQL schema for the tables")
    serve.add_argument("--bus", default="memory://", help="memory://, mqtt://host:port or mqtts://host:port")
    serve.add_argument("--pki", type=Path, metavar="DIR", help="PKI directory for mqtts:// (client certificates)")
    serve.add_argument("--http", type=parse_http, default=("127.0.0.1", 8700), metavar="HOST:PORT",
                       help="where the API and dashboard listen (default 127.0.0.1:8700)")
    serve.add_argument("--tokens", type=Path, required=True, metavar="FILE", help="token file (JSON, hashed)")
    serve.add_argument("--domain", default="grid", help="the grid's domain (default grid)")
    serve.add_argument("--name", default="dso", help="the server's endpoint id (default dso: address grid/dso)")
    serve.add_argument("--ack-timeout-s", type=float, default=5.0, help="wait per unicast attempt [s]")
    serve.add_argument("--feedback-grace-s", type=float, default=3600.0,
                       help="how long after an event's end its feedback is due [s] (default 3600)")
    serve.add_argument("--policy", type=Path, metavar="FILE",
                       help="access policy (JSON) of the broker: groups added through the API are written into it")
    serve.add_argument("--acl", type=Path, metavar="FILE",
                       help="the broker's ACL file (broker-config --out DIR: DIR/acl), regenerated with --policy")
    serve.add_argument("--broker-pid", type=int, metavar="PID", help="Mosquitto's process id: reloaded (SIGHUP) "
                       "when the ACL changes")
    serve.add_argument("--log-level", default="info", choices=("debug", "info", "warning", "error"))
    serve.set_defaults(run=run_serve)
    token = actions.add_parser("token", help="issue or revoke an API token")
    token.add_argument("--tokens", type=Path, required=True, metavar="FILE")
    token.add_argument("--name", help="the token's name")
    token.add_argument("--role", choices=("viewer", "operator", "admin"), default="viewer")
    token.add_argument("--revoke", metavar="NAME", help="remove token NAME")
    token.set_defaults(run=run_token)


def run_token(args: argparse.Namespace) -> int:
    """Issue (print the secret) or revoke a token."""
    from flexcem.web.auth import TokenBook

    try:
        book = TokenBook.load(args.tokens)
        if args.revoke:
            if not book.revoke(args.revoke):
                print(f"no token {args.revoke!r} in {args.tokens}", file=sys.stderr)
                return EXIT_BAD_INPUT
            return 0
        if not args.name:
            print("--name: give the token's name", file=sys.stderr)
            return EXIT_BAD_INPUT
        print(book.issue(args.name, args.role))
    except (ValueError, OSError) as error:
        print(f"--tokens: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return 0


def run_serve(args: argparse.Namespace) -> int:
    """Run the grid server until SIGTERM or SIGINT."""
    from flexcem.web.auth import TokenBook

    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        tokens = TokenBook.load(args.tokens)
        if not tokens.entries():
            secret = tokens.issue("admin", "admin")
            print(f"issued admin token (shown once, stored hashed in {args.tokens}): {secret}", file=sys.stderr)
    except (ValueError, OSError) as error:
        print(f"--tokens: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        return asyncio.run(_serve(args, tokens))
    except _BadInput as error:
        print(str(error), file=sys.stderr)
        return EXIT_BAD_INPUT


class _BadInput(Exception):
    pass


async def _serve(args: argparse.Namespace, tokens: Any) -> int:
    from datetime import timedelta

    from flexcem.grid.broker_acl import BrokerAcl
    from flexcem.grid.server import GridServer, OperatorError
    from flexcem.web.grid_app import create_grid_app
    from flexcem.web.serving import embedded_server

    broker_acl = None
    if args.policy is not None or args.acl is not None:
        if args.policy is None or args.acl is None:
            raise _BadInput("--policy and --acl go together (the ACL is generated from the policy)")
        try:
            broker_acl = BrokerAcl(args.policy, args.acl, args.broker_pid)
        except (OSError, ValueError) as error:
            raise _BadInput(f"--policy {args.policy}: {error}") from None
    try:
        server = GridServer.open(
            args.db, schema=args.schema, bus=args.bus, pki=args.pki, domain=args.domain, name=args.name,
            ack_timeout_s=args.ack_timeout_s, feedback_grace=timedelta(seconds=args.feedback_grace_s),
            broker_acl=broker_acl,
        )
    except OperatorError as error:
        raise _BadInput(f"--{error.field or 'db'}: {error}") from None
    except Exception as error:  # a bad URL, an unreachable database
        raise _BadInput(f"--db {args.db}: {error}") from None
    try:
        await server.start()
    except Exception as error:
        server.close()
        raise _BadInput(f"--bus {args.bus}: {error}") from None
    host, port = args.http
    http = embedded_server(create_grid_app(server, tokens), host, port, log_level=args.log_level)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, http.stop)
    try:
        await http.serve()
    finally:
        await server.stop()
        server.close()
        logging.getLogger("flexcem.grid.server").info("grid server %s stopped", server.address)
    return 0
