"""Time until a grid controller learns that an endpoint is gone (TR §3.3: "information about network
availability (presence) is required").

Each probe is a CEM endpoint in a process of its own, connected with ``MqttBus.connect`` (mutual TLS, its
will = retained presence offline); a grid controller watches the domain's presence (``MqttLink.on_presence``).
After a random wait (so that the signal falls anywhere in the keep-alive cycle) the probe is

* **killed** (SIGKILL): the kernel closes its socket, the broker sees the connection drop and publishes the
  will at once;
* **frozen** (SIGSTOP): the socket stays open and silent; the broker gives up after 1.5 × keep-alive without
  a packet — Mosquitto 2.0.11 checks keep-alives only every few seconds, which adds up to that much —
  and then publishes the will. Measured for keep-alive 2, 5 and 10 s.

Reported per case: time from the signal to the controller seeing *offline*, and from the probe's last packet
(its last PINGREQ, noted by the probe itself, or its connection) to that moment, against 1.5 × keep-alive.

Run: ``python benchmarks/bus_presence.py [--out benchmarks/results/bus_presence.json] [--quick]``
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from bus_common import (
    DOMAIN,
    RESULTS,
    exit_on_sigterm,
    fleet,
    loadavg,
    machine,
    percentiles,
    quiet_logs,
    write_report,
)
from flexcem.bus.access import Role
from flexcem.bus.mqtt import MqttBus
from flexcem.model import Presence, PresenceState

# -- the probe process --------------------------------------------------------------------------------------------


def child(uri: str, identity: str, ca: str, cert: str, key: str, keepalive: int) -> None:
    """Connect ``identity`` and wait to be killed; print ``ready``/``ping`` lines with ``time.time()``."""
    import paho.mqtt.client as paho

    from flexcem.bus.pki import ClientCredentials

    original = paho.Client._send_pingreq

    def pingreq(self: paho.Client) -> Any:
        print(f"ping {time.time():.6f}", flush=True)
        return original(self)

    paho.Client._send_pingreq = pingreq  # type: ignore[method-assign]  # instrumentation only
    quiet_logs()

    async def main() -> None:
        bus = MqttBus(uri, keepalive_s=keepalive)
        await bus.connect(f"{DOMAIN}/{identity}", credentials=ClientCredentials(Path(ca), Path(cert), Path(key)))
        print(f"ready {time.time():.6f}", flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())


class Probe:
    """A probe process and what it printed."""

    def __init__(self, uri: str, identity: str, credentials: Any, keepalive: int) -> None:
        self.identity = identity
        self.address = f"{DOMAIN}/{identity}"
        self.keepalive = keepalive
        self.ready: float | None = None
        self.pings: list[float] = []
        self.process = subprocess.Popen(
            [
                sys.executable,
                str(Path(__file__).resolve()),
                "--child",
                uri,
                identity,
                str(credentials.ca_file),
                str(credentials.cert_file),
                str(credentials.key_file),
                str(keepalive),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            word, _, value = line.strip().partition(" ")
            if word == "ready":
                self.ready = float(value)
            elif word == "ping":
                self.pings.append(float(value))

    def last_packet_before(self, instant: float) -> float | None:
        """When the probe last sent something before ``instant``: its last PINGREQ or its connection."""
        times = [t for t in [self.ready, *self.pings] if t is not None and t <= instant]
        return max(times) if times else None

    def end(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)


# -- the measurement ------------------------------------------------------------------------------------------------


async def run_case(
    f: Any,
    grid_online: dict[str, float],
    grid_offline: dict[str, float],
    name: str,
    how: signal.Signals,
    keepalive: int,
    identities: list[str],
) -> dict[str, Any]:
    """Start one probe per identity, signal each after a random wait, time the controller's offline."""
    probes = [Probe(f.uri, identity, f.credentials[identity], keepalive) for identity in identities]
    trials: list[dict[str, Any]] = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not all(p.address in grid_online for p in probes):
            await asyncio.sleep(0.05)
        missing = [p.identity for p in probes if p.address not in grid_online]
        if missing:
            raise RuntimeError(f"{name}: the grid never saw {missing} online")

        async def trial(probe: Probe) -> dict[str, Any]:
            await asyncio.sleep(random.uniform(1.0, 1.0 + 2 * keepalive))
            t_signal = time.time()
            os.kill(probe.process.pid, how)
            wait_until = time.monotonic() + 3 * keepalive + 30
            while probe.address not in grid_offline and time.monotonic() < wait_until:
                await asyncio.sleep(0.005)
            seen = grid_offline.get(probe.address)
            # A killed probe's socket closes at once: only a frozen one waits for its keep-alive to run out.
            last = probe.last_packet_before(t_signal) if how is signal.SIGSTOP else None
            return {
                "probe": probe.identity,
                "detected": seen is not None,
                "signal_to_offline_s": round(seen - t_signal, 3) if seen else None,
                "last_packet_to_offline_s": round(seen - last, 3) if seen and last else None,
                "pings_before_signal": len([p for p in probe.pings if p <= t_signal]),
            }

        trials = list(await asyncio.gather(*(trial(p) for p in probes)))
    finally:
        for probe in probes:
            probe.end()
    detected = [t["signal_to_offline_s"] for t in trials if t["detected"]]
    since_last = [t["last_packet_to_offline_s"] for t in trials if t["last_packet_to_offline_s"] is not None]
    bound = 1.5 * keepalive
    return {
        "case": name,
        "signal": how.name,
        "keepalive_s": keepalive,
        "one_and_a_half_keepalive_s": bound if how is signal.SIGSTOP else None,
        "trials": trials,
        "signal_to_offline_s": percentiles(detected, 1.0, 3),
        "last_packet_to_offline_s": percentiles(since_last, 1.0, 3),
        "all_detected": all(t["detected"] for t in trials),
        **(
            {
                "within_1_5_keepalive_after_last_packet": sum(1 for x in since_last if x <= bound),
                "over_1_5_keepalive_by_at_most_s": round(max((x - bound for x in since_last), default=0.0), 3),
            }
            if how is signal.SIGSTOP
            else {}
        ),
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    cases: list[tuple[str, signal.Signals, int]] = [("killed", signal.SIGKILL, 5)]
    cases += [(f"frozen, keep-alive {k} s", signal.SIGSTOP, k) for k in args.keepalives]
    identities = {name: [f"probe-{i}-{j}" for j in range(args.trials)] for i, (name, _, _) in enumerate(cases)}
    report: dict[str, Any] = {
        "benchmark": "bus_presence",
        "parameters": {
            "trials_per_case": args.trials,
            "keepalives_s": args.keepalives,
            "signal_after": "uniform(1, 1 + 2 × keep-alive) s after the probe is online",
            "observer": "grid controller, MqttLink.on_presence (retained presence topic, will = offline)",
        },
        "machine": machine(),
        "load_before": loadavg(),
    }
    all_ids = [identity for ids in identities.values() for identity in ids]
    with fleet(all_ids, ["grid"]) as f:
        online: dict[str, float] = {}
        offline: dict[str, float] = {}

        def seen(presence: Presence) -> None:
            now = time.time()
            if presence.state is PresenceState.ONLINE:
                online.setdefault(presence.address, now)
            else:
                offline.setdefault(presence.address, now)

        bus = MqttBus(f.uri, keepalive_s=30)
        grid = await bus.connect(f"{DOMAIN}/grid", role=Role.CONTROLLER, credentials=f.credentials["grid"])
        grid.on_presence(seen)
        results = []
        for name, how, keepalive in cases:
            result = await run_case(f, online, offline, name, how, keepalive, identities[name])
            results.append(result)
            s, last = result["signal_to_offline_s"], result["last_packet_to_offline_s"]
            print(
                f"{name:>22}: signal→offline p50 {s.get('p50')} s max {s.get('max')} s; "
                + (
                    f"last packet→offline p50 {last.get('p50')} s max {last.get('max')} s (1.5 × keep-alive = "
                    f"{result['one_and_a_half_keepalive_s']} s); "
                    if last.get("count")
                    else ""
                )
                + f"detected {result['all_detected']}"
            )
        await grid.close()
        report["broker_log_keepalive_lines"] = [
            line for line in f.log_tail(50000).splitlines() if "exceeded timeout" in line or "keepalive" in line
        ][-20:]
    report["cases"] = results
    report["load_after"] = loadavg()
    return report


def main(argv: list[str] | None = None) -> int:
    if argv is None and len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(*sys.argv[2:7], int(sys.argv[7]))  # type: ignore[call-arg]
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=RESULTS / "bus_presence.json")
    parser.add_argument("--trials", type=int, default=8, help="probes per case (run side by side)")
    parser.add_argument("--keepalives", type=lambda s: [int(x) for x in s.split(",")], default=[2, 5, 10])
    parser.add_argument("--quick", action="store_true", help="2 probes per case, keep-alive 2 s only")
    args = parser.parse_args(argv)
    if args.quick:
        args.trials, args.keepalives = 2, [2]
        if args.out == RESULTS / "bus_presence.json":
            args.out = Path("/tmp/bus_presence.quick.json")
    exit_on_sigterm()
    quiet_logs()
    report = asyncio.run(run(args))
    write_report(report, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
