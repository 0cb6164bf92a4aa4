"""The X.509 objects of a flexcem PKI: ECDSA P-256 keys, the CA, leaf certificates and the revocation list.

Pure construction with ``cryptography`` (no files): :mod:`flexcem.bus.pki` decides what to issue and where it
goes. Profiles (RFC 5280):

* CA: ``basicConstraints CA:true, pathlen:0`` (critical), ``keyUsage keyCertSign, cRLSign`` (critical),
  subject key identifier;
* leaf: ``basicConstraints CA:false`` (critical), ``keyUsage digitalSignature`` (critical; enough for ECDHE
  with an ECDSA key), ``extendedKeyUsage`` serverAuth or clientAuth, subject and authority key identifiers,
  subject alternative names (DNS and IP) for servers;
* CRL: v2, signed with SHA-256, lastUpdate an hour back, a CRL number and the authority key identifier; each
  entry carries its reason unless unspecified.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from flexcem.bus.pki_store import CertificateRecord, PkiError

__all__ = [
    "BACKDATE",
    "CertificateAuthority",
    "ca_certificate",
    "certificate_pem",
    "crl_pem",
    "general_name",
    "key_pem",
    "leaf_certificate",
    "load_private_key",
    "new_key",
    "now",
]

BACKDATE = timedelta(hours=1)
"""Certificates and lists are valid from an hour ago: a device whose clock is a little behind accepts them."""

CertificateAuthority = tuple[x509.Certificate, ec.EllipticCurvePrivateKey]
"""The CA's certificate and key."""

_LEAF_USAGE = x509.KeyUsage(
    digital_signature=True,
    content_commitment=False,
    key_encipherment=False,
    data_encipherment=False,
    key_agreement=False,
    key_cert_sign=False,
    crl_sign=False,
    encipher_only=False,
    decipher_only=False,
)
_CA_USAGE = x509.KeyUsage(
    digital_signature=False,
    content_commitment=False,
    key_encipherment=False,
    data_encipherment=False,
    key_agreement=False,
    key_cert_sign=True,
    crl_sign=True,
    encipher_only=False,
    decipher_only=False,
)


def now() -> datetime:
    """The current instant in UTC, to the second (what X.509 records)."""
    return datetime.now(UTC).replace(microsecond=0)


def new_key() -> ec.EllipticCurvePrivateKey:
    """A fresh ECDSA P-256 key."""
    return ec.generate_private_key(ec.SECP256R1())


def key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    """``key`` as unencrypted PKCS#8 PEM (protected by the file's mode 0600, see ``docs/security.md``)."""
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def load_private_key(data: bytes, source: str) -> ec.EllipticCurvePrivateKey:
    """The ECDSA key in PEM ``data``; :class:`PkiError` naming ``source`` otherwise."""
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as error:
        raise PkiError(f"{source}: cannot read the key ({error})") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise PkiError(f"{source} is not an ECDSA key")
    return key


def certificate_pem(certificate: x509.Certificate) -> bytes:
    """``certificate`` as PEM."""
    return certificate.public_bytes(serialization.Encoding.PEM)


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [x509.NameAttribute(NameOID.ORGANIZATION_NAME, "flexcem"), x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    )


def general_name(host: str) -> x509.GeneralName:
    """A subject alternative name: an IP address when ``host`` is one, a DNS name otherwise."""
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        pass
    labels = host.rstrip(".").split(".")
    if not host or not all(label and all(c.isalnum() or c in "-_*" for c in label) for label in labels):
        raise PkiError(f"host {host!r} is neither an IP address nor a DNS name")
    return x509.DNSName(host)


def ca_certificate(key: ec.EllipticCurvePrivateKey, name: str, days: int) -> x509.Certificate:
    """A self-signed CA certificate valid for ``days`` from now."""
    if not name.strip():
        raise PkiError("the CA needs a name")
    subject = _name(name)
    start = now() - BACKDATE
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + BACKDATE + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_CA_USAGE, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )


def leaf_certificate(
    ca: CertificateAuthority,
    key: ec.EllipticCurvePrivateKey,
    common_name: str,
    serial: int,
    days: int,
    usage: x509.ObjectIdentifier,
    hosts: Sequence[str] = (),
) -> x509.Certificate:
    """A certificate for ``common_name`` signed by ``ca``, valid ``days`` from now but never beyond the CA."""
    ca_cert, ca_key = ca
    start = now() - BACKDATE
    end = min(start + BACKDATE + timedelta(days=days), ca_cert.not_valid_after_utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_LEAF_USAGE, critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
    )
    if hosts:
        names = [general_name(host) for host in hosts]
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(ca_key, hashes.SHA256())


def crl_pem(ca: CertificateAuthority, revoked: Iterable[CertificateRecord], number: int, days: int) -> bytes:
    """The revocation list numbered ``number`` of the ``revoked`` certificates, valid ``days`` from now, as PEM."""
    ca_cert, ca_key = ca
    start = now()
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca_cert.subject)
        .last_update(start - BACKDATE)
        .next_update(start + timedelta(days=days))
        .add_extension(x509.CRLNumber(number), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
    )
    for record in revoked:
        entry = x509.RevokedCertificateBuilder().serial_number(record.serial)
        entry = entry.revocation_date(record.revoked_at or start)
        reason = x509.ReasonFlags(record.reason) if record.reason else x509.ReasonFlags.unspecified
        if reason is not x509.ReasonFlags.unspecified:  # RFC 5280 §5.3.1: leave out rather than say unspecified
            entry = entry.add_extension(x509.CRLReason(reason), critical=False)
        builder = builder.add_revoked_certificate(entry.build())
    return builder.sign(ca_key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)
