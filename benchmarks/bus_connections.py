"""How many mutual-TLS endpoints one Mosquitto holds at once (TR §3.3: "many customers … connected in parallel").

N CEM endpoints (default 5,000) connect through ``MqttBus.connect`` — mutual TLS with a certificate each (CN =
endpoint id, issued in one batch for the run), the generated deny-by-default ACL, subscriptions to inbox,
groups, broadcasts and services, retained presence online — spread over worker processes (one per core by
default: one Python process is CPU-bound at ~100 connects/s). A grid controller connected first watches the
presences come online. Then everything is held for ``--hold`` seconds to check that nothing drops and to see
what an idle fleet costs the broker (keep-alives, persistence autosave).

Reported: connect rate, time until all are connected (and until the grid has seen all online), per-connect
latency, failures, the broker's RSS (``/proc/PID/status``) before and after and per connection, the broker's
CPU time per connection (TLS handshake + session setup), the client processes' RSS, and the machine's load.

Run: ``python benchmarks/bus_connections.py [--out benchmarks/results/bus_connections.json] [--quick]``
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from pathlib import Path
from typing import Any

from bus_common import (
    DOMAIN,
    RESULTS,
    CpuMeter,
    endpoint_ids,
    endpoint_worker,
    exit_on_sigterm,
    fleet,
    loadavg,
    machine,
    percentiles,
    proc_cpu_s,
    proc_status,
    quiet_logs,
    split,
    start_workers,
    stop_workers,
    write_report,
)
from flexcem.bus.access import Role
from flexcem.bus.mqtt import MqttBus
from flexcem.model import Presence, PresenceState


async def run(args: argparse.Namespace) -> dict[str, Any]:
    ids = endpoint_ids(args.endpoints)
    report: dict[str, Any] = {
        "benchmark": "bus_connections",
        "parameters": {
            "endpoints": args.endpoints,
            "workers": args.workers,
            "concurrency_per_worker": args.concurrency,
            "keepalive_s": args.keepalive,
            "hold_s": args.hold,
            "what_a_connect_is": "MqttBus.connect: TLS 1.3 mutual handshake (ECDSA P-256), MQTT 5 CONNECT with will "
            "and session expiry, SUBSCRIBE to inbox + grp/+ + all/+ + svc/+, retained presence online "
            "published at QoS 1 and acknowledged",
        },
        "machine": machine(),
        "load_before": loadavg(),
    }
    t_setup = time.perf_counter()
    with fleet(ids, ["grid"]) as f:
        report["setup_s"] = {**f.setup_s, "total_s": round(time.perf_counter() - t_setup, 3)}
        print(f"broker on {f.uri} (pid {f.pid}); setup {report['setup_s']}")
        broker_idle = proc_status(f.pid)
        creds = [(identity, f.credentials[identity]) for identity in ids]
        specs = [
            {"uri": f.uri, "endpoints": part, "concurrency": args.concurrency, "keepalive_s": args.keepalive}
            for part in split(creds, args.workers)
        ]
        workers = start_workers(endpoint_worker, specs)
        try:
            pids = [await asyncio.to_thread(w.ask, "ping") for w in workers]
            # The grid controller: sees every presence come online.
            online: dict[str, float] = {}

            def seen(presence: Presence) -> None:
                if presence.state is PresenceState.ONLINE and presence.address != f"{DOMAIN}/grid":
                    online.setdefault(presence.address, time.time())

            bus = MqttBus(f.uri, keepalive_s=args.keepalive)
            grid = await bus.connect(f"{DOMAIN}/grid", role=Role.CONTROLLER, credentials=f.credentials["grid"])
            grid.on_presence(seen)

            meter = CpuMeter([f.pid, *pids, os.getpid()])
            broker_cpu0 = proc_cpu_s(f.pid)
            meter.start()
            t0 = time.time()
            for worker in workers:
                worker.pipe.send(("connect",))
            results = await asyncio.gather(*(asyncio.to_thread(w.answer, 1800) for w in workers))
            t_done = time.time()
            connect_cpu = meter.stop()
            broker_cpu_connect = proc_cpu_s(f.pid) - broker_cpu0
            deadline = time.monotonic() + 60
            connected = sum(r["connected"] for r in results)
            while len(online) < connected and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            ends = [e for r in results for e in r["ends"]]
            latencies = [e - s for r in results for s, e in zip(r["starts"], r["ends"], strict=True)]
            failures: dict[str, int] = {}
            for r in results:
                for key, value in r["failures"].items():
                    failures[key] = failures.get(key, 0) + value
            broker_connected = proc_status(f.pid)
            span = (max(ends) - t0) if ends else float("nan")
            print(
                f"{connected}/{args.endpoints} connected in {span:.1f} s ({connected / span:.0f}/s), "
                f"failures {failures or 'none'}; grid saw {len(online)} online"
            )
            # Hold: nothing may drop; what does an idle fleet cost?
            hold = CpuMeter([f.pid, *pids, os.getpid()])
            hold.start()
            await asyncio.sleep(args.hold)
            idle_cpu = hold.stop()
            statuses = [await asyncio.to_thread(w.ask, "status") for w in workers]
            broker_held = proc_status(f.pid)
            still = sum(s["connected"] for s in statuses)
            reconnects = sum(s["reconnects"] for s in statuses)
            client_rss_kb = sum(s["process"]["rss_kb"] for s in statuses)
            per_conn_broker_kb = (broker_held["rss_kb"] - broker_idle["rss_kb"]) / max(1, connected)
            report.update(
                {
                    "connected": connected,
                    "failures": failures,
                    "failure_examples": [x for r in results for x in r["failure_examples"]][:10],
                    "connect": {
                        "time_to_all_connected_s": round(span, 3),
                        "rate_per_s": round(connected / span, 1) if ends else 0.0,
                        "latency_ms": percentiles(latencies, 1000.0),
                        "time_until_grid_saw_all_online_s": round(max(online.values()) - t0, 3) if online else None,
                        "grid_saw_online": len(online),
                        "cpu": connect_cpu,
                        "broker_cpu_ms_per_connect": round(1000.0 * broker_cpu_connect / max(1, connected), 3),
                        "client_cpu_ms_per_connect": round(
                            1000.0
                            * sum(connect_cpu["per_process_cpu_s"].get(str(p), 0.0) for p in pids)
                            / max(1, connected),
                            3,
                        ),
                        "wall_from_command_to_last_answer_s": round(t_done - t0, 3),
                    },
                    "held": {
                        "after_s": args.hold,
                        "still_connected": still,
                        "reconnects": reconnects,
                        "grid_presence_online": sum(
                            p.state is PresenceState.ONLINE
                            for a, p in grid.presences().items()
                            if a != f"{DOMAIN}/grid"
                        ),
                        "idle_cpu": idle_cpu,
                        "broker_idle_cpu_cores": round(
                            idle_cpu["per_process_cpu_s"].get(str(f.pid), 0.0) / idle_cpu["wall_s"], 4
                        ),
                    },
                    "broker": {
                        "pid": f.pid,
                        "before": broker_idle,
                        "all_connected": broker_connected,
                        "after_hold": broker_held,
                        "rss_per_connection_kb": round(per_conn_broker_kb, 2),
                        "persistence_db_bytes": sum(
                            p.stat().st_size for p in f.files.data.glob("*.db*") if p.is_file()
                        ),
                        "autosave_interval_s": 1,
                        "log_new_connections": f.log_count("New client connected"),
                        "log_errors_or_warnings": [
                            line for line in f.log_tail(20000).splitlines() if "rror" in line or "arning" in line
                        ][-10:],
                    },
                    "clients": {
                        "processes": len(workers),
                        "rss_kb_total": client_rss_kb,
                        "rss_kb_per_endpoint": round(client_rss_kb / max(1, connected), 1),
                        "per_process": [s["process"] for s in statuses],
                    },
                }
            )
            await grid.close()
        finally:
            stop_workers(workers)
    report["load_after"] = loadavg()
    report["target"] = {
        "endpoints": 5000,
        "met": report.get("connected", 0) >= 5000
        and not report.get("failures")
        and report.get("held", {}).get("still_connected", 0) >= 5000,
    }
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=RESULTS / "bus_connections.json")
    parser.add_argument("--endpoints", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--concurrency", type=int, default=16, help="connects in flight per worker")
    parser.add_argument("--keepalive", type=int, default=60, help="keep-alive of every link [s]")
    parser.add_argument("--hold", type=float, default=30.0, help="how long all are held connected [s]")
    parser.add_argument("--quick", action="store_true", help="200 endpoints, 3 s hold")
    args = parser.parse_args(argv)
    if args.quick:
        args.endpoints, args.hold = min(args.endpoints, 200), min(args.hold, 3.0)
        if args.out == RESULTS / "bus_connections.json":
            args.out = Path("/tmp/bus_connections.quick.json")
    exit_on_sigterm()
    quiet_logs()
    report = asyncio.run(run(args))
    write_report(report, args.out)
    c = report["connect"]
    b = report["broker"]
    print(
        f"connected {report['connected']} (failures {report['failures'] or 'none'}); "
        f"rate {c['rate_per_s']}/s, all in {c['time_to_all_connected_s']} s, latency p50 {c['latency_ms']['p50']} ms "
        f"p95 {c['latency_ms']['p95']} ms; broker RSS {b['before']['rss_kb']} -> {b['after_hold']['rss_kb']} kB "
        f"({b['rss_per_connection_kb']} kB/connection), {c['broker_cpu_ms_per_connect']} ms broker CPU/connect; "
        f"clients {report['clients']['rss_kb_per_endpoint']} kB/endpoint; held {report['held']['still_connected']} "
        f"after {report['held']['after_s']} s, broker idle {report['held']['broker_idle_cpu_cores']} cores; "
        f"load {report['load_before']} -> {report['load_after']}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
