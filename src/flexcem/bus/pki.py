"""The SG CP's certificates: one CA, the broker's server certificate, one client certificate per identity.

TR §3.3 asks that "resources shall have a unique, trusted identity" and that "communication shall be
encrypted and authenticated from both sides". flexcem meets it with mutual TLS against a private CA made here
(library ``cryptography``): the broker requires a client certificate signed by the CA and not on its
revocation list, and takes the certificate's CN — the identity id of :mod:`flexcem.bus.access` — as the MQTT
username its access-control list is written for.

Layout of a PKI directory (``flexcem pki init DIR``)::

    ca.crt  ca.key (0600)          the CA (ECDSA P-256, CA:true, keyCertSign + cRLSign)
    crl.pem                        the revocation list, signed by the CA, rewritten on every revocation
    index.json                     every certificate issued: serial, CN, kind, validity, revocation
    server/{name}.crt|key          the broker's certificate (serverAuth, DNS and IP SANs)
    clients/{id}.crt|key           one per identity (clientAuth, CN = id); a revoked one stays until re-issued

ECDSA P-256 keeps certificates small and TLS handshakes cheap, which matters when thousands of endpoints
reconnect at once after a broker restart. Only ``ca.crt``, ``crl.pem`` and ``server/`` are needed on the
broker; ``ca.key`` belongs on the machine that issues certificates. Every operation holds the directory's lock,
so concurrent ``flexcem pki`` runs never lose an index entry.

>>> init_pki(directory)                                   # doctest: +SKIP
>>> credentials = issue_client(directory, "cem-0001")     # doctest: +SKIP
>>> revoke(directory, "cem-0001")                         # doctest: +SKIP
"""

from __future__ import annotations

import shutil
import ssl
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID
from pydantic import TypeAdapter, ValidationError

from flexcem.bus.pki_store import (
    INDEX_FILE,
    CertificateRecord,
    Index,
    Kind,
    PkiError,
    locked,
    write_private,
    write_public,
)
from flexcem.bus.pki_x509 import (
    CertificateAuthority,
    ca_certificate,
    certificate_pem,
    crl_pem,
    general_name,
    key_pem,
    leaf_certificate,
    load_private_key,
    new_key,
    now,
)
from flexcem.model import Identifier

__all__ = [
    "CA_DAYS",
    "CLIENT_DAYS",
    "CRL_DAYS",
    "SERVER_DAYS",
    "CertificateRecord",
    "ClientCredentials",
    "PkiError",
    "certificates",
    "client_credentials",
    "client_ssl_context",
    "init_pki",
    "issue_client",
    "issue_clients",
    "issue_server",
    "refresh_crl",
    "revoke",
]

CA_DAYS = 3650
"""Lifetime of the CA [days]: ten years; every certificate it signs ends with it at the latest."""
SERVER_DAYS = 825
"""Lifetime of a broker certificate [days] (about 27 months)."""
CLIENT_DAYS = 730
"""Lifetime of a client certificate [days]: two years, renewed with ``flexcem pki issue --reissue``."""
CRL_DAYS = 365
"""How long a revocation list is valid [days] (its nextUpdate). Every revocation rewrites it; a PKI with no
revocation for a year needs ``flexcem pki crl DIR`` before it runs out, or the broker refuses every client."""

_IDENTIFIER: TypeAdapter[str] = TypeAdapter(Identifier)
_RESERVED = {"all", "grp"}


@dataclass(frozen=True)
class ClientCredentials:
    """What one client needs for mutual TLS: the CA to check the broker with, its certificate and its key."""

    ca_file: Path
    cert_file: Path
    key_file: Path


def _ca_file(directory: Path) -> Path:
    return directory / "ca.crt"


def _client_paths(directory: Path, identity_id: str) -> tuple[Path, Path]:
    return directory / "clients" / f"{identity_id}.crt", directory / "clients" / f"{identity_id}.key"


def _check_identifier(value: str, what: str) -> str:
    try:
        _IDENTIFIER.validate_python(value)
    except ValidationError:
        raise PkiError(
            f"{what} {value!r} is not a valid identifier: 1-64 characters from [A-Za-z0-9_.-], "
            "starting with a letter or digit"
        ) from None
    if value in _RESERVED:
        raise PkiError(f"{what} {value!r} is reserved (it names broadcasts and groups in addresses)")
    return value


def _check_days(days: int) -> None:
    if days <= 0:
        raise PkiError(f"days must be positive, not {days}")


def _check_hosts(hosts: Sequence[str]) -> tuple[str, ...]:
    if isinstance(hosts, str):  # a lone string would otherwise become one host per character
        hosts = (hosts,)
    if not hosts:
        raise PkiError("a server certificate needs at least one host (DNS name or IP address)")
    for host in hosts:
        general_name(host)
    return tuple(hosts)


def _require_pki(directory: Path) -> None:
    missing = [name for name in ("ca.crt", "ca.key", "crl.pem", INDEX_FILE) if not (directory / name).exists()]
    if missing:
        raise PkiError(
            f"{directory} is not a flexcem PKI (missing {', '.join(missing)}); create one with 'flexcem pki init'"
        )


def _load_ca(directory: Path) -> CertificateAuthority:
    certificate = x509.load_pem_x509_certificate(_ca_file(directory).read_bytes())
    key_path = directory / "ca.key"
    return certificate, load_private_key(key_path.read_bytes(), str(key_path))


def _new_serial(taken: set[int]) -> int:
    while True:
        serial = x509.random_serial_number()
        if serial not in taken:
            taken.add(serial)
            return serial


def _record(certificate: x509.Certificate, common_name: str, kind: Kind) -> CertificateRecord:
    return CertificateRecord(
        serial=certificate.serial_number,
        common_name=common_name,
        kind=kind,
        not_before=certificate.not_valid_before_utc,
        not_after=certificate.not_valid_after_utc,
    )


def _write_crl(directory: Path, index: Index, ca: CertificateAuthority, days: int = CRL_DAYS) -> None:
    """Sign and write ``crl.pem`` listing every revoked certificate; the index's CRL number goes up by one."""
    index.crl_number += 1
    write_public(directory / "crl.pem", crl_pem(ca, index.revoked(), index.crl_number, days))


def _retire(record: CertificateRecord, reason: x509.ReasonFlags) -> None:
    """Mark ``record`` revoked (its files stay where they are until a re-issue replaces them)."""
    record.revoked_at = now()
    record.reason = reason.value


def _issue_server(
    directory: Path, index: Index, ca: CertificateAuthority, name: str, hosts: Sequence[str], days: int
) -> tuple[Path, Path]:
    key = new_key()
    serial = _new_serial(index.serials())
    certificate = leaf_certificate(ca, key, name, serial, days, ExtendedKeyUsageOID.SERVER_AUTH, hosts)
    (directory / "server").mkdir(exist_ok=True)
    certificate_path, key_path = directory / "server" / f"{name}.crt", directory / "server" / f"{name}.key"
    write_private(key_path, key_pem(key))
    write_public(certificate_path, certificate_pem(certificate))
    index.certificates.append(_record(certificate, name, "server"))
    return certificate_path, key_path


def init_pki(
    directory: Path,
    *,
    ca_name: str = "flexcem CA",
    server_name: str = "broker",
    server_hosts: Sequence[str] = ("localhost", "127.0.0.1"),
    days: int = CA_DAYS,
    force: bool = False,
) -> None:
    """Create a CA (valid ``days``), an empty revocation list and the broker's certificate in ``directory``.

    An existing PKI is refused unless ``force``, which replaces it and every credential it issued.
    """
    _check_days(days)
    _check_identifier(server_name, "server name")
    hosts = _check_hosts(server_hosts)
    existing = [name for name in ("ca.crt", "ca.key", INDEX_FILE, "crl.pem") if (directory / name).exists()]
    if existing and not force:
        raise PkiError(f"{directory} already holds a PKI ({', '.join(existing)}); use --force to replace it")
    key = new_key()
    certificate = ca_certificate(key, ca_name, days)
    directory.mkdir(parents=True, exist_ok=True)
    with locked(directory):
        if existing:
            for sub in ("clients", "server"):
                shutil.rmtree(directory / sub, ignore_errors=True)
        write_private(directory / "ca.key", key_pem(key))
        write_public(_ca_file(directory), certificate_pem(certificate))
        (directory / "clients").mkdir(exist_ok=True)
        index = Index(certificates=[_record(certificate, ca_name, "ca")])
        _write_crl(directory, index, (certificate, key))
        _issue_server(directory, index, (certificate, key), server_name, hosts, min(days, SERVER_DAYS))
        index.save(directory)


def issue_server(directory: Path, name: str, hosts: Sequence[str], *, days: int = SERVER_DAYS) -> tuple[Path, Path]:
    """Issue (or renew) the certificate of broker ``name`` for ``hosts`` (DNS names and IP addresses).

    Returns the certificate and key paths. A previous certificate of the same name is revoked as superseded.
    """
    _check_identifier(name, "server name")
    _check_days(days)
    hosts = _check_hosts(hosts)
    _require_pki(directory)
    with locked(directory):
        index = Index.load(directory)
        ca = _load_ca(directory)
        previous = index.current("server", name)
        if previous is not None:
            _retire(previous, x509.ReasonFlags.superseded)
        paths = _issue_server(directory, index, ca, name, hosts, days)
        if previous is not None:
            _write_crl(directory, index, ca)
        index.save(directory)
        return paths


def issue_clients(
    directory: Path, identity_ids: Sequence[str], *, days: int = CLIENT_DAYS, reissue: bool = False
) -> list[ClientCredentials]:
    """Issue one client certificate per id (CN = id, clientAuth, a fresh random serial): all or none.

    An id that already holds a valid certificate is refused, unless ``reissue``: then its old certificate is
    revoked (superseded) and the revocation list rewritten. One batch loads and saves the index once, which is
    what makes issuing thousands fast.
    """
    if isinstance(identity_ids, str):
        identity_ids = (identity_ids,)
    _check_days(days)
    ids = [_check_identifier(identity_id, "identity id") for identity_id in identity_ids]
    if not ids:
        raise PkiError("no identity id given")
    duplicates = sorted(identity_id for identity_id, count in Counter(ids).items() if count > 1)  # linear
    if duplicates:
        raise PkiError(f"identity id {', '.join(duplicates)} given more than once")
    _require_pki(directory)
    with locked(directory):
        index = Index.load(directory)
        current = {  # the valid certificate of each client identity: one pass, not one per id
            record.common_name: record
            for record in index.certificates
            if record.kind == "client" and not record.revoked
        }
        held = [current[identity_id] for identity_id in ids if identity_id in current]
        if held and not reissue:
            names = ", ".join(record.common_name for record in held)
            raise PkiError(
                f"{names} already {'has' if len(held) == 1 else 'have'} a valid certificate; "
                "revoke it first or ask for a re-issue (--reissue)"
            )
        ca = _load_ca(directory)
        for record in held:
            _retire(record, x509.ReasonFlags.superseded)
        taken = index.serials()
        issued = []
        (directory / "clients").mkdir(exist_ok=True)
        for identity_id in ids:
            key = new_key()
            serial = _new_serial(taken)
            certificate = leaf_certificate(ca, key, identity_id, serial, days, ExtendedKeyUsageOID.CLIENT_AUTH)
            certificate_path, key_path = _client_paths(directory, identity_id)
            write_private(key_path, key_pem(key))
            write_public(certificate_path, certificate_pem(certificate))
            index.certificates.append(_record(certificate, identity_id, "client"))
            issued.append(ClientCredentials(_ca_file(directory), certificate_path, key_path))
        if held:
            _write_crl(directory, index, ca)
        index.save(directory)
        return issued


def issue_client(
    directory: Path, identity_id: str, *, days: int = CLIENT_DAYS, reissue: bool = False
) -> ClientCredentials:
    """Issue the client certificate of ``identity_id`` (see :func:`issue_clients`)."""
    return issue_clients(directory, [identity_id], days=days, reissue=reissue)[0]


def client_credentials(directory: Path, identity_id: str) -> ClientCredentials:
    """The credentials issued to ``identity_id``; :class:`PkiError` when it holds no valid (unrevoked) one."""
    _check_identifier(identity_id, "identity id")
    _require_pki(directory)
    certificate_path, key_path = _client_paths(directory, identity_id)
    index = Index.load(directory)
    if index.current("client", identity_id) is None:
        state = "was revoked" if index.history("client", identity_id) else "was never issued"
        raise PkiError(f"no valid certificate for {identity_id} in {directory}: it {state}")
    if not certificate_path.exists() or not key_path.exists():
        raise PkiError(f"the certificate or key of {identity_id} is missing from {directory / 'clients'}")
    return ClientCredentials(_ca_file(directory), certificate_path, key_path)


def revoke(directory: Path, identity_id: str, reason: x509.ReasonFlags = x509.ReasonFlags.key_compromise) -> None:
    """Revoke the valid client certificate of ``identity_id`` and rewrite the revocation list.

    Mosquitto 2.0 reads the list when it starts and again on SIGHUP (``flexcem broker-config --reload``);
    a connection already open stays open until the identity leaves the ACL too (``docs/security.md``).
    """
    _check_identifier(identity_id, "identity id")
    _require_pki(directory)
    with locked(directory):
        index = Index.load(directory)
        record = index.current("client", identity_id)
        if record is None:
            if index.history("client", identity_id):
                raise PkiError(f"{identity_id} has no valid certificate to revoke (already revoked)")
            raise PkiError(f"unknown identity {identity_id}: no certificate was issued for it in {directory}")
        _retire(record, reason)
        _write_crl(directory, index, _load_ca(directory))
        index.save(directory)


def refresh_crl(directory: Path, *, days: int = CRL_DAYS) -> Path:
    """Sign the revocation list again, valid ``days`` from now; returns its path."""
    _check_days(days)
    _require_pki(directory)
    with locked(directory):
        index = Index.load(directory)
        _write_crl(directory, index, _load_ca(directory), days)
        index.save(directory)
    return directory / "crl.pem"


def certificates(directory: Path) -> list[CertificateRecord]:
    """Every certificate the PKI in ``directory`` issued, oldest first."""
    _require_pki(directory)
    return Index.load(directory).certificates


def client_ssl_context(credentials: ClientCredentials) -> ssl.SSLContext:
    """A TLS ≥ 1.2 client context: the broker checked against the CA and its host name, our certificate shown."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(credentials.ca_file))
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(str(credentials.cert_file), str(credentials.key_file))
    return context
