"""Telemetry store (issue 6 benchmark): ingest rate and query times with 10 million stored readings.

A fleet of ``meters`` smart meters reads every 15 minutes; each meter's power is real CityLearn load
(buildings 1–6 of ``../shared/data`` when present, else the embedded building 1; hourly values interpolated
to 15 minutes, scaled per meter 0.6–1.4×, each meter shifted by whole days, every third meter with 4 kW of
PV so that it exports at noon), with its import/export registers [Wh] integrated from that power.

For each back-end (a SQLite file; PostgreSQL in a schema of its own, dropped afterwards):

1. **build**: ``meters × per_meter`` readings (default 1,000 × 10,000 = 10 M, i.e. 104 days per meter) by the
   fastest bulk path — meter by meter through the driver (SQLite ``executemany``; PostgreSQL ``COPY``) — timed
   apart, then ``ANALYZE``;
2. **ingest**: what a head-end does next — rounds of one reading per meter (a batch of ``meters`` readings,
   one transaction each) appended to the full table, through :meth:`GridStore.add_readings`: ``insert``
   (SQLAlchemy Core executemany = multi-row ``INSERT … VALUES``) and, for PostgreSQL, ``copy`` (binary ``COPY
   FROM STDIN``) and psycopg 3's own ``executemany`` (pipeline mode) on the raw connection; the ``-10-rounds``
   variants buffer ten rounds per transaction (what a head-end may do when it falls behind);
3. **queries** at the full size, through the store's API: the latest value of a random meter and one random
   day (96 readings) of a random meter; the first query of each kind is reported apart (cold).

Targets (issue 6): 20,000 readings/s into PostgreSQL; latest value < 30 ms, one day < 100 ms at 10 M rows.

Usage: ``python benchmarks/store_telemetry.py [--quick] [--meters 1000] [--per-meter 10000]
[--backends sqlite,postgresql] [--postgres URL]``; writes ``benchmarks/results/store_telemetry.json``
(``--quick``: 50 × 2,000 readings, to ``store_telemetry_quick.json``); a run of one back-end keeps the other's
figures from the file, marked with the time of their run.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy
from sqlalchemy import text

from bus_common import loadavg, machine, percentiles
from flexcem.data import CityLearnData
from flexcem.store import GridStore, MeterSample, create_schema, drop_schema
from flexcem.store.telemetry import COPY_SQL, COPY_TYPES, IngestMethod

RESULTS = Path(__file__).parent / "results"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "citylearn-2023-3-1"
POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
STEP = timedelta(minutes=15)
STEP_H = 0.25
SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"  # SQLAlchemy's text form of a DateTime in SQLite (UTC, naive)
PV_KW = 4.0
SQLITE_METHODS = (("insert", "insert", 1), ("insert-10-rounds", "insert", 10))
PG_METHODS = (("insert", "insert", 1), ("copy", "copy", 1), ("psycopg-executemany", "psycopg-executemany", 1),
              ("copy-10-rounds", "copy", 10))
"""(label, write path, head-end rounds per transaction): one round = one reading per meter."""


@dataclass
class Fleet:
    """Per-meter power series from real building loads [W]."""

    start: datetime
    loads_w: np.ndarray  # (buildings, hours)
    solar_w_per_kw: np.ndarray  # (hours,)
    source: str

    @classmethod
    def load(cls) -> Fleet:
        """Buildings 1–6 of the shared CityLearn set, else the embedded building 1."""
        if (SHARED / "Building_1.csv").exists():
            data = [CityLearnData.from_directory(SHARED, f"Building_{n}") for n in range(1, 7)]
            source = f"CityLearn 2023 phase 3, buildings 1-6 ({SHARED})"
        else:
            data = [CityLearnData.embedded()]
            source = "CityLearn 2023 phase 3, building 1 (embedded)"
        return cls(data[0].start.astimezone(UTC), np.vstack([d.base_load_w for d in data]),
                   data[0].solar_generation_w_per_kw, source)

    def series(self, meter: int, count: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Power [W], import and export registers [Wh] of ``meter`` for its first ``count`` readings."""
        buildings, hours = self.loads_w.shape
        load = self.loads_w[meter % buildings]
        shift = (meter // buildings) * 24 % hours
        k = np.arange(count)
        hour = (shift + k // 4) % hours
        after = (hour + 1) % hours
        fraction = (k % 4) / 4.0
        scale = 0.6 + 0.8 * ((meter * 0.6180339887) % 1.0)
        power = scale * (load[hour] + (load[after] - load[hour]) * fraction)
        if meter % 3 == 0:
            power = power - PV_KW * (self.solar_w_per_kw[hour] + (self.solar_w_per_kw[after]
                                                                  - self.solar_w_per_kw[hour]) * fraction)
        imported = np.concatenate(([0.0], np.cumsum(np.clip(power, 0, None) * STEP_H)[:-1]))
        exported = np.concatenate(([0.0], np.cumsum(np.clip(-power, 0, None) * STEP_H)[:-1]))
        return power, imported, exported


def meter_name(meter: int) -> str:
    """``meter-0001``…"""
    return f"meter-{meter:05d}"


def build(store: GridStore, fleet: Fleet, meters: int, per_meter: int, tail: int) -> tuple[dict[str, Any], list]:
    """Register the meters and bulk-load ``per_meter`` readings each; the next ``tail`` readings per meter."""
    keys = {meter: store.add_meter(meter_name(meter)) for meter in range(meters)}
    times = [fleet.start + k * STEP for k in range(per_meter)]
    backend = store.engine.dialect.name
    stamps: list[Any] = [t.replace(tzinfo=None).strftime(SQLITE_TIME) for t in times] if backend == "sqlite" else times
    tails: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    raw = store.engine.raw_connection()
    began = time.perf_counter()
    try:
        cursor = raw.cursor()
        for meter in range(meters):
            power, imported, exported = fleet.series(meter, per_meter + tail)
            tails.append((power[per_meter:], imported[per_meter:], exported[per_meter:]))
            rows = zip([keys[meter]] * per_meter, stamps, power[:per_meter].tolist(), imported[:per_meter].tolist(),
                       exported[:per_meter].tolist(), strict=True)
            if backend == "sqlite":
                cursor.executemany("INSERT INTO readings (meter, at, power_w, import_wh, export_wh) "
                                   "VALUES (?, ?, ?, ?, ?)", rows)
            else:
                with cursor.copy(COPY_SQL) as copy:
                    copy.set_types(COPY_TYPES)
                    for row in rows:
                        copy.write_row(row)
            if meter % 50 == 49:
                raw.commit()
        raw.commit()
        loaded = time.perf_counter() - began
        cursor.execute("ANALYZE")
        raw.commit()
        analysed = time.perf_counter() - began - loaded
    finally:
        raw.close()
    rows_total = meters * per_meter
    path = "sqlite3 executemany" if backend == "sqlite" else "binary COPY FROM STDIN"
    return {"path": f"{path}, meter by meter", "readings": rows_total, "seconds": round(loaded, 2),
            "readings_per_s": round(rows_total / loaded), "analyze_s": round(analysed, 2)}, tails


def head_end_rounds(fleet: Fleet, tails: list, first: int, rounds: int, per_meter: int) -> list[list[MeterSample]]:
    """Rounds ``first`` … of the tails: each one reading per meter at the same instant."""
    batches = []
    for r in range(first, first + rounds):
        at = fleet.start + (per_meter + r) * STEP
        batches.append([MeterSample(meter_name(m), at, float(p[r]), float(i[r]), float(e[r]))
                        for m, (p, i, e) in enumerate(tails)])
    return batches


def ingest(label: str, batches: list[list[MeterSample]], write: Callable[[list[MeterSample]], object]) -> dict:
    """Time ``write`` over the batches (each batch one transaction)."""
    per_batch = []
    for batch in batches:
        began = time.perf_counter()
        write(batch)
        per_batch.append(time.perf_counter() - began)
    readings = sum(len(b) for b in batches)
    total = sum(per_batch)
    return {"method": label, "batch": len(batches[0]), "batches": len(batches), "readings": readings,
            "seconds": round(total, 3), "readings_per_s": round(readings / total),
            "batch_ms": percentiles(per_batch, 1000.0)}


def psycopg_executemany(store: GridStore) -> Callable[[list[MeterSample]], None]:
    """psycopg 3's ``executemany`` (pipeline mode) on a raw connection, one transaction per batch."""
    keys = store.meter_keys()

    def write(batch: list[MeterSample]) -> None:
        raw = store.engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.executemany("INSERT INTO readings (meter, at, power_w, import_wh, export_wh) "
                               "VALUES (%s, %s, %s, %s, %s)",
                               [(keys[s.meter_id], s.at, s.power_w, s.import_wh, s.export_wh) for s in batch])
            raw.commit()
        finally:
            raw.close()

    return write


def queries(store: GridStore, fleet: Fleet, meters: int, per_meter: int, count: int) -> dict[str, Any]:
    """Latest value and one day of random meters through the store's API [ms]."""
    rng = random.Random(62746)
    days = per_meter // 96
    latest, day, rows = [], [], []
    for _ in range(count + 1):
        meter = meter_name(rng.randrange(meters))
        began = time.perf_counter()
        value = store.latest_reading(meter)
        latest.append(time.perf_counter() - began)
        assert value is not None
        start = fleet.start + timedelta(days=rng.randrange(days))
        meter = meter_name(rng.randrange(meters))
        began = time.perf_counter()
        found = store.readings(meter, start, start + timedelta(days=1))
        day.append(time.perf_counter() - began)
        rows.append(len(found))
    return {"queries": count, "latest_cold_ms": round(latest[0] * 1000, 2), "day_cold_ms": round(day[0] * 1000, 2),
            "latest_ms": percentiles(latest[1:], 1000.0), "day_ms": percentiles(day[1:], 1000.0),
            "day_rows": statistics.median(rows)}


def size_mb(store: GridStore, sqlite_path: Path | None) -> float:
    """Size of the readings (PostgreSQL: table + indexes) or the whole SQLite file [MB]."""
    if sqlite_path is not None:
        return round(sum(p.stat().st_size for p in sqlite_path.parent.iterdir()) / 2**20, 1)
    with store.engine.connect() as connection:
        return round(connection.execute(text("select pg_total_relation_size('readings')")).scalar_one() / 2**20, 1)


def run_backend(backend: str, args: argparse.Namespace, fleet: Fleet) -> dict[str, Any]:
    """Build, ingest and query on one back-end; the database is removed afterwards."""
    methods = PG_METHODS if backend == "postgresql" else SQLITE_METHODS
    tail = args.rounds * len(methods)
    workdir = Path(tempfile.mkdtemp(prefix="store-bench-", dir=args.tmp))
    schema = f"bench_store_{uuid.uuid4().hex[:10]}"
    if backend == "sqlite":
        sqlite_path: Path | None = workdir / "grid.db"
        store = GridStore.open(f"sqlite:///{sqlite_path}")
        version = sqlite3.sqlite_version
    else:
        sqlite_path = None
        create_schema(args.postgres, schema)
        store = GridStore.open(args.postgres, schema=schema)
        with store.engine.connect() as connection:
            version = connection.execute(text("show server_version")).scalar_one()
    result: dict[str, Any] = {"version": version}
    try:
        print(f"{backend}: building {args.meters} × {args.per_meter} readings …", flush=True)
        result["build"], tails = build(store, fleet, args.meters, args.per_meter, tail)
        print(f"{backend}: build {result['build']}", flush=True)
        result["ingest"] = {}
        for index, (label, method, together) in enumerate(methods):
            rounds = head_end_rounds(fleet, tails, index * args.rounds, args.rounds, args.per_meter)
            batches = [[s for r in rounds[i:i + together] for s in r] for i in range(0, len(rounds), together)]
            if method == "psycopg-executemany":
                write = psycopg_executemany(store)
            else:
                chosen: IngestMethod = "copy" if method == "copy" else "insert"

                def write(batch: list[MeterSample], chosen: IngestMethod = chosen) -> int:
                    return store.add_readings(batch, method=chosen)

            result["ingest"][label] = ingest(label, batches, write)
            print(f"{backend}: ingest {label}: {result['ingest'][label]['readings_per_s']} readings/s", flush=True)
        with store.engine.connect() as connection:
            result["rows"] = connection.execute(text("select count(*) from readings")).scalar_one()
        result["queries"] = queries(store, fleet, args.meters, args.per_meter, args.queries)
        print(f"{backend}: queries {result['queries']}", flush=True)
        result["size_mb"] = size_mb(store, sqlite_path)
    finally:
        store.close()
        if backend == "postgresql":
            drop_schema(args.postgres, schema)
        shutil.rmtree(workdir, ignore_errors=True)
    return result


def verdict(results: dict[str, Any]) -> dict[str, Any]:
    """The issue's targets against the figures."""
    out: dict[str, Any] = {}
    if "postgresql" in results:
        runs = results["postgresql"]["ingest"].values()
        rounds = [r for r in runs if not r["method"].endswith("-10-rounds")]
        best = max(rounds, key=lambda r: r["readings_per_s"])
        buffered = max(runs, key=lambda r: r["readings_per_s"])
        out["postgresql_ingest_20000_per_s"] = {
            "best_one_round_per_transaction": best["method"], "readings_per_s": best["readings_per_s"],
            "best_buffered": buffered["method"], "buffered_readings_per_s": buffered["readings_per_s"],
            "met": best["readings_per_s"] >= 20_000,
        }
    for backend, figures in results.items():
        q = figures["queries"]
        out[f"{backend}_latest_under_30_ms"] = {"p95_ms": q["latest_ms"]["p95"], "rows": figures["rows"],
                                                "met": q["latest_ms"]["p95"] < 30}
        out[f"{backend}_day_under_100_ms"] = {"p95_ms": q["day_ms"]["p95"], "rows": figures["rows"],
                                              "met": q["day_ms"]["p95"] < 100}
    return out


def main() -> None:
    """Run and write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: 50 meters × 2,000 readings")
    parser.add_argument("--meters", type=int, default=1000)
    parser.add_argument("--per-meter", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=30, help="head-end rounds per ingest method")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--postgres", default=POSTGRES)
    parser.add_argument("--tmp", default=None, help="directory for the SQLite file (default: the system's)")
    args = parser.parse_args()
    if args.quick:
        args.meters, args.per_meter, args.rounds, args.queries = 50, 2000, 20, 50
    free_gb = shutil.disk_usage(args.tmp or tempfile.gettempdir()).free / 2**30
    need_gb = args.meters * args.per_meter * 120 / 2**30 * 2
    if free_gb < need_gb + 2:
        raise SystemExit(f"{free_gb:.1f} GB free; this run needs about {need_gb:.1f} GB")
    fleet = Fleet.load()
    results: dict[str, Any] = {}
    started = time.time()
    load_before = loadavg()
    for backend in args.backends.split(","):
        results[backend] = run_backend(backend, args, fleet)
    document = {
        "benchmark": "store_telemetry",
        "generated": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {**machine(), "sqlalchemy": sqlalchemy.__version__, "load_before": load_before,
                    "load_after": loadavg()},
        "config": {"meters": args.meters, "readings_per_meter": args.per_meter, "interval_min": 15,
                   "batch": args.meters, "rounds_per_method": args.rounds, "queries": args.queries,
                   "data": fleet.source, "wall_s": round(time.time() - started, 1)},
        "results": results,
        "targets": verdict(results),
    }
    name = "store_telemetry_quick.json" if args.quick else "store_telemetry.json"
    RESULTS.mkdir(exist_ok=True)
    previous = RESULTS / name
    if previous.exists():  # a run of some back-ends keeps the others' figures (and says so)
        kept = json.loads(previous.read_text())
        for backend, figures in kept.get("results", {}).items():
            if backend not in results and kept.get("config", {}).get("meters") == args.meters:
                results[backend] = {**figures, "from_run": kept.get("generated")}
        document["targets"] = verdict(results)
    (RESULTS / name).write_text(json.dumps(document, indent=2) + "\n")
    print(json.dumps(document["targets"], indent=2))


if __name__ == "__main__":
    main()
