"""Emergency fan-out (issue 5 benchmark): time from the grid's emergency message to the last device in standby.

``homes`` simulated homes, each a real :class:`~flexcem.cem.CustomerEnergyManager` with one registered device
that takes ``standby``; the grid's :class:`~flexcem.grid.EmergencyProgram` declares one emergency to everyone
(``grid/all``). Measured: wall time from just before the program sends to the instant the last device handled
its ``standby`` command (each CEM receives the broadcast, looks up its devices and delivers the command with an
acknowledged request/response). In-process bus only so far: the Mosquitto variant (workers, TLS fleet as in
``bus_broadcast.py``) is not written yet and is reported as such.

Usage: ``python benchmarks/emergency_fanout.py [--homes 1000] [--runs 3]``; writes
``benchmarks/results/emergency_fanout.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import platform
import statistics
import time
from pathlib import Path
from typing import Any

from flexcem.bus import Endpoint, MemoryBus
from flexcem.cem import CemSettings, CustomerEnergyManager
from flexcem.clock.real import RealClock
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


async def in_process(homes: int, runs: int) -> dict[str, Any]:
    """Fan-out times [s] over the in-process bus, one fresh set of homes per run."""
    times = [await one_run(homes, run) for run in range(runs)]
    return {
        "homes": homes,
        "runs_s": [round(t, 4) for t in times],
        "median_s": round(statistics.median(times), 4),
        "target_s": 1.0,
        "met": statistics.median(times) < 1.0,
    }


async def one_run(homes: int, run: int) -> float:
    """One fan-out [s]: from just before the emergency is sent to the last device's standby."""
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
    return max(standby_at) - t0


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and write the report."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--homes", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    logging.disable(logging.WARNING)
    report = {
        "benchmark": "emergency_fanout",
        "machine": {"python": platform.python_version(), "cpus": __import__("os").cpu_count()},
        "in_process": asyncio.run(in_process(args.homes, args.runs)),
        "mosquitto": {"status": "not measured: the Mosquitto variant is not written yet", "target_s": 2.0},
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
