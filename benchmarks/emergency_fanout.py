"""Emergency fan-out (issue 5 benchmark): time from the grid's emergency message to the last device in standby.

``homes`` simulated homes, each a real :class:`~flexcem.cem.CustomerEnergyManager` with one registered device
that takes ``standby``; the grid's :class:`~flexcem.grid.EmergencyProgram` declares one emergency to everyone
(``grid/all``). Measured: from just before the program sends to the instant each device handled its
``standby`` command (each CEM receives the broadcast, checks it, looks up its devices and delivers the command
with an acknowledged request/response); the last of them is the fan-out time. Targets: under 1 s in-process,
under 2 s over Mosquitto on this (2-core, shared) machine.

* ``in_process``: the in-process bus (no wire codec), one fresh set of homes per run.
* ``mosquitto``: one Mosquitto configured by flexcem (mutual TLS, generated ACL); each home is a CEM with two
  connections (grid endpoint, controller of its home domain) and a device with one (see ``emergency_mqtt.py``),
  the homes spread over worker processes, the grid in this process; XML on the wire. The same connected
  fleet takes ``runs`` emergencies, each ended (and all CEMs back to normal) before the next. Per home:
  ``arrival`` (the signal reached the CEM's link), ``signal`` (the CEM's handler started: decoded, validated,
  dispatched), ``standby`` (the device took the command), ``acked`` (the CEM had the device's CommandResult).
  The workers' set-up heap is frozen for the garbage collector (``--no-gc-freeze`` to leave it: see
  ``gc_note`` in the JSON). CPU of the broker, the workers and the grid process and the machine's load (what
  other processes took meanwhile) are recorded per run.

Usage: ``python benchmarks/emergency_fanout.py [--homes 1000] [--runs 3] [--mqtt-runs 5] [--workers 2]
[--only in_process|mosquitto] [--codec xml|json] [--no-gc-freeze] [--diagnostic NAME] [--hold S]``; writes
``benchmarks/results/emergency_fanout.json``. Sections a run does not measure are kept from the file;
``--diagnostic NAME`` stores a Mosquitto run under ``mosquitto_diagnostics.NAME`` instead of ``mosquitto``.
``--hold 10`` waits before the first emergency and prints the process ids, to attach ``py-spy record``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bus_common import (
    CpuMeter,
    Worker,
    exit_on_sigterm,
    loadavg,
    machine,
    percentiles,
    proc_cpu_s,
    proc_status,
    quiet_logs,
    split,
    start_workers,
    stop_workers,
)
from emergency_mqtt import DSO, GRID, broker, home_ids, home_worker
from flexcem.bus import Endpoint, MemoryBus
from flexcem.bus.access import Role
from flexcem.bus.mqtt import MqttBus
from flexcem.cem import CemSettings, CustomerEnergyManager
from flexcem.clock.real import RealClock
from flexcem.codec import codec_for
from flexcem.grid import EmergencyProgram, GridRegistry
from flexcem.model import (
    CommandKind,
    CommandResult,
    DeviceCapabilities,
    DeviceFunction,
    DeviceKind,
    DeviceRegistration,
    DeviceState,
    Envelope,
    SimpleCommand,
)

DOMAIN = "grid"
OUT = Path(__file__).parent / "results" / "emergency_fanout.json"


# -- in-process ---------------------------------------------------------------------------------------------------


async def in_process(homes: int, runs: int) -> dict[str, Any]:
    """Fan-out times [s] over the in-process bus, one fresh set of homes per run."""
    load_before = loadavg()
    results = [await one_run(homes, run) for run in range(runs)]
    times = [max(r) for r in results]
    return {
        "homes": homes,
        "bus": "MemoryBus, no wire codec; one process",
        "load_before": load_before,
        "load_after": loadavg(),
        "runs_s": [round(t, 4) for t in times],
        "per_home_ms_each_run": [percentiles(r, 1e3) for r in results],
        "median_s": round(statistics.median(times), 4),
        "worst_s": round(max(times), 4),
        "target_s": 1.0,
        "met": max(times) < 1.0,
    }


async def one_run(homes: int, run: int) -> list[float]:
    """One fan-out: per home [s] from just before the emergency is sent to its device's standby."""
    clock = RealClock()
    bus = MemoryBus()
    registry = GridRegistry(DOMAIN)
    cems: list[CustomerEnergyManager] = []
    standby_at: list[float] = []
    done = asyncio.Event()

    async def on_command(command: SimpleCommand, envelope: Envelope) -> CommandResult:
        standby_at.append(time.perf_counter())
        if len(standby_at) == homes:
            done.set()
        return CommandResult(device_id=command.device_id, command=command.command, success=True, state=DeviceState.IDLE)

    grid = EmergencyProgram(Endpoint(await bus.connect(f"{DOMAIN}/dso"), clock), registry)
    await grid.start()
    for k in range(homes):
        name = f"cem{k:04d}"
        registry.add_customer(name)
        settings = CemSettings(tariff_sources=(f"{DOMAIN}/dso",))
        cem = CustomerEnergyManager(Endpoint(await bus.connect(f"{DOMAIN}/{name}"), clock), settings)
        await cem.start()
        cems.append(cem)
        device = Endpoint(await bus.connect(f"{DOMAIN}/dev{k:04d}"), clock)
        device.on(SimpleCommand, on_command)
        await device.start()
        capabilities = DeviceCapabilities(
            device_id=f"dev{k:04d}",
            kind=DeviceKind.OTHER,
            functions=(DeviceFunction.SIMPLE_COMMANDS,),
            commands=(CommandKind.STANDBY,),
            max_power_w=1000.0,
        )
        await device.deliver(cem.endpoint.address, DeviceRegistration(capabilities=capabilities))
    t0 = time.perf_counter()
    await grid.declare(f"{DOMAIN}/all", confirm=False, emergency_id=f"em-{run}")
    await asyncio.wait_for(done.wait(), timeout=120.0)
    await asyncio.gather(*(cem.stop() for cem in cems))
    await grid.stop()
    return [t - t0 for t in standby_at]


# -- over Mosquitto -----------------------------------------------------------------------------------------------


async def _ask_all(workers: list[Worker], *command: Any, timeout_s: float = 600.0) -> list[Any]:
    return list(await asyncio.gather(*(asyncio.to_thread(w.ask, *command, timeout_s=timeout_s) for w in workers)))


def _home(name: str) -> int:
    return int(name.rsplit("-", 1)[1])


def _stage(taken: list[dict[str, Any]], key: str, t0: float) -> dict[int, float]:
    return {_home(name): t - t0 for r in taken for name, t in r[key].items()}


async def mosquitto_fanout(
    homes: int,
    runs: int,
    workers_n: int,
    gap_s: float,
    timeout_s: float,
    hold_s: float = 0.0,
    codec: str = "xml",
    gc_freeze: bool = True,
) -> dict[str, Any]:
    """Fan-out times over one Mosquitto with mutual TLS; ``runs`` emergencies to the same connected fleet."""
    report: dict[str, Any] = {
        "homes": homes,
        "workers": workers_n,
        "transport": "Mosquitto, mutual TLS (TLS 1.2+, client certificates, CRL, generated deny-by-default ACL), "
        f"MQTT 5, QoS 1, {codec.upper()} codec",
        "home": "CEM = CustomerEnergyManager on 2 connections (endpoint grid/cem-k, controller home-k/hcem-k), "
        "device = Endpoint on 1 connection (home-k/dev-k); see benchmarks/emergency_mqtt.py",
        "emergency": "EmergencyProgram.declare('grid/all', confirm=False), level normal; ended with "
        "EmergencyProgram.end(confirm=False) and every CEM back to normal before the next run",
        "clock": "time.time() in every process (one machine)",
        "gc_frozen_after_setup": gc_freeze,
        "gc_note": "each worker holds ~500 homes (~600k long-lived objects) that every full collection would scan "
        "again, a cost a real home (one CEM per process) does not have; frozen (gc.freeze) after set-up unless "
        "--no-gc-freeze; GC time per run is in runs[].gc_per_worker",
        "load_before": loadavg(),
        "target_s": 2.0,
    }
    with broker(homes) as b:
        report["setup_s"] = dict(b.setup_s)
        specs = [
            {
                "uri": b.uri,
                "homes": [(k, {i: b.credentials[i] for i in home_ids(k)}) for k in part],
                "concurrency": 8,
                "codec": codec,
                "gc_freeze": gc_freeze,
            }
            for part in split(list(range(homes)), workers_n)
        ]
        workers = start_workers(home_worker, specs)
        try:
            pids = await _ask_all(workers, "ping")
            t0 = time.time()
            connected = await _ask_all(workers, "connect", timeout_s=1800.0)
            report["connect"] = {
                "homes": sum(c["homes"] for c in connected),
                "registered_devices": sum(c["registered_devices"] for c in connected),
                "failed": sum(c["failed"] for c in connected),
                "failure_examples": [f for c in connected for f in c["failures"]][:10],
                "connections": 3 * sum(c["homes"] for c in connected) + 1,
                "gc_objects_per_worker": [c["gc_objects"] for c in connected],
                "gc_frozen_per_worker": [c["gc_frozen"] for c in connected],
                "time_s": round(time.time() - t0, 2),
            }
            print(f"connected: {report['connect']}")
            bus = MqttBus(b.uri, codec=codec_for(codec), keepalive_s=60)
            link = await bus.connect(f"{GRID}/{DSO}", role=Role.CONTROLLER, credentials=b.credentials[DSO])
            registry = GridRegistry(GRID)
            for k in range(homes):
                registry.add_customer(f"cem-{k:05d}")
            grid = EmergencyProgram(Endpoint(link, RealClock()), registry)
            await grid.start()
            await asyncio.sleep(3.0)  # let the connect burst settle (retained presences to the DSO)
            if hold_s:
                print(f"holding {hold_s} s: broker {b.pid}, workers {pids}, this process {os.getpid()}")
                await asyncio.sleep(hold_s)
            expected = report["connect"]["registered_devices"]
            meter = CpuMeter([b.pid, *pids, os.getpid()])
            results = []
            for run in range(runs):
                await _ask_all(workers, "arm")
                waits = [asyncio.create_task(asyncio.to_thread(w.answer, timeout_s + 30)) for w in workers]
                for w in workers:
                    w.pipe.send(("wait", timeout_s))
                load = loadavg()
                meter.start()
                broker_cpu0 = proc_cpu_s(b.pid)
                t0 = time.time()
                await grid.declare(f"{GRID}/all", confirm=False, emergency_id=f"em-{run}")
                t_sent = time.time()
                in_standby = sum(await asyncio.gather(*waits))
                t_done = time.time()
                cpu = meter.stop()
                broker_cpu = proc_cpu_s(b.pid) - broker_cpu0
                taken = await _ask_all(workers, "take")
                stages = {key: _stage(taken, key, t0) for key in ("arrived", "signalled", "standby", "acked")}
                standby = list(stages["standby"].values())
                last = max(standby) if standby else None
                result = {
                    "run": run,
                    "load_at_start": load,
                    "devices_in_standby": in_standby,
                    "missing": expected - in_standby,
                    "last_device_standby_s": round(last, 4) if last is not None else None,
                    "declare_returned_ms": round(1e3 * (t_sent - t0), 1),
                    "per_home_ms": {
                        "arrival": percentiles(list(stages["arrived"].values()), 1e3),
                        "signal_handler": percentiles(list(stages["signalled"].values()), 1e3),
                        "standby": percentiles(standby, 1e3),
                        "acked_at_cem": percentiles(list(stages["acked"].values()), 1e3),
                        "cem_to_device_ms": percentiles(
                            [
                                stages["standby"][k] - stages["signalled"][k]
                                for k in stages["standby"]
                                if k in stages["signalled"]
                            ],
                            1e3,
                        ),
                    },
                    "wall_until_all_reported_s": round(t_done - t0, 3),
                    "gc_per_worker": [r["gc"] for r in taken],
                    "broker_cpu_s": round(broker_cpu, 3),
                    "cpu": cpu,
                }
                results.append(result)
                print(
                    f"mosquitto run {run}: {in_standby}/{expected} in standby, "
                    f"last {result['last_device_standby_s']} s;"
                    f" arrival p50/max {result['per_home_ms']['arrival'].get('p50')}/"
                    f"{result['per_home_ms']['arrival'].get('max')} ms; broker CPU {result['broker_cpu_s']} s;"
                    f" cores {cpu['benchmark_cores']} (others {cpu['others_cores']})"
                )
                await grid.end(f"em-{run}", confirm=False)
                still = sum(await _ask_all(workers, "idle", timeout_s))
                if still:
                    print(f"warning: {still} CEM(s) still in emergency after the end")
                await asyncio.sleep(gap_s)
            report["runs"] = results
            report["broker"] = {"pid": b.pid, "process": proc_status(b.pid)}
            await grid.stop()
        finally:
            stop_workers(workers)
    lasts = [r["last_device_standby_s"] for r in results if r["last_device_standby_s"] is not None]
    report["load_after"] = loadavg()
    cpu_s = [round(sum(r["cpu"]["per_process_cpu_s"].values()), 3) for r in results]
    report["summary"] = {
        "last_device_standby_s_each_run": lasts,
        "median_s": round(statistics.median(lasts), 4) if lasts else None,
        "worst_s": round(max(lasts), 4) if lasts else None,
        "per_home_p50_ms_each_run": [r["per_home_ms"]["standby"].get("p50") for r in results],
        "per_home_p95_ms_each_run": [r["per_home_ms"]["standby"].get("p95") for r in results],
        "all_in_standby_every_run": all(r["missing"] == 0 for r in results),
        "broker_cpu_s_each_run": [r["broker_cpu_s"] for r in results],
        "benchmark_cpu_s_each_run": cpu_s,
        "client_cpu_ms_per_home_each_run": [
            round(1e3 * (c - r["broker_cpu_s"]) / homes, 2) for c, r in zip(cpu_s, results, strict=True)
        ],
        "others_cores_each_run": [r["cpu"]["others_cores"] for r in results],
        "met": bool(lasts) and max(lasts) < 2.0 and all(r["missing"] == 0 for r in results),
    }
    return report


def source() -> dict[str, Any]:
    """The commit measured, and whether the working tree differed from it (which files)."""
    root = Path(__file__).resolve().parents[1]

    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return "?"

    return {"commit": git("rev-parse", "HEAD"), "uncommitted": git("status", "--porcelain").splitlines()}


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and write the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--homes", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3, help="in-process runs (fresh homes each)")
    parser.add_argument("--mqtt-runs", type=int, default=5, help="emergencies to the connected Mosquitto fleet")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--gap", type=float, default=2.0, help="quiet time between emergencies [s]")
    parser.add_argument("--timeout", type=float, default=60.0, help="longest wait for one fan-out [s]")
    parser.add_argument("--hold", type=float, default=0.0, help="wait before the first emergency (to attach py-spy)")
    parser.add_argument("--only", choices=("in_process", "mosquitto"))
    parser.add_argument("--codec", choices=("xml", "json"), default="xml", help="wire codec over Mosquitto")
    parser.add_argument(
        "--diagnostic", metavar="NAME", help="run over Mosquitto only; store under mosquitto_diagnostics.NAME"
    )
    parser.add_argument(
        "--no-gc-freeze", action="store_true", help="leave the set-up homes to the workers' garbage collector"
    )
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    exit_on_sigterm()
    quiet_logs()
    logging.disable(logging.WARNING)
    # sections this run does not measure are kept from the file (each carries its command and source)
    report: dict[str, Any] = json.loads(args.out.read_text()) if args.out.exists() else {}
    report.update({"benchmark": "emergency_fanout", "machine": machine()})
    stamp = {"command": " ".join(["python", "benchmarks/emergency_fanout.py", *(argv or sys.argv[1:])]), **source()}
    if args.diagnostic:
        args.only = "mosquitto"
    if args.only in (None, "in_process"):
        report["in_process"] = {**stamp, **asyncio.run(in_process(args.homes, args.runs))}
    if args.only in (None, "mosquitto"):
        section = {
            **stamp,
            **asyncio.run(
                mosquitto_fanout(
                    args.homes,
                    args.mqtt_runs,
                    args.workers,
                    args.gap,
                    args.timeout,
                    args.hold,
                    args.codec,
                    not args.no_gc_freeze,
                )
            ),
        }
        if args.diagnostic:
            report.setdefault("mosquitto_diagnostics", {})[args.diagnostic] = section
        else:
            report["mosquitto"] = section
        print(json.dumps(section["summary"], indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    if report.get("in_process"):
        print(json.dumps({k: report["in_process"][k] for k in ("runs_s", "median_s", "met")}))
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
