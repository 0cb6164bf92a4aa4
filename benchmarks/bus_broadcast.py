"""Time until the last of N endpoints has a broadcast (TR §3.3: notifications "just-in-time", within seconds).

N CEM endpoints (default 5,000) are connected through ``MqttBus.connect`` (mutual TLS, generated ACL) in worker
processes; a grid controller publishes broadcasts the way ``TariffProgram`` does (``Endpoint.send`` to
``grid/all``, retained, XML). Every worker notes, with ``time.time()`` (one machine: the clocks agree):

* ``arrival`` — when the message reached the endpoint's ``MqttLink`` (paho handed it over; before decoding);
* ``handled`` — when the endpoint's handler for the tariff ran (after XML decoding, validation, dispatch).

Series: the day-ahead tariff (24 hourly slots of CityLearn prices and CO2), a one-hour correction (1 slot),
and the day-ahead tariff again with decoding switched off in the workers (``transport``: broker fan-out,
TLS, paho only). A broadcast goes out only once every endpoint has the previous one.

The workers put ~N/2 simulated CEMs on each of the 2 cores, so the ``handled`` time of the last one includes
the decoding of all N copies on 2 cores; a real CEM decodes only its own copy (its ``decode`` time is
reported by ``bus_sizes.py``). ``arrival`` in the ``transport`` series is the broker's and transport's share.

Run: ``python benchmarks/bus_broadcast.py [--out benchmarks/results/bus_broadcast.json] [--quick]``
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
    Worker,
    connect_workers,
    day_ahead_tariff,
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
from flexcem.bus import Endpoint
from flexcem.bus.access import Role
from flexcem.bus.mqtt import MqttBus
from flexcem.clock import RealClock
from flexcem.codec import XmlCodec


async def _ask_all(workers: list[Worker], *command: Any) -> list[Any]:
    return list(await asyncio.gather(*(asyncio.to_thread(w.ask, *command) for w in workers)))


async def one_broadcast(
    workers: list[Worker], grid: Endpoint, body: Any, expected: int, decode: bool, timeout_s: float, broker_pid: int
) -> dict[str, Any]:
    """Send ``body`` to everyone and wait until all ``expected`` endpoints have it (or ``timeout_s``)."""
    await _ask_all(workers, "take")  # start from empty records
    broker_cpu0 = proc_cpu_s(broker_pid)
    t_send = time.time()
    await grid.send(f"{DOMAIN}/all", body, retain=True)
    t_acked = time.time()
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        counts = await _ask_all(workers, "count")
        arrived, handled = sum(c[0] for c in counts), sum(c[1] for c in counts)
        if arrived >= expected and (not decode or handled >= expected):
            break
        await asyncio.sleep(0.05)
    broker_cpu = proc_cpu_s(broker_pid) - broker_cpu0  # the polling above costs the broker nothing
    taken = await _ask_all(workers, "take")
    arrivals = [t - t_send for r in taken for t in r["arrivals"]]
    handled_times = [t - t_send for r in taken for (rev, t) in r["handled"] if rev == body.revision]
    result: dict[str, Any] = {
        "revision": body.revision,
        "slots": len(body.slots),
        "encoded_bytes": len(XmlCodec().encode(grid._envelope(f"{DOMAIN}/all", body))),
        "publish_acked_ms": round(1000 * (t_acked - t_send), 2),
        "broker_cpu_ms": round(1000 * broker_cpu, 1),
        "arrival_ms": percentiles(arrivals, 1000.0),
        "received": len(arrivals),
        "missing": expected - len(arrivals),
    }
    if decode:
        result["handled_ms"] = percentiles(handled_times, 1000.0)
        result["handled"] = len(handled_times)
    return result


def _summary(runs: list[dict[str, Any]], key: str) -> dict[str, Any]:
    lasts = [r[key]["max"] for r in runs if r[key].get("count")]
    return {
        "broadcasts": len(runs),
        "last_ms_each": lasts,
        "last_ms_worst": max(lasts) if lasts else None,
        "last_ms_median": sorted(lasts)[len(lasts) // 2] if lasts else None,
        "p50_ms_median": sorted(r[key]["p50"] for r in runs)[len(runs) // 2] if runs else None,
        "p95_ms_median": sorted(r[key]["p95"] for r in runs)[len(runs) // 2] if runs else None,
        "all_received": all(r["missing"] == 0 for r in runs),
        "broker_cpu_ms_each": [r["broker_cpu_ms"] for r in runs],
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    ids = endpoint_ids(args.endpoints)
    report: dict[str, Any] = {
        "benchmark": "bus_broadcast",
        "parameters": {
            "endpoints": args.endpoints,
            "workers": args.workers,
            "broadcasts_per_series": args.broadcasts,
            "gap_s": args.gap,
            "codec": "xml",
            "clock": "time.time() in every process (one machine)",
        },
        "machine": machine(),
        "load_before": loadavg(),
    }
    with fleet(ids, ["grid"]) as f:
        report["setup_s"] = f.setup_s
        creds = [(identity, f.credentials[identity]) for identity in ids]
        specs = [{"uri": f.uri, "endpoints": part, "concurrency": 16} for part in split(creds, args.workers)]
        workers = start_workers(endpoint_worker, specs)
        try:
            pids = await _ask_all(workers, "ping")
            connected = await connect_workers(workers)
            connected.pop("t0")
            report["connect"] = connected
            print(f"{connected['connected']} endpoints connected in {connected['time_to_all_connected_s']} s")
            bus = MqttBus(f.uri)
            link = await bus.connect(f"{DOMAIN}/grid", role=Role.CONTROLLER, credentials=f.credentials["grid"])
            grid = Endpoint(link, RealClock())
            await grid.start()
            expected = connected["connected"]
            await asyncio.sleep(2.0)  # let the connect burst settle (retained presences to the grid)
            series: dict[str, Any] = {}
            revision = 0
            plan = [
                ("day_ahead_24_slots", 24, True),
                ("correction_1_slot", 1, True),
                ("transport_only_24_slots", 24, False),
            ]
            meter = CpuMeter([f.pid, *pids, os.getpid()])
            for name, slots, decode in plan:
                await _ask_all(workers, "mode", decode)
                runs = []
                meter.start()
                for _ in range(args.broadcasts):
                    revision += 1
                    body = day_ahead_tariff(revision, slots=slots)
                    result = await one_broadcast(workers, grid, body, expected, decode, args.timeout, f.pid)
                    runs.append(result)
                    key = "handled_ms" if decode else "arrival_ms"
                    print(
                        f"{name} r{revision}: {result['received']}/{expected} arrived, "
                        f"last {result['arrival_ms'].get('max')} ms, broker CPU {result['broker_cpu_ms']} ms"
                        + (f"; handled last {result[key].get('max')} ms" if decode else "")
                    )
                    await asyncio.sleep(args.gap)
                cpu = meter.stop()
                series[name] = {
                    "decode_in_workers": decode,
                    "runs": runs,
                    "arrival": _summary(runs, "arrival_ms"),
                    **({"handled": _summary(runs, "handled_ms")} if decode else {}),
                    "cpu": cpu,
                }
            report["series"] = series
            report["broker"] = {"pid": f.pid, "process": proc_status(f.pid)}
            await grid.close()
        finally:
            stop_workers(workers)
    report["load_after"] = loadavg()
    day = report["series"]["day_ahead_24_slots"]
    transport = report["series"]["transport_only_24_slots"]
    report["target"] = {
        "what": "a broadcast to 5,000 received by all within 1 s",
        "endpoints": args.endpoints,
        "last_handled_ms_worst_day_ahead": day["handled"]["last_ms_worst"],
        "last_arrival_ms_worst_transport_only": transport["arrival"]["last_ms_worst"],
        "met_end_to_end_with_decoding": bool(day["handled"]["last_ms_worst"] is not None)
        and day["handled"]["last_ms_worst"] <= 1000.0
        and day["arrival"]["all_received"],
        "met_transport": bool(transport["arrival"]["last_ms_worst"] is not None)
        and transport["arrival"]["last_ms_worst"] <= 1000.0
        and transport["arrival"]["all_received"],
    }
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=RESULTS / "bus_broadcast.json")
    parser.add_argument("--endpoints", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--broadcasts", type=int, default=7, help="broadcasts per series")
    parser.add_argument("--gap", type=float, default=1.0, help="quiet time between broadcasts [s]")
    parser.add_argument("--timeout", type=float, default=30.0, help="longest wait for one broadcast [s]")
    parser.add_argument("--quick", action="store_true", help="200 endpoints, 3 broadcasts per series")
    args = parser.parse_args(argv)
    if args.quick:
        args.endpoints, args.broadcasts = min(args.endpoints, 200), min(args.broadcasts, 3)
        if args.out == RESULTS / "bus_broadcast.json":
            args.out = Path("/tmp/bus_broadcast.quick.json")
    exit_on_sigterm()
    quiet_logs()
    report = asyncio.run(run(args))
    write_report(report, args.out)
    for name, series in report["series"].items():
        key = "handled" if "handled" in series else "arrival"
        s = series[key]
        a = series["arrival"]
        print(
            f"{name:>24}: last endpoint {key} worst {s['last_ms_worst']} ms, median {s['last_ms_median']} ms "
            f"(p50 {s['p50_ms_median']}, p95 {s['p95_ms_median']}); arrival last worst {a['last_ms_worst']} ms; "
            f"all received {a['all_received']}; others used {series['cpu']['others_cores']} cores"
        )
    print(f"target (all within 1 s): {report['target']}; load {report['load_before']} -> {report['load_after']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
