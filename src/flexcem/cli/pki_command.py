"""``flexcem pki init | issue | revoke | crl | list``: the certificates of an SG CP deployment.

* ``flexcem pki init DIR [--server-name broker] [--host H ...]`` makes a CA, an empty revocation list and the
  broker's certificate (for ``localhost`` and ``127.0.0.1`` unless hosts are given);
* ``flexcem pki issue DIR ID [ID ...] [--reissue]`` issues one client certificate per identity (CN = id);
* ``flexcem pki revoke DIR ID [--reason key-compromise]`` revokes one and rewrites ``crl.pem``;
* ``flexcem pki crl DIR`` signs the revocation list again (it is valid for a year);
* ``flexcem pki list DIR`` shows every certificate issued.

Bad input (an invalid id, an existing PKI, an unknown identity, a directory without a PKI) is reported on
stderr and exits with status 2. See ``docs/security.md``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from cryptography import x509

from flexcem.bus.pki import (
    CA_DAYS,
    CLIENT_DAYS,
    CRL_DAYS,
    PkiError,
    certificates,
    init_pki,
    issue_clients,
    refresh_crl,
    revoke,
)

__all__ = ["EXIT_BAD_INPUT", "REASONS", "add_parser", "run"]

EXIT_BAD_INPUT = 2

REASONS = {
    flag.name.replace("_", "-"): flag
    for flag in x509.ReasonFlags
    if flag not in (x509.ReasonFlags.remove_from_crl, x509.ReasonFlags.certificate_hold)
}
"""Revocation reasons accepted by ``flexcem pki revoke --reason`` (RFC 5280 §5.3.1, without holds)."""


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of days") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"days must be positive, not {value}")
    return value


def add_parser(commands: Any) -> None:
    """Register the ``pki`` sub-command and its actions."""
    parser = commands.add_parser(
        "pki",
        help="make the CA, the broker's and the endpoints' certificates; revoke them",
        description="Certificates for mutual TLS on the SG CP: a CA, the broker's server certificate and one "
        "client certificate per identity (CN = identity id = MQTT username). See docs/security.md.",
    )
    actions = parser.add_subparsers(dest="pki_action", required=True, metavar="ACTION")

    init = actions.add_parser("init", help="create a CA, an empty CRL and the broker's certificate in DIR")
    init.add_argument("directory", type=Path, metavar="DIR", help="the PKI directory (created if missing)")
    init.add_argument("--server-name", default="broker", help="name of the broker's certificate (default broker)")
    init.add_argument(
        "--host",
        dest="hosts",
        action="extend",
        nargs="+",
        metavar="H",
        help="DNS name or IP address clients use for the broker; repeatable (default: localhost 127.0.0.1)",
    )
    init.add_argument("--ca-name", default="flexcem CA", help="common name of the CA (default 'flexcem CA')")
    init.add_argument("--days", type=_positive, default=CA_DAYS, help=f"lifetime of the CA (default {CA_DAYS})")
    init.add_argument("--force", action="store_true", help="replace an existing PKI and everything it issued")

    issue = actions.add_parser("issue", help="issue client certificates, one per identity id")
    issue.add_argument("directory", type=Path, metavar="DIR", help="the PKI directory")
    issue.add_argument("ids", nargs="+", metavar="ID", help="identity ids (certificate CN, MQTT username)")
    issue.add_argument("--days", type=_positive, default=CLIENT_DAYS, help=f"lifetime (default {CLIENT_DAYS})")
    issue.add_argument("--reissue", action="store_true", help="replace a valid certificate (the old one is revoked)")

    revoke_action = actions.add_parser("revoke", help="revoke an identity's certificate and rewrite crl.pem")
    revoke_action.add_argument("directory", type=Path, metavar="DIR", help="the PKI directory")
    revoke_action.add_argument("id", metavar="ID", help="identity id")
    revoke_action.add_argument(
        "--reason", choices=sorted(REASONS), default="key-compromise", help="why (default key-compromise)"
    )

    crl = actions.add_parser("crl", help="sign the revocation list again with a fresh validity")
    crl.add_argument("directory", type=Path, metavar="DIR", help="the PKI directory")
    crl.add_argument("--days", type=_positive, default=CRL_DAYS, help=f"validity (default {CRL_DAYS})")

    listing = actions.add_parser("list", help="list every certificate issued")
    listing.add_argument("directory", type=Path, metavar="DIR", help="the PKI directory")

    parser.set_defaults(run=run)


def _reload_hint() -> str:
    return (
        "make the broker re-read it: flexcem broker-config … --reload PID (or kill -HUP PID); "
        "take the identity out of the access policy too to silence a connection that is still open"
    )


def _act(args: argparse.Namespace) -> list[str]:
    directory: Path = args.directory
    if args.pki_action == "init":
        hosts = tuple(args.hosts) if args.hosts else ("localhost", "127.0.0.1")
        init_pki(
            directory,
            ca_name=args.ca_name,
            server_name=args.server_name,
            server_hosts=hosts,
            days=args.days,
            force=args.force,
        )
        return [
            f"PKI created in {directory}: CA {args.ca_name!r} ({directory / 'ca.crt'}), empty {directory / 'crl.pem'}",
            f"broker certificate {directory / 'server' / args.server_name}.crt for {', '.join(hosts)}",
            f"keep {directory / 'ca.key'} off the broker; issue endpoints with: flexcem pki issue {directory} ID ...",
        ]
    if args.pki_action == "issue":
        issued = issue_clients(directory, args.ids, days=args.days, reissue=args.reissue)
        return [f"{identity}: {credentials.cert_file}" for identity, credentials in zip(args.ids, issued, strict=True)]
    if args.pki_action == "revoke":
        revoke(directory, args.id, REASONS[args.reason])
        return [f"revoked {args.id} ({args.reason}); {directory / 'crl.pem'} rewritten", _reload_hint()]
    if args.pki_action == "crl":
        path = refresh_crl(directory, days=args.days)
        return [f"{path} signed again, valid for {args.days} days; {_reload_hint()}"]
    lines = []
    for record in certificates(directory):
        state = f"revoked {record.revoked_at:%Y-%m-%d} ({record.reason})" if record.revoked_at else "valid"
        lines.append(
            f"{record.kind:6} {record.common_name:30} {record.serial:040x} until {record.not_after:%Y-%m-%d}  {state}"
        )
    return lines


def run(args: argparse.Namespace) -> int:
    """Carry out ``args.pki_action``; 0 on success, 2 with a message on stderr on bad input."""
    try:
        lines = _act(args)
    except PkiError as error:
        print(f"flexcem pki {args.pki_action}: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as error:
        print(f"flexcem pki {args.pki_action}: {error.filename or args.directory}: {error.strerror}", file=sys.stderr)
        return EXIT_BAD_INPUT
    for line in lines:
        print(line)
    return 0
