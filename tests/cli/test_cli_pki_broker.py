"""``flexcem pki`` and ``flexcem broker-config``: exit 0 on success, 2 with a clear message on bad input, and the
files they write run a real Mosquitto that a client with a certificate they issued can use.

The commands are driven through a parser built the way ``flexcem.cli.main`` builds it (``add_parser`` + ``run``).
"""

from __future__ import annotations

import argparse
import getpass
import os
import queue
import ssl
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from cryptography import x509
from paho.mqtt.enums import CallbackAPIVersion

from flexcem.bus.access import AccessPolicy
from flexcem.bus.broker_config import BrokerFiles, acl_text
from flexcem.bus.pki import client_credentials, client_ssl_context
from flexcem.bus.topics import group_topic, inbox_topic
from flexcem.cli import broker_command, pki_command
from mosquitto_harness import RunningBroker, free_port

EXAMPLE_POLICY = Path(__file__).resolve().parents[2] / "docs" / "examples" / "access-policy.toml"


def flexcem(*argv: str | Path) -> int:
    """Run ``flexcem ARGV`` with the two commands of this module; its exit code."""
    parser = argparse.ArgumentParser(prog="flexcem")
    commands = parser.add_subparsers(dest="command", required=True)
    pki_command.add_parser(commands)
    broker_command.add_parser(commands)
    args = parser.parse_args([str(arg) for arg in argv])
    code: int = args.run(args)
    return code


POLICY_TOML = """
[[identities]]
id = "dso"
grants = [{ domain = "grid", role = "controller" }]

[[identities]]
id = "cem-a"
grants = [{ domain = "grid", groups = ["north"] }]

[[identities]]
id = "cem-b"
grants = [{ domain = "grid" }]
"""


# -- flexcem pki --------------------------------------------------------------------------------------------------


def test_pki_init_issue_revoke(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pki = tmp_path / "pki"
    assert flexcem("pki", "init", pki, "--server-name", "mqtt-1", "--host", "mqtt.example.net", "10.0.0.7") == 0
    server = x509.load_pem_x509_certificate((pki / "server" / "mqtt-1.crt").read_bytes())
    names = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["mqtt.example.net"]
    assert stat.S_IMODE((pki / "ca.key").stat().st_mode) == 0o600

    assert flexcem("pki", "issue", pki, "cem-a", "cem-b") == 0
    assert "cem-a: " in capsys.readouterr().out
    assert client_credentials(pki, "cem-b").cert_file == pki / "clients" / "cem-b.crt"

    assert flexcem("pki", "revoke", pki, "cem-b", "--reason", "cessation-of-operation") == 0
    out = capsys.readouterr().out
    assert "revoked cem-b" in out and "--reload PID" in out
    crl = x509.load_pem_x509_crl((pki / "crl.pem").read_bytes())
    assert len(crl) == 1

    assert flexcem("pki", "issue", pki, "cem-b") == 0  # a revoked identity may be issued again
    assert flexcem("pki", "issue", pki, "cem-a", "--reissue") == 0
    assert flexcem("pki", "crl", pki, "--days", "30") == 0
    assert flexcem("pki", "list", pki) == 0
    listing = capsys.readouterr().out
    assert listing.count("client cem-b") == 2 and "revoked" in listing and "superseded" in listing


def test_pki_init_defaults_to_localhost(tmp_path: Path) -> None:
    assert flexcem("pki", "init", tmp_path / "pki") == 0
    server = x509.load_pem_x509_certificate((tmp_path / "pki" / "server" / "broker.crt").read_bytes())
    names = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["localhost"]
    assert [str(ip) for ip in names.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("pki", "init", "{pki}"), "already holds a PKI"),
        (("pki", "init", "{new}", "--host", "no such host"), "neither an IP address nor a DNS name"),
        (("pki", "issue", "{pki}", "cem a"), "identity id 'cem a' is not a valid identifier"),
        (("pki", "issue", "{pki}", "cem-a"), "cem-a already has a valid certificate"),
        (("pki", "issue", "{new}", "cem-a"), "is not a flexcem PKI"),
        (("pki", "revoke", "{pki}", "nobody"), "unknown identity nobody"),
        (("pki", "revoke", "{new}", "cem-a"), "is not a flexcem PKI"),
    ],
)
def test_pki_bad_input_exits_2_with_a_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], message: str
) -> None:
    pki = tmp_path / "pki"
    assert flexcem("pki", "init", pki) == 0
    assert flexcem("pki", "issue", pki, "cem-a") == 0
    capsys.readouterr()
    expanded = [arg.format(pki=pki, new=tmp_path / "new") for arg in argv]
    assert flexcem(*expanded) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"flexcem pki {argv[1]}: ") and message in error


def test_pki_init_force_replaces(tmp_path: Path) -> None:
    pki = tmp_path / "pki"
    assert flexcem("pki", "init", pki) == 0
    before = (pki / "ca.crt").read_bytes()
    assert flexcem("pki", "init", pki, "--force") == 0
    assert (pki / "ca.crt").read_bytes() != before


# -- flexcem broker-config -------------------------------------------------------------------------------------


def test_broker_config_writes_tls_config_and_acl_from_the_example_policy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pki = tmp_path / "pki"
    assert flexcem("pki", "init", pki) == 0
    assert flexcem("pki", "issue", pki, "dso", "cem-0001") == 0
    out = tmp_path / "broker"
    assert flexcem("broker-config", "--policy", EXAMPLE_POLICY, "--out", out, "--port", "8883", "--pki", pki) == 0
    config = (out / "mosquitto.conf").read_text()
    for line in ("listener 8883 127.0.0.1", "require_certificate true", "use_identity_as_username true"):
        assert line in config.splitlines()
    assert f"crlfile {pki.resolve() / 'crl.pem'}" in config
    acl = (out / "acl").read_text()
    assert "user cem-0001\ntopic read sgcp/v1/grid/ep/cem-0001/in\n" in acl
    assert "topic read sgcp/v1/grid/grp/feeder-north" in acl
    captured = capsys.readouterr()
    assert "mutual TLS" in captured.out
    assert "warning: 7 identities have no valid certificate" in captured.err  # only dso and cem-0001 were issued


def test_broker_config_without_pki_is_plain_and_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY_TOML)
    out = tmp_path / "broker"
    assert flexcem("broker-config", "--policy", policy, "--out", out, "--port", "1883", "--host", "0.0.0.0") == 0
    assert "listener 1883 0.0.0.0" in (out / "mosquitto.conf").read_text()
    assert "NO TLS" in capsys.readouterr().out


def test_a_json_policy_is_read_too(tmp_path: Path) -> None:
    policy = tmp_path / "policy.json"
    AccessPolicy.load(EXAMPLE_POLICY).save(policy)
    assert flexcem("broker-config", "--policy", policy, "--out", tmp_path / "broker", "--port", "1883") == 0
    assert (tmp_path / "broker" / "acl").read_text() == acl_text(AccessPolicy.load(EXAMPLE_POLICY))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('[[identities]]\nid = "x"\ngrants = [{ domain = "grid", role = "king" }]\n', "identities.0.grants.0.role"),
        ('[[identities]]\nid = "bad id"\ngrants = [{ domain = "grid" }]\n', "identities.0.id"),
        (
            '[[identities]]\nid = "x"\ngrants = [{ domain = "grid", groups = ["a b"] }]\n',
            "identities.0.grants.0.groups",
        ),
        ('[[identities]]\nid = "x"\n', "identities.0.grants: Field required"),
        ("[[identities]\n", "line 1"),
    ],
)
def test_a_bad_policy_is_refused_naming_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, message: str
) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text(content)
    assert flexcem("broker-config", "--policy", policy, "--out", tmp_path / "broker", "--port", "1883") == 2
    error = capsys.readouterr().err
    assert error.startswith(f"flexcem broker-config: {policy}") and message in error
    assert not (tmp_path / "broker").exists()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ((), "--port is required"),
        (("--port", "1883", "--pki", "{missing}"), "missing"),
        (("--port", "1883", "--pki", "{pki}", "--server-name", "other"), "server/other.crt"),
        (("--reload", "{pid}"), "holds no broker configuration"),
    ],
)
def test_broker_config_bad_arguments_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: tuple[str, ...], message: str
) -> None:
    pki = tmp_path / "pki"
    assert flexcem("pki", "init", pki) == 0
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY_TOML)
    capsys.readouterr()
    expanded = [arg.format(pki=pki, missing=tmp_path / "nothing", pid=12345) for arg in extra]
    assert flexcem("broker-config", "--policy", policy, "--out", tmp_path / "broker", *expanded) == 2
    assert message in capsys.readouterr().err


def test_reload_refuses_a_process_that_is_not_mosquitto(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """SIGHUP ends most programs: --reload checks first (here: the test runner itself)."""
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY_TOML)
    out = tmp_path / "broker"
    assert flexcem("broker-config", "--policy", policy, "--out", out, "--port", "1883") == 0
    acl = (out / "acl").read_text()
    policy.write_text(POLICY_TOML.replace('domain = "grid" }]\n', 'domain = "grid", groups = ["north"] }]\n'))
    assert flexcem("broker-config", "--policy", policy, "--out", out, "--reload", str(os.getpid())) == 2
    assert "not mosquitto" in capsys.readouterr().err
    assert (out / "acl").read_text() == acl
    assert flexcem("broker-config", "--policy", policy, "--out", out, "--reload", "999999999") == 2


# -- end to end: the files the commands write run Mosquitto ---------------------------------------------------


class Subscriber:
    """A paho client with a TLS context; waits on events, not on sleeps."""

    def __init__(self, port: int, context: ssl.SSLContext) -> None:
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="", reconnect_on_failure=False)
        self.client.tls_set_context(context)
        self.connected, self.subscribed = threading.Event(), threading.Event()
        self.messages: queue.Queue[bytes] = queue.Queue()
        self.client.on_connect = lambda *_: self.connected.set()
        self.client.on_subscribe = lambda *_: self.subscribed.set()
        self.client.on_message = lambda _c, _u, message: self.messages.put(bytes(message.payload))
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        assert self.connected.wait(3)

    def subscribe(self, topic: str) -> None:
        self.subscribed.clear()
        self.client.subscribe(topic, qos=1)
        assert self.subscribed.wait(3)

    def publish(self, topic: str, payload: bytes) -> None:
        self.client.publish(topic, payload, qos=1).wait_for_publish(3)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def deployed(tmp_path: Path) -> Iterator[tuple[RunningBroker, Path, Path]]:
    """``flexcem pki init/issue`` + ``flexcem broker-config`` + ``mosquitto -c`` on a free port."""
    pki, out, policy = tmp_path / "pki", tmp_path / "broker", tmp_path / "policy.toml"
    policy.write_text(POLICY_TOML)
    assert flexcem("pki", "init", pki) == 0
    assert flexcem("pki", "issue", pki, "dso", "cem-a", "cem-b") == 0
    port = free_port()
    argv: list[str | Path] = ["--policy", policy, "--out", out, "--port", str(port), "--pki", pki]
    argv += ["--run-as", getpass.getuser()]
    assert flexcem("broker-config", *argv) == 0
    where = out.resolve()
    files = BrokerFiles(where, where / "mosquitto.conf", where / "acl", where / "mosquitto.log", where / "data")
    broker = RunningBroker(files=files, port=port, policy=AccessPolicy.load(policy), tls=True)
    broker.start()
    yield broker, pki, policy
    broker.stop()


def test_the_written_files_run_mosquitto_and_reload_applies_a_new_membership(
    deployed: tuple[RunningBroker, Path, Path],
) -> None:
    broker, pki, policy = deployed
    assert broker.process is not None
    north, inbox_b = group_topic("grid/grp/north"), inbox_topic("grid/cem-b")
    dso = Subscriber(broker.port, client_ssl_context(client_credentials(pki, "dso")))
    cem_b = Subscriber(broker.port, client_ssl_context(client_credentials(pki, "cem-b")))
    try:
        cem_b.subscribe(north)
        cem_b.subscribe(inbox_b)
        dso.publish(north, b"before")  # cem-b is not in north yet
        dso.publish(inbox_b, b"sentinel")
        assert cem_b.messages.get(timeout=3) == b"sentinel"

        policy.write_text(POLICY_TOML.replace('domain = "grid" }]\n', 'domain = "grid", groups = ["north"] }]\n'))
        argv: list[str | Path] = ["--policy", policy, "--out", broker.files.directory]
        argv += ["--reload", str(broker.process.pid)]
        assert flexcem("broker-config", *argv) == 0
        assert "user cem-b\n" in broker.files.acl.read_text()
        group_messages: list[bytes] = []
        for attempt in range(50):  # Mosquitto applies SIGHUP on its next loop turn: retry until it has
            dso.publish(north, f"after {attempt}".encode())
            dso.publish(inbox_b, b"sentinel")
            while (payload := cem_b.messages.get(timeout=3)) != b"sentinel":
                group_messages.append(payload)
            if group_messages:
                break
        assert group_messages and group_messages[0].startswith(b"after")
        assert broker.process.poll() is None
    finally:
        dso.close()
        cem_b.close()


def test_the_example_policy_is_valid_and_documented() -> None:
    policy = AccessPolicy.load(EXAMPLE_POLICY)
    assert {identity.id for identity in policy.controllers("grid")} == {"dso", "retailer-1", "retailer-2"}
    assert policy.members("grid/grp/feeder-north") == ("grid/cem-0001", "grid/cem-0002")
    assert policy.identity("cem-0001") is not None
    assert [grant.domain for grant in policy.identity("cem-0001").grants] == ["grid", "home-0001"]  # type: ignore[union-attr]
