"""``flexcem broker-config``: the Mosquitto configuration and deny-by-default ACL of an access policy.

``flexcem broker-config --policy POLICY.toml --out DIR --port 8883 --host 0.0.0.0 --pki PKI`` writes
``DIR/mosquitto.conf`` and ``DIR/acl`` (TLS only, client certificate required, identity = certificate CN);
without ``--pki`` the listener is plain TCP for development. Start the broker with
``mosquitto -c DIR/mosquitto.conf``.

``flexcem broker-config --policy POLICY.toml --out DIR --reload PID`` only rewrites ``DIR/acl`` and sends the
running broker SIGHUP: that is how a change of group membership (or the removal of an identity) reaches it
without dropping connections. The same signal makes Mosquitto re-read the revocation list.

The policy is an :class:`~flexcem.bus.access.AccessPolicy` in TOML or JSON (``docs/examples/access-policy.toml``);
a bad one is refused with the field at fault and status 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from flexcem.bus.access import AccessPolicy
from flexcem.bus.broker_config import DEFAULT_MAX_PACKET_BYTES, acl_text, reload_broker, write_acl, write_broker_config
from flexcem.bus.pki import PkiError, certificates

__all__ = ["EXIT_BAD_INPUT", "add_parser", "load_policy", "run"]

EXIT_BAD_INPUT = 2


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port must be 1-65535, not {value}")
    return value


def _pid(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a process id") from None
    if value <= 1:
        raise argparse.ArgumentTypeError(f"{value} is not the process id of a broker")
    return value


def add_parser(commands: Any) -> None:
    """Register the ``broker-config`` sub-command."""
    parser = commands.add_parser(
        "broker-config",
        help="write mosquitto.conf and the deny-by-default ACL for an access policy; reload a running broker",
        description=__doc__.splitlines()[0] if __doc__ else None,
    )
    parser.add_argument("--policy", type=Path, required=True, metavar="POLICY", help="access policy, .toml or .json")
    parser.add_argument("--out", type=Path, required=True, metavar="DIR", help="directory for mosquitto.conf and acl")
    parser.add_argument("--port", type=_port, metavar="N", help="listener port (8883 is MQTT over TLS)")
    parser.add_argument("--host", default="127.0.0.1", help="listener address (default 127.0.0.1; 0.0.0.0 for all)")
    parser.add_argument("--pki", type=Path, metavar="DIR", help="PKI made by 'flexcem pki init'; without it: no TLS")
    parser.add_argument("--server-name", default="broker", help="the broker's certificate in the PKI (default broker)")
    parser.add_argument(
        "--max-packet-bytes",
        type=int,
        default=DEFAULT_MAX_PACKET_BYTES,
        metavar="N",
        help=f"largest MQTT packet accepted (default {DEFAULT_MAX_PACKET_BYTES})",
    )
    parser.add_argument("--run-as", metavar="USER", help="user Mosquitto runs as (default: its own 'mosquitto')")
    parser.add_argument(
        "--reload",
        type=_pid,
        metavar="PID",
        help="only rewrite the ACL and send SIGHUP to the running broker PID (membership changed, CRL rewritten)",
    )
    parser.set_defaults(run=run)


def load_policy(path: Path) -> AccessPolicy | list[str]:
    """The policy in ``path``, or the lines (one per error, naming the field) saying why it cannot be used."""
    try:
        return AccessPolicy.load(path)
    except OSError as error:
        return [f"cannot read {path}: {error.strerror or error}"]
    except ValidationError as error:
        lines = []
        for item in error.errors():
            location = ".".join(str(part) for part in item["loc"]) or "(policy)"
            lines.append(f"{path}: {location}: {item['msg']}")
        return lines
    except ValueError as error:  # syntax: the message already names the file, line and column
        return [str(error)]


def _check_pki(pki: Path, server_name: str, policy: AccessPolicy) -> tuple[list[str], list[str]]:
    """Errors (missing files) and warnings (identities without a valid certificate) for ``pki``."""
    needed = [
        pki / "ca.crt",
        pki / "crl.pem",
        pki / "server" / f"{server_name}.crt",
        pki / "server" / f"{server_name}.key",
    ]
    missing = [str(path) for path in needed if not path.is_file()]
    if missing:
        return [f"--pki {pki}: missing {', '.join(missing)} (make it with 'flexcem pki init')"], []
    try:
        valid = {record.common_name for record in certificates(pki) if record.kind == "client" and not record.revoked}
    except PkiError as error:
        return [f"--pki {pki}: {error}"], []
    without = [identity.id for identity in policy.identities if identity.id not in valid]
    if not without:
        return [], []
    shown = " ".join(without[:10]) + (" ..." if len(without) > 10 else "")
    return [], [f"warning: {len(without)} identities have no valid certificate: flexcem pki issue {pki} {shown}"]


def run(args: argparse.Namespace) -> int:
    """Write the configuration (or reload the ACL); 0 on success, 2 with a message on stderr on bad input."""
    policy = load_policy(args.policy)
    if isinstance(policy, list):
        for line in policy:
            print(f"flexcem broker-config: {line}", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        lines = _reload(args, policy) if args.reload is not None else _write(args, policy)
    except (_Refused, OSError, ValueError) as error:
        print(f"flexcem broker-config: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    for line in lines:
        print(line)
    return 0


class _Refused(Exception):
    """Bad input found by this command."""


def _check_broker_process(pid: int) -> None:
    """Refuse a PID that is not a running Mosquitto: SIGHUP ends most other programs."""
    comm = Path(f"/proc/{pid}/comm")
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        raise _Refused(f"--reload {pid}: no such process") from None
    except PermissionError:
        raise _Refused(f"--reload {pid}: not allowed to signal that process (run as its user)") from None
    if comm.is_file() and "mosquitto" not in (name := comm.read_text(encoding="utf-8").strip()):
        raise _Refused(f"--reload {pid}: process {pid} is {name!r}, not mosquitto")


def _reload(args: argparse.Namespace, policy: AccessPolicy) -> list[str]:
    out: Path = args.out
    if not (out / "mosquitto.conf").is_file():
        raise _Refused(f"{out} holds no broker configuration; write it first (without --reload)")
    _check_broker_process(args.reload)
    write_acl(policy, out / "acl")
    reload_broker(args.reload)
    return [
        f"{out / 'acl'} rewritten ({len(policy.identities)} identities); "
        f"broker {args.reload} re-reads it and the revocation list (SIGHUP)"
    ]


def _write(args: argparse.Namespace, policy: AccessPolicy) -> list[str]:
    if args.port is None:
        raise _Refused("--port is required (unless --reload PID)")
    if args.max_packet_bytes <= 0:
        raise _Refused(f"--max-packet-bytes must be positive, not {args.max_packet_bytes}")
    warnings: list[str] = []
    if args.pki is not None:
        errors, warnings = _check_pki(args.pki, args.server_name, policy)
        if errors:
            raise _Refused("; ".join(errors))
    files = write_broker_config(
        policy,
        args.out,
        port=args.port,
        host=args.host,
        pki=args.pki,
        server_name=args.server_name,
        max_packet_bytes=args.max_packet_bytes,
        run_as=args.run_as,
    )
    for warning in warnings:
        print(warning, file=sys.stderr)
    rules = sum(line.startswith("topic ") for line in acl_text(policy).splitlines())
    security = f"mutual TLS with {args.pki}" if args.pki is not None else "NO TLS (development only)"
    return [
        f"wrote {files.config} and {files.acl}: {len(policy.identities)} identities, {rules} ACL rules, {security}",
        f"start: mosquitto -c {files.config}",
    ]
