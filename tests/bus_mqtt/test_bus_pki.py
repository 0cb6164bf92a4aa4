"""The PKI of the SG CP (TR §3.3: "resources shall have a unique, trusted identity"; "communication shall be
encrypted and authenticated from both sides"): the CA, server and client certificate profiles, the revocation
list, the index, and the refusals. The broker's side of it is in ``test_bus_security.py``."""

from __future__ import annotations

import json
import shutil
import stat
import subprocess
import threading
from datetime import UTC, datetime, timedelta
from ipaddress import ip_address
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from flexcem.bus.pki import (
    ClientCredentials,
    PkiError,
    certificates,
    client_credentials,
    init_pki,
    issue_client,
    issue_clients,
    issue_server,
    refresh_crl,
    revoke,
)

OPENSSL = shutil.which("openssl")


@pytest.fixture
def pki(tmp_path: Path) -> Path:
    directory = tmp_path / "pki"
    init_pki(directory)
    return directory


def load(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def load_crl(directory: Path) -> x509.CertificateRevocationList:
    return x509.load_pem_x509_crl((directory / "crl.pem").read_bytes())


def common_name(certificate: x509.Certificate) -> str:
    return str(certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# -- the CA, the broker, the clients ---------------------------------------------------------------------------


def test_init_makes_a_p256_ca_that_may_sign_certificates_and_crls(pki: Path) -> None:
    ca = load(pki / "ca.crt")
    key = ca.public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey)
    assert key.curve.name == "secp256r1"
    constraints = ca.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca
    usage = ca.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.key_cert_sign and usage.value.crl_sign
    assert common_name(ca) == "flexcem CA"
    ca.verify_directly_issued_by(ca)
    assert mode(pki / "ca.key") == 0o600


def test_the_server_certificate_names_the_broker_by_dns_and_ip_for_server_auth(tmp_path: Path) -> None:
    init_pki(tmp_path, server_name="mqtt-1", server_hosts=("broker.example.net", "localhost", "10.0.0.7", "::1"))
    server = load(tmp_path / "server" / "mqtt-1.crt")
    server.verify_directly_issued_by(load(tmp_path / "ca.crt"))
    names = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["broker.example.net", "localhost"]
    assert names.get_values_for_type(x509.IPAddress) == [ip_address("10.0.0.7"), ip_address("::1")]
    assert ExtendedKeyUsageOID.SERVER_AUTH in server.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert not server.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert mode(tmp_path / "server" / "mqtt-1.key") == 0o600


def test_a_client_certificate_carries_the_identity_as_cn_for_client_auth(pki: Path) -> None:
    credentials = issue_client(pki, "cem-0001")
    assert credentials == ClientCredentials(
        pki / "ca.crt", pki / "clients" / "cem-0001.crt", pki / "clients" / "cem-0001.key"
    )
    certificate = load(credentials.cert_file)
    certificate.verify_directly_issued_by(load(pki / "ca.crt"))
    assert common_name(certificate) == "cem-0001"
    usage = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    assert not certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert mode(credentials.key_file) == 0o600
    assert mode(credentials.cert_file) == 0o644
    assert client_credentials(pki, "cem-0001") == credentials


def test_every_certificate_has_its_own_serial_and_is_in_the_index(pki: Path) -> None:
    issued = issue_clients(pki, [f"cem-{n:04d}" for n in range(200)])
    serials = {load(credentials.cert_file).serial_number for credentials in issued}
    assert len(serials) == 200
    records = certificates(pki)
    assert [record.kind for record in records[:2]] == ["ca", "server"]
    clients = {record.serial: record.common_name for record in records if record.kind == "client"}
    assert set(clients) == serials
    assert clients[load(issued[7].cert_file).serial_number] == "cem-0007"
    assert json.loads((pki / "index.json").read_text())["version"] == 1


def test_lifetimes_start_an_hour_back_and_never_outlive_the_ca(tmp_path: Path) -> None:
    init_pki(tmp_path, days=30)
    ca = load(tmp_path / "ca.crt")
    short = load(issue_client(tmp_path, "short", days=7).cert_file)
    long = load(issue_client(tmp_path, "long", days=10_000).cert_file)
    now = datetime.now(UTC)
    assert now - timedelta(hours=1, seconds=5) <= short.not_valid_before_utc <= now - timedelta(minutes=59)
    assert abs(short.not_valid_after_utc - (now + timedelta(days=7))) < timedelta(seconds=5)
    assert long.not_valid_after_utc == ca.not_valid_after_utc
    assert load(tmp_path / "server" / "broker.crt").not_valid_after_utc <= ca.not_valid_after_utc


# -- revocation ------------------------------------------------------------------------------------------------


def test_the_initial_crl_is_empty_current_and_signed_by_the_ca(pki: Path) -> None:
    crl = load_crl(pki)
    assert len(crl) == 0
    assert crl.is_signature_valid(load(pki / "ca.crt").public_key())  # type: ignore[arg-type]
    assert crl.issuer == load(pki / "ca.crt").subject
    now = datetime.now(UTC)
    assert crl.last_update_utc <= now < crl.next_update_utc  # type: ignore[operator]


def test_revoking_rewrites_the_crl_with_the_serial_and_the_reason(pki: Path) -> None:
    issue_clients(pki, ["cem-a", "cem-b"])
    serial = load(pki / "clients" / "cem-a.crt").serial_number
    number_before = load_crl(pki).extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    revoke(pki, "cem-a")
    crl = load_crl(pki)
    assert crl.is_signature_valid(load(pki / "ca.crt").public_key())  # type: ignore[arg-type]
    entry = crl.get_revoked_certificate_by_serial_number(serial)
    assert entry is not None
    assert entry.extensions.get_extension_for_class(x509.CRLReason).value.reason is x509.ReasonFlags.key_compromise
    assert crl.get_revoked_certificate_by_serial_number(load(pki / "clients" / "cem-b.crt").serial_number) is None
    assert crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == number_before + 1
    record = next(record for record in certificates(pki) if record.serial == serial)
    assert record.revoked and record.reason == "keyCompromise"
    with pytest.raises(PkiError, match=r"cem-a.*was revoked"):
        client_credentials(pki, "cem-a")


def test_a_reissue_supersedes_the_old_certificate(pki: Path) -> None:
    old = load(issue_client(pki, "cem-a").cert_file)
    with pytest.raises(PkiError, match=r"cem-a already has a valid certificate.*--reissue"):
        issue_client(pki, "cem-a")
    new = load(issue_client(pki, "cem-a", reissue=True).cert_file)
    assert new.serial_number != old.serial_number
    entry = load_crl(pki).get_revoked_certificate_by_serial_number(old.serial_number)
    assert entry is not None
    assert entry.extensions.get_extension_for_class(x509.CRLReason).value.reason is x509.ReasonFlags.superseded
    assert load(client_credentials(pki, "cem-a").cert_file).serial_number == new.serial_number


def test_renewing_the_server_certificate_supersedes_the_old_one(pki: Path) -> None:
    old = load(pki / "server" / "broker.crt")
    certificate_path, key_path = issue_server(pki, "broker", ["mqtt.example.net"])
    assert (certificate_path, key_path) == (pki / "server" / "broker.crt", pki / "server" / "broker.key")
    new = load(certificate_path)
    assert new.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
        x509.DNSName
    ) == ["mqtt.example.net"]
    assert load_crl(pki).get_revoked_certificate_by_serial_number(old.serial_number) is not None


def test_refresh_crl_extends_its_validity_and_keeps_the_entries(pki: Path) -> None:
    issue_client(pki, "cem-a")
    revoke(pki, "cem-a", x509.ReasonFlags.cessation_of_operation)
    refresh_crl(pki, days=30)
    crl = load_crl(pki)
    assert len(crl) == 1
    assert crl.next_update_utc is not None
    assert abs(crl.next_update_utc - (datetime.now(UTC) + timedelta(days=30))) < timedelta(seconds=5)


@pytest.mark.skipif(OPENSSL is None, reason="openssl command not installed")
def test_openssl_verifies_the_chain_and_honours_the_crl(pki: Path) -> None:
    """An independent check: OpenSSL (what Mosquitto uses) accepts the chain and the CRL."""
    assert OPENSSL is not None
    issue_clients(pki, ["good", "bad"])
    revoke(pki, "bad")

    def verify(certificate: Path) -> subprocess.CompletedProcess[str]:
        command = [OPENSSL, "verify", "-crl_check", "-CAfile", str(pki / "ca.crt"), "-CRLfile", str(pki / "crl.pem")]
        return subprocess.run([*command, str(certificate)], capture_output=True, text=True, check=False)

    assert verify(pki / "clients" / "good.crt").returncode == 0
    assert verify(pki / "server" / "broker.crt").returncode == 0
    refused = verify(pki / "clients" / "bad.crt")
    assert refused.returncode != 0 and "certificate revoked" in refused.stdout + refused.stderr


# -- refusals --------------------------------------------------------------------------------------------------


def test_init_refuses_an_existing_pki_unless_forced(pki: Path) -> None:
    issue_client(pki, "cem-a")
    ca = (pki / "ca.crt").read_bytes()
    with pytest.raises(PkiError, match=r"already holds a PKI.*--force"):
        init_pki(pki)
    assert (pki / "ca.crt").read_bytes() == ca
    init_pki(pki, force=True)
    assert (pki / "ca.crt").read_bytes() != ca
    assert not (pki / "clients" / "cem-a.crt").exists()
    assert [record.kind for record in certificates(pki)] == ["ca", "server"]


@pytest.mark.parametrize("bad", ["", "cem a", "../etc/passwd", "-cem", "x" * 65, "cém", "all", "grp", "a/b"])
def test_an_invalid_identity_is_refused_and_nothing_is_issued(pki: Path, bad: str) -> None:
    with pytest.raises(PkiError, match="identity id"):
        issue_clients(pki, ["cem-ok", bad])
    assert not (pki / "clients" / "cem-ok.crt").exists()
    assert [record.kind for record in certificates(pki)] == ["ca", "server"]


def test_a_batch_with_a_held_identity_issues_nothing(pki: Path) -> None:
    issue_client(pki, "cem-a")
    with pytest.raises(PkiError, match="cem-a already has"):
        issue_clients(pki, ["cem-b", "cem-a"])
    with pytest.raises(PkiError, match="cem-b given more than once"):
        issue_clients(pki, ["cem-b", "cem-b"])
    assert not (pki / "clients" / "cem-b.crt").exists()


def test_revoking_an_unknown_or_revoked_identity_is_refused(pki: Path) -> None:
    with pytest.raises(PkiError, match="unknown identity nobody"):
        revoke(pki, "nobody")
    issue_client(pki, "cem-a")
    revoke(pki, "cem-a")
    with pytest.raises(PkiError, match="already revoked"):
        revoke(pki, "cem-a")
    with pytest.raises(PkiError, match="never issued"):
        client_credentials(pki, "nobody")


def test_a_directory_without_a_pki_is_refused(tmp_path: Path) -> None:
    for action in (
        lambda: issue_client(tmp_path, "cem-a"),
        lambda: revoke(tmp_path, "cem-a"),
        lambda: client_credentials(tmp_path, "cem-a"),
        lambda: issue_server(tmp_path, "broker", ["localhost"]),
        lambda: refresh_crl(tmp_path),
    ):
        with pytest.raises(PkiError, match=r"is not a flexcem PKI.*flexcem pki init"):
            action()
    assert list(tmp_path.iterdir()) == []


def test_bad_hosts_names_and_days_are_refused(tmp_path: Path) -> None:
    with pytest.raises(PkiError, match="neither an IP address nor a DNS name"):
        init_pki(tmp_path, server_hosts=("bad host",))
    with pytest.raises(PkiError, match="server name"):
        init_pki(tmp_path, server_name="../broker")
    with pytest.raises(PkiError, match="days must be positive"):
        init_pki(tmp_path, days=0)
    with pytest.raises(PkiError, match="CA needs a name"):
        init_pki(tmp_path, ca_name=" ")
    assert list(tmp_path.iterdir()) == []
    init_pki(tmp_path)
    with pytest.raises(PkiError, match="at least one host"):
        issue_server(tmp_path, "broker", [])


def test_concurrent_issuers_lose_no_index_entry(pki: Path) -> None:
    """Each call holds the directory's lock: four writers at once, every certificate recorded."""
    errors: list[BaseException] = []

    def issue(worker: int) -> None:
        try:
            for n in range(15):
                issue_client(pki, f"w{worker}-{n}")
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=issue, args=(worker,)) for worker in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sum(record.kind == "client" for record in certificates(pki)) == 60
