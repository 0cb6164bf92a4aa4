"""A Mosquitto of the test's own: the configuration flexcem generates, on a free port, in a temporary directory.

Every test that needs a broker starts one with :func:`start_broker` (or the ``broker`` fixtures built on it);
that proves the generated configuration as well as the code that talks to it. Mosquitto must be installed
(Debian package ``mosquitto``; ``.ci/run`` installs it when missing): a missing broker fails the test rather
than skipping it.
"""

from __future__ import annotations

import getpass
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from flexcem.bus.access import AccessPolicy
from flexcem.bus.broker_config import BrokerFiles, reload_broker, write_acl, write_broker_config

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_listening(port: int, process: subprocess.Popen[bytes], log: Path, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"mosquitto exited with {process.returncode}: {_tail(log)}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.02)
    raise RuntimeError(f"mosquitto did not listen on {port} within {timeout_s} s: {_tail(log)}")


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-2000:] if log.exists() else "(no log)"


@dataclass
class RunningBroker:
    """A Mosquitto started by a test."""

    files: BrokerFiles
    port: int
    policy: AccessPolicy
    tls: bool
    process: subprocess.Popen[bytes] | None = None
    history: list[int] = field(default_factory=list)

    @property
    def uri(self) -> str:
        """``mqtts://127.0.0.1:port`` or ``mqtt://…``."""
        return f"{'mqtts' if self.tls else 'mqtt'}://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start (or start again) the broker on its port."""
        if not Path(MOSQUITTO).exists():
            raise RuntimeError("mosquitto is not installed (apt-get install mosquitto)")
        self.process = subprocess.Popen(
            [MOSQUITTO, "-c", str(self.files.config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        self.history.append(self.process.pid)
        _wait_listening(self.port, self.process, self.files.log)

    def stop(self) -> None:
        """Stop cleanly (SIGTERM: the broker saves its persistence)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=10)
        self.process = None

    def kill(self) -> None:
        """Stop hard (SIGKILL)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None

    def restart(self) -> None:
        """Stop cleanly and start again on the same port with the same data."""
        self.stop()
        self.start()

    def apply(self, policy: AccessPolicy) -> None:
        """Regenerate the ACL for ``policy`` and make the running broker reload it."""
        self.policy = policy
        write_acl(policy, self.files.acl)
        assert self.process is not None
        reload_broker(self.process.pid)
        time.sleep(0.2)  # Mosquitto reloads on its next loop iteration

    def log(self) -> str:
        """The broker's log so far."""
        return _tail(self.files.log)


def start_broker(directory: Path, policy: AccessPolicy, *, pki: Path | None = None) -> RunningBroker:
    """Generate the configuration for ``policy`` (TLS when ``pki`` is given) and start Mosquitto with it."""
    port = free_port()
    files = write_broker_config(policy, directory, port=port, pki=pki, run_as=getpass.getuser())
    broker = RunningBroker(files=files, port=port, policy=policy, tls=pki is not None)
    broker.start()
    return broker


@contextmanager
def anonymous_broker(directory: Path) -> Iterator[str]:
    """A plain, anonymous local Mosquitto (no TLS, no ACL, nothing persisted) for tests of what runs over a
    broker rather than of its security; yields its ``mqtt://`` URI."""
    port = free_port()
    config = directory / "mosquitto-anonymous.conf"
    log = directory / "mosquitto-anonymous.log"
    config.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n", encoding="utf-8")
    with log.open("wb") as sink:
        process = subprocess.Popen([MOSQUITTO, "-c", str(config)], stdout=sink, stderr=subprocess.STDOUT)
    try:
        _wait_listening(port, process, log)
        yield f"mqtt://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)
