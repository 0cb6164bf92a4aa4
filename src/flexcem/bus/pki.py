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
    clients/{id}.crt|key           one per identity (clientAuth, CN = id)
    clients/revoked/{id}.{serial}.crt|key   credentials taken out of service

ECDSA P-256 keeps certificates small and TLS handshakes cheap, which matters when thousands of endpoints
reconnect at once after a broker restart. Only ``ca.crt``, ``crl.pem`` and ``server/`` are needed on the
broker; ``ca.key`` belongs on the machine that issues certificates.
"""

from __future__ import annotations

import ipaddress
import shutil
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
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
"""Lifetime of a broker certificate [days]."""
CLIENT_DAYS = 730
"""Lifetime of a client certificate [days]: two years, renewed with ``flexcem pki issue --reissue``."""
CRL_DAYS = 365
"""How long a revocation list is valid [days] (its nextUpdate). Every revocation rewrites it; a PKI with no
revocation for a year needs ``flexcem pki crl DIR`` before it runs out, or the broker refuses every client."""
BACKDATE = timedelta(hours=1)
"""Certificates and lists are valid from an hour ago: a device whose clock is a little behind still accepts them."""

_IDENTIFIER: TypeAdapter[str] = TypeAdapter(Identifier)
_RESERVED = {"all", "grp"}


@dataclass(frozen=True)
class ClientCredentials:
    """What one client needs for mutual TLS: the CA to check the broker with, its certificate and its key."""

    ca_file: Path
    cert_file: Path
    key_file: Path


# -- paths and checks --------------------------------------------------------------------------------------


def _ca_paths(directory: Path) -> tuple[Path, Path]:
    return directory / "ca.crt", directory / "ca.key"


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


def _check_days(days: int) -> int:
    if days <= 0:
        raise PkiError(f"days must be positive, not {days}")
    return days


def _require_pki(directory: Path) -> None:
    missing = [name for name in ("ca.crt", "ca.key", INDEX_FILE) if not (directory / name).exists()]
    if missing:
        raise PkiError(
            f"{directory} is not a flexcem PKI (missing {', '.join(missing)}); create one with 'flexcem pki init'"
        )


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


# -- keys and certificates ---------------------------------------------------------------------------------


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _load_ca(directory: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    certificate_path, key_path = _ca_paths(directory)
    certificate = x509.load_pem_x509_certificate(certificate_path.read_bytes())
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise PkiError(f"{key_path} is not an ECDSA key")
    return certificate, key


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [x509.NameAttribute(NameOID.ORGANIZATION_NAME, "flexcem"), x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    )


def _new_serial(taken: set[int]) -> int:
    while True:
        serial = x509.random_serial_number()
        if serial not in taken:
            taken.add(serial)
            return serial


def _leaf(
    ca: tuple[x509.Certificate, ec.EllipticCurvePrivateKey],
    key: ec.EllipticCurvePrivateKey,
    common_name: str,
    serial: int,
    days: int,
    usage: x509.ObjectIdentifier,
    hosts: Sequence[str] = (),
) -> x509.Certificate:
    """A certificate signed by the CA, ending with the CA at the latest."""
    ca_certificate, ca_key = ca
    start = _now() - BACKDATE
    end = min(start + BACKDATE + timedelta(days=days), ca_certificate.not_valid_after_utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(ca_certificate.subject)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
    )
    if hosts:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([_general_name(host) for host in hosts]), critical=False
        )
    return builder.sign(ca_key, hashes.SHA256())


def _general_name(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        pass
    if not host or any(character.isspace() or character in "/\\" for character in host):
        raise PkiError(f"host {host!r} is neither an IP address nor a DNS name")
    return x509.DNSName(host)


def _record(certificate: x509.Certificate, common_name: str, kind: Kind) -> CertificateRecord:
    return CertificateRecord(
        serial=certificate.serial_number,
        common_name=common_name,
        kind=kind,
        not_before=certificate.not_valid_before_utc,
        not_after=certificate.not_valid_after_utc,
    )


def _pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def _write_crl(
    directory: Path, index: Index, ca: tuple[x509.Certificate, ec.EllipticCurvePrivateKey], days: int
) -> None:
    """Sign and write ``crl.pem`` listing every revoked certificate (the index's crl number goes up by one)."""
    ca_certificate, ca_key = ca
    index.crl_number += 1
    now = _now()
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca_certificate.subject)
        .last_update(now - BACKDATE)
        .next_update(now + timedelta(days=days))
        .add_extension(x509.CRLNumber(index.crl_number), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
    )
    for record in index.revoked():
        assert record.revoked_at is not None
        entry = x509.RevokedCertificateBuilder().serial_number(record.serial).revocation_date(record.revoked_at)
        reason = x509.ReasonFlags(record.reason) if record.reason else x509.ReasonFlags.unspecified
        if reason is not x509.ReasonFlags.unspecified:  # RFC 5280 §5.3.1: leave out rather than say unspecified
            entry = entry.add_extension(x509.CRLReason(reason), critical=False)
        builder = builder.add_revoked_certificate(entry.build())
    write_public(directory / "crl.pem", builder.sign(ca_key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM))


def _retire(directory: Path, record: CertificateRecord, reason: x509.ReasonFlags) -> None:
    """Mark ``record`` revoked; move a client's files to ``clients/revoked/``."""
    record.revoked_at = _now()
    record.reason = reason.value
    if record.kind != "client":
        return
    certificate_path, key_path = _client_paths(directory, record.common_name)
    retired = directory / "clients" / "revoked"
    retired.mkdir(exist_ok=True)
    for path in (certificate_path, key_path):
        if path.exists():
            path.replace(retired / f"{record.common_name}.{record.serial:x}{path.suffix}")


# -- public API ----------------------------------------------------------------------------------------------


def init_pki(
    directory: Path,
    *,
    ca_name: str = "flexcem CA",
    server_name: str = "broker",
    server_hosts: Sequence[str] = ("localhost", "127.0.0.1"),
    days: int = CA_DAYS,
    force: bool = False,
) -> None:
    """Create a CA, an empty revocation list and the broker's certificate in ``directory``.

    An existing PKI is refused unless ``force``, which replaces it (and with it every credential it issued).
    """
    _check_days(days)
    _check_identifier(server_name, "server name")
    server_hosts = tuple(server_hosts)
    for host in server_hosts:
        _general_name(host)
    existing = [name for name in ("ca.crt", "ca.key", INDEX_FILE, "crl.pem") if (directory / name).exists()]
    if existing and not force:
        raise PkiError(f"{directory} already holds a PKI ({', '.join(existing)}); use --force to replace it")
    directory.mkdir(parents=True, exist_ok=True)
    with locked(directory):
        if existing:
            for sub in ("clients", "server"):
                shutil.rmtree(directory / sub, ignore_errors=True)
        key = _new_key()
        start = _now() - BACKDATE
        name = x509.Name(
            [x509.NameAttribute(NameOID.ORGANIZATION_NAME, "flexcem"), x509.NameAttribute(NameOID.COMMON_NAME, ca_name)]
        )
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(start + BACKDATE + timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256())
        )
        certificate_path, key_path = _ca_paths(directory)
        write_private(key_path, _key_pem(key))
        write_public(certificate_path, _pem(certificate))
        (directory / "clients").mkdir(exist_ok=True)
        (directory / "server").mkdir(exist_ok=True)
        index = Index(certificates=[_record(certificate, ca_name, "ca")])
        ca = (certificate, key)
        _write_crl(directory, index, ca, CRL_DAYS)
        _issue_server(directory, index, ca, server_name, server_hosts, min(days, SERVER_DAYS))
        index.save(directory)


def _issue_server(
    directory: Path,
    index: Index,
    ca: tuple[x509.Certificate, ec.EllipticCurvePrivateKey],
    name: str,
    hosts: Sequence[str],
    days: int,
) -> tuple[Path, Path]:
    key = _new_key()
    certificate = _leaf(ca, key, name, _new_serial(index.serials()), days, ExtendedKeyUsageOID.SERVER_AUTH, hosts)
    certificate_path, key_path = directory / "server" / f"{name}.crt", directory / "server" / f"{name}.key"
    (directory / "server").mkdir(exist_ok=True)
    write_private(key_path, _key_pem(key))
    write_public(certificate_path, _pem(certificate))
    index.certificates.append(_record(certificate, name, "server"))
    return certificate_path, key_path


def issue_server(directory: Path, name: str, hosts: Sequence[str], *, days: int = SERVER_DAYS) -> tuple[Path, Path]:
    """Issue (or renew) the certificate of broker ``name`` for ``hosts`` (DNS names and IP addresses).

    Returns the certificate and key paths. A previous certificate of the same name is revoked as superseded.
    """
    _check_identifier(name, "server name")
    _check_days(days)
    if not hosts:
        raise PkiError("a server certificate needs at least one host (DNS name or IP address)")
    for host in hosts:
        _general_name(host)
    _require_pki(directory)
    with locked(directory):
        index = Index.load(directory)
        ca = _load_ca(directory)
        previous = index.current("server", name)
        if previous is not None:
            _retire(directory, previous, x509.ReasonFlags.superseded)
        paths = _issue_server(directory, index, ca, name, hosts, days)
        if previous is not None:
            _write_crl(directory, index, ca, CRL_DAYS)
        index.save(directory)
        return paths


def issue_clients(
    directory: Path, identity_ids: Sequence[str], *, days: int = CLIENT_DAYS, reissue: bool = False
) -> list[ClientCredentials]:
    """Issue one client certificate per id (CN = id, clientAuth), all or none.

    An id that already holds a valid certificate is refused, unless ``reissue``: then its old certificate is
    revoked (superseded) and the revocation list rewritten.
    """
    _check_days(days)
    ids = [_check_identifier(identity_id, "identity id") for identity_id in identity_ids]
    duplicates = sorted({identity_id for identity_id in ids if ids.count(identity_id) > 1})
    if duplicates:
        raise PkiError(f"identity id {', '.join(duplicates)} given more than once")
    _require_pki(directory)
    with locked(directory):
        index = Index.load(directory)
        held = [identity_id for identity_id in ids if index.current("client", identity_id) is not None]
        if held and not reissue:
            raise PkiError(
                f"{', '.join(held)} already {'has' if len(held) == 1 else 'have'} a valid certificate; "
                "revoke it first or ask for a re-issue (--reissue)"
            )
        ca = _load_ca(directory)
        taken = index.serials()
        issued = []
        for identity_id in held:
            previous = index.current("client", identity_id)
            assert previous is not None
            _retire(directory, previous, x509.ReasonFlags.superseded)
        for identity_id in ids:
            key = _new_key()
            certificate = _leaf(ca, key, identity_id, _new_serial(taken), days, ExtendedKeyUsageOID.CLIENT_AUTH)
            certificate_path, key_path = _client_paths(directory, identity_id)
            write_private(key_path, _key_pem(key))
            write_public(certificate_path, _pem(certificate))
            index.certificates.append(_record(certificate, identity_id, "client"))
            issued.append(ClientCredentials(_ca_paths(directory)[0], certificate_path, key_path))
        if held:
            _write_crl(directory, index, ca, CRL_DAYS)
        index.save(directory)
        return issued


def issue_client(
    directory: Path, identity_id: str, *, days: int = CLIENT_DAYS, reissue: bool = False
) -> ClientCredentials:
    """Issue the client certificate of ``identity_id`` (see :func:`issue_clients`)."""
    return issue_clients(directory, [identity_id], days=days, reissue=reissue)[0]


def client_credentials(directory: Path, identity_id: str) -> ClientCredentials:
    """The credentials already issued to ``identity_id``; :class:`PkiError` when it has none valid."""
    _check_identifier(identity_id, "identity id")
    _require_pki(directory)
    certificate_path, key_path = _client_paths(directory, identity_id)
    if not certificate_path.exists() or not key_path.exists():
        revoked = Index.load(directory).history("client", identity_id)
        state = "was revoked" if revoked else "was never issued"
        raise PkiError(f"no valid certificate for {identity_id} in {directory}: it {state}")
    return ClientCredentials(_ca_paths(directory)[0], certificate_path, key_path)


def revoke(directory: Path, identity_id: str, reason: x509.ReasonFlags = x509.ReasonFlags.key_compromise) -> None:
    """Revoke the valid client certificate of ``identity_id`` and rewrite the revocation list.

    The broker reads the list when it starts; see ``docs/security.md`` for making a running broker honour it.
    """
    _check_identifier(identity_id, "identity id")
    _require_pki(directory)
    with locked(directory):
        index = Index.load(directory)
        record = index.current("client", identity_id)
        if record is None:
            history = index.history("client", identity_id)
            if history:
                raise PkiError(f"{identity_id} has no valid certificate to revoke (already revoked)")
            raise PkiError(f"unknown identity {identity_id}: no certificate was issued for it in {directory}")
        _retire(directory, record, reason)
        _write_crl(directory, index, _load_ca(directory), CRL_DAYS)
        index.save(directory)


def refresh_crl(directory: Path, *, days: int = CRL_DAYS) -> Path:
    """Sign the revocation list again with a fresh validity of ``days``; returns its path."""
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
    """A TLS ≥ 1.2 client context: the broker checked against the CA (and its host name), our certificate shown."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(credentials.ca_file))
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(str(credentials.cert_file), str(credentials.key_file))
    return context
