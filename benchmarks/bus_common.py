"""What the ``bus_*`` benchmarks share: a Mosquitto with the configuration flexcem generates, mutual TLS with a
PKI made for the run, machine and process figures from ``/proc``, percentiles and worker-process plumbing.

Every benchmark starts its own broker through :func:`fleet` (a temporary directory: ``flexcem.bus.pki`` makes a
CA, the broker's certificate and one client certificate per identity in one batch; ``write_broker_config``
writes the configuration and the deny-by-default ACL for the policy) and stops it, and every worker process it
started, on the way out — also after an error, Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import json
import multiprocessing
import os
import platform
import resource
import shutil
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from flexcem.bus.access import AccessPolicy, Grant, Identity, Role
from flexcem.bus.broker_config import BrokerFiles, write_broker_config
from flexcem.bus.pki import ClientCredentials, init_pki, issue_clients
from machine_speed import reference

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
DOMAIN = "grid"
"""The one domain of the benchmarks: the grid side of the SG CP."""
RESULTS = Path(__file__).resolve().parent / "results"
CLK_TCK = os.sysconf("SC_CLK_TCK")


# -- machine and processes ------------------------------------------------------------------------------------


def _version(module: str) -> str:
    try:
        from importlib.metadata import version

        return version(module)
    except Exception:
        return "?"


def mosquitto_version() -> str:
    """``mosquitto -h`` prints its version on the first line."""
    try:
        out = subprocess.run([MOSQUITTO, "-h"], capture_output=True, text=True, timeout=5)
        return (out.stdout or out.stderr).splitlines()[0].strip()
    except Exception:
        return "?"


def machine() -> dict[str, Any]:
    """What the benchmark ran on (the 2-core machine is shared with other work: see ``load``)."""
    return {
        "python": sys.version.split()[0],
        "mosquitto": mosquitto_version(),
        "openssl": ssl.OPENSSL_VERSION,
        "paho-mqtt": _version("paho-mqtt"),
        "aiomqtt": _version("aiomqtt"),
        "pydantic": _version("pydantic"),
        "lxml": _version("lxml"),
        "cpu_count": os.cpu_count(),
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "speed": reference(),
    }


def loadavg() -> list[float]:
    """The 1-, 5- and 15-minute load averages."""
    return [float(part) for part in Path("/proc/loadavg").read_text().split()[:3]]


def proc_status(pid: int) -> dict[str, int]:
    """Resident memory now and at its peak [kB], threads and open file descriptors of process ``pid``."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM", "Threads"):
            fields[key] = int(value.split()[0])
    try:
        fields["fds"] = len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        fields["fds"] = -1
    return {"rss_kb": fields.get("VmRSS", 0), "hwm_kb": fields.get("VmHWM", 0), "fds": fields["fds"]}


def proc_cpu_s(pid: int) -> float:
    """CPU time (user + system) process ``pid`` has used so far [s]."""
    text = Path(f"/proc/{pid}/stat").read_text()
    fields = text[text.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


class CpuMeter:
    """Busy CPU of the whole machine and of given processes between :meth:`start` and :meth:`stop`.

    ``others_cores`` is what processes other than ``pids`` used meanwhile (the machine is shared): a figure
    taken while others ran is a floor of what the machine can do, not its ceiling.
    """

    def __init__(self, pids: Sequence[int]) -> None:
        self.pids = list(pids)
        self._t0 = 0.0
        self._sys0: tuple[int, int] = (0, 0)
        self._own0: dict[int, float] = {}

    @staticmethod
    def _system() -> tuple[int, int]:
        parts = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
        idle = parts[3] + parts[4]
        return sum(parts[:8]), idle

    def start(self) -> None:
        self._t0 = time.monotonic()
        self._sys0 = self._system()
        self._own0 = {pid: proc_cpu_s(pid) for pid in self.pids}

    def stop(self) -> dict[str, Any]:
        wall = time.monotonic() - self._t0
        total, idle = self._system()
        busy_s = ((total - self._sys0[0]) - (idle - self._sys0[1])) / CLK_TCK
        own = {}
        for pid, before in self._own0.items():
            with contextlib.suppress(OSError):
                own[pid] = proc_cpu_s(pid) - before
        own_total = sum(own.values())
        return {
            "wall_s": round(wall, 3),
            "machine_busy_cores": round(busy_s / wall, 3) if wall else 0.0,
            "benchmark_cores": round(own_total / wall, 3) if wall else 0.0,
            "others_cores": round(max(0.0, busy_s - own_total) / wall, 3) if wall else 0.0,
            "per_process_cpu_s": {str(pid): round(value, 3) for pid, value in own.items()},
        }


def raise_fd_limit(wanted: int) -> int:
    """Raise this process's open-file limit (inherited by the broker and the workers) to ``wanted``."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, max(target, hard)))
        except (ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def percentiles(values: Sequence[float], scale: float = 1.0, digits: int = 2) -> dict[str, float]:
    """count, min, p50, p95, p99, max and mean of ``values`` × ``scale`` (nearest-rank percentiles)."""
    if not values:
        return {"count": 0}
    ordered = sorted(v * scale for v in values)

    def rank(q: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, int(-(-q * len(ordered) // 1)) - 1))]

    return {
        "count": len(ordered),
        "min": round(ordered[0], digits),
        "p50": round(rank(0.50), digits),
        "p95": round(rank(0.95), digits),
        "p99": round(rank(0.99), digits),
        "max": round(ordered[-1], digits),
        "mean": round(statistics.fmean(ordered), digits),
    }


def write_report(report: dict[str, Any], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"written to {out}")


def exit_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit so that ``finally`` blocks stop the broker and the workers."""

    def handler(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)


# -- the broker and its PKI -----------------------------------------------------------------------------------


def endpoint_ids(count: int, prefix: str = "cem") -> list[str]:
    """``cem-00000`` … : the CEMs of the benchmark."""
    return [f"{prefix}-{i:05d}" for i in range(count)]


def policy_for(endpoints: Sequence[str], controllers: Sequence[str]) -> AccessPolicy:
    """Every endpoint a CEM of :data:`DOMAIN`, every controller a grid program of it."""
    return AccessPolicy(
        identities=(
            *(Identity(id=c, grants=(Grant(domain=DOMAIN, role=Role.CONTROLLER),)) for c in controllers),
            *(Identity(id=e, grants=(Grant(domain=DOMAIN),)) for e in endpoints),
        )
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Fleet:
    """A running Mosquitto with mutual TLS and the credentials of every identity of the run."""

    directory: Path
    files: BrokerFiles
    port: int
    process: subprocess.Popen[bytes]
    credentials: dict[str, ClientCredentials]
    setup_s: dict[str, float] = field(default_factory=dict)

    @property
    def uri(self) -> str:
        return f"mqtts://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_tail(self, chars: int = 3000) -> str:
        return self.files.log.read_text(errors="replace")[-chars:] if self.files.log.exists() else "(no log)"

    def log_count(self, needle: str) -> int:
        if not self.files.log.exists():
            return 0
        with self.files.log.open(errors="replace") as log:
            return sum(needle in line for line in log)


def _wait_listening(port: int, process: subprocess.Popen[bytes], log: Path, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"mosquitto exited with {process.returncode}: {tail}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"mosquitto did not listen on {port} within {timeout_s} s")


@contextlib.contextmanager
def fleet(endpoints: Sequence[str], controllers: Sequence[str], *, fd_limit: int = 20_000) -> Iterator[Fleet]:
    """A PKI for ``endpoints`` + ``controllers`` and a Mosquitto configured by flexcem for them.

    Certificates are issued in one batch (``issue_clients``); the broker runs with ``max_connections -1`` and
    this process's file limit raised to ``fd_limit``; everything is removed at the end.
    """
    raise_fd_limit(fd_limit)
    directory = Path(tempfile.mkdtemp(prefix="flexcem-bench-"))
    process: subprocess.Popen[bytes] | None = None
    try:
        setup: dict[str, float] = {}
        pki = directory / "pki"
        t0 = time.perf_counter()
        init_pki(pki)
        ids = [*controllers, *endpoints]
        issued = issue_clients(pki, ids)
        setup["pki_issue_s"] = round(time.perf_counter() - t0, 3)
        t0 = time.perf_counter()
        policy = policy_for(endpoints, controllers)
        port = free_port()
        files = write_broker_config(
            policy, directory / "broker", port=port, pki=pki, run_as=getpass.getuser(), max_connections=-1
        )
        setup["broker_config_s"] = round(time.perf_counter() - t0, 3)
        process = subprocess.Popen(
            [MOSQUITTO, "-c", str(files.config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        _wait_listening(port, process, files.log)
        yield Fleet(directory, files, port, process, dict(zip(ids, issued, strict=True)), setup)
    finally:
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        shutil.rmtree(directory, ignore_errors=True)


# -- worker processes ----------------------------------------------------------------------------------------


def split(items: Sequence[Any], parts: int) -> list[list[Any]]:
    """``items`` in ``parts`` slices of nearly equal size (round robin)."""
    return [list(items[i::parts]) for i in range(parts)]


@dataclass
class Worker:
    """A worker process and the parent's end of its pipe."""

    process: multiprocessing.process.BaseProcess
    pipe: Connection

    def ask(self, *message: Any, timeout_s: float = 600.0) -> Any:
        self.pipe.send(message)
        return self.answer(timeout_s)

    def answer(self, timeout_s: float = 600.0) -> Any:
        if not self.pipe.poll(timeout_s):
            raise TimeoutError(f"worker {self.process.pid} did not answer within {timeout_s} s")
        reply = self.pipe.recv()
        if isinstance(reply, tuple) and reply and reply[0] == "error":
            raise RuntimeError(f"worker {self.process.pid} failed: {reply[1]}")
        return reply


def start_workers(target: Any, specs: Sequence[dict[str, Any]]) -> list[Worker]:
    """One spawned process per spec running ``target(spec, pipe)``."""
    context = multiprocessing.get_context("spawn")
    workers = []
    for spec in specs:
        parent, child = context.Pipe()
        process = context.Process(target=target, args=(spec, child), daemon=True)
        process.start()
        child.close()
        workers.append(Worker(process, parent))
    return workers


def stop_workers(workers: Sequence[Worker], timeout_s: float = 20.0) -> None:
    """Ask each worker to stop, then terminate (and kill) what is left."""
    for worker in workers:
        with contextlib.suppress(OSError, ValueError):
            worker.pipe.send(("stop",))
    deadline = time.monotonic() + timeout_s
    for worker in workers:
        worker.process.join(max(0.1, deadline - time.monotonic()))
    for worker in workers:
        if worker.process.is_alive():
            worker.process.terminate()
            worker.process.join(5)
        if worker.process.is_alive():
            worker.process.kill()
            worker.process.join(5)


async def command_loop(pipe: Connection, handle: Any) -> None:
    """In a worker: answer the parent's commands with ``await handle(command)`` until ``("stop",)``."""
    loop = asyncio.get_running_loop()
    commands: asyncio.Queue[Any] = asyncio.Queue()

    def readable() -> None:
        try:
            while pipe.poll():
                commands.put_nowait(pipe.recv())
        except (EOFError, OSError):
            commands.put_nowait(("stop",))
            loop.remove_reader(pipe.fileno())

    loop.add_reader(pipe.fileno(), readable)
    try:
        while True:
            command = await commands.get()
            if command[0] == "stop":
                return
            try:
                pipe.send(await handle(command))
            except Exception as error:
                pipe.send(("error", f"{type(error).__name__}: {error}"))
    finally:
        with contextlib.suppress(Exception):
            loop.remove_reader(pipe.fileno())


def quiet_logs() -> None:
    """Keep flexcem's and paho's per-connection logging off the benchmark's output (errors still show)."""
    import logging

    logging.basicConfig(level=logging.ERROR, format="%(processName)s %(name)s: %(message)s")


# -- the endpoint worker: CEMs on one process -------------------------------------------------------------------


def endpoint_worker(spec: dict[str, Any], pipe: Connection) -> None:
    """A worker process holding ``spec["endpoints"]`` [(id, ClientCredentials)] on ``spec["uri"]``.

    Each endpoint is an :class:`~flexcem.bus.Endpoint` over its own :class:`MqttLink` from ``MqttBus.connect``
    (mutual TLS, subscriptions, retained presence). It records when broadcasts arrive (in the link, before
    decoding: ``arrivals``) and when their handler ran (after decoding and dispatch: ``handled``), and, with
    ``spec["respond"]``, answers a StatusRequest with a DeviceStatus. Commands from the parent: ``connect``,
    ``status``, ``mode`` (decode broadcasts or only time them), ``count``, ``take``, ``stop``.
    """
    quiet_logs()
    try:
        asyncio.run(_endpoint_worker(spec, pipe))
    except BaseException as error:
        with contextlib.suppress(Exception):
            pipe.send(("error", f"{type(error).__name__}: {error}"))
    os._exit(0)  # no clean close of thousands of links: the kernel closes the sockets, the broker sends wills


async def _endpoint_worker(spec: dict[str, Any], pipe: Connection) -> None:
    from flexcem.bus import Endpoint
    from flexcem.bus.mqtt import MqttBus, MqttLink
    from flexcem.clock import RealClock
    from flexcem.codec import codec_for
    from flexcem.model import DeviceState, DeviceStatus, Envelope, PriceEnvironmentProfile, StatusRequest

    state = {"decode": True}
    arrivals: list[float] = []
    handled: list[tuple[int, float]] = []
    original = MqttLink.on_message

    def on_message(self: MqttLink, message: Any) -> None:
        if "/all/" in message.topic.value:
            arrivals.append(time.time())
            if not state["decode"]:
                return
        original(self, message)

    MqttLink.on_message = on_message  # type: ignore[method-assign]  # instrumentation only

    clock = RealClock()
    bus = MqttBus(
        spec["uri"],
        codec=codec_for(spec.get("codec", "xml")),
        keepalive_s=spec.get("keepalive_s", 60),
        connect_timeout_s=spec.get("connect_timeout_s", 30),
    )
    links: list[MqttLink] = []
    endpoints: list[Endpoint] = []

    async def tariff(body: PriceEnvironmentProfile, envelope: Envelope) -> None:
        handled.append((body.revision, time.time()))

    async def status(body: StatusRequest, envelope: Envelope) -> DeviceStatus:
        return DeviceStatus(device_id=body.device_id, state=DeviceState.IDLE, at=clock.now())

    async def connect_all() -> dict[str, Any]:
        semaphore = asyncio.Semaphore(spec.get("concurrency", 32))
        starts: list[float] = []
        ends: list[float] = []
        failures: dict[str, int] = {}
        examples: list[str] = []

        async def one(identity: str, credentials: Any) -> None:
            async with semaphore:
                t0 = time.time()
                try:
                    link = await bus.connect(f"{DOMAIN}/{identity}", credentials=credentials)
                except Exception as error:
                    key = type(error).__name__
                    failures[key] = failures.get(key, 0) + 1
                    if len(examples) < 5:
                        examples.append(f"{identity}: {key}: {str(error)[:300]}")
                    return
                endpoint = Endpoint(link, clock)
                endpoint.on(PriceEnvironmentProfile, tariff)
                if spec.get("respond"):
                    endpoint.on(StatusRequest, status)
                await endpoint.start()
                links.append(link)
                endpoints.append(endpoint)
                starts.append(t0)
                ends.append(time.time())

        await asyncio.gather(*(one(identity, credentials) for identity, credentials in spec["endpoints"]))
        return {
            "connected": len(links),
            "failures": failures,
            "failure_examples": examples,
            "starts": starts,
            "ends": ends,
            "process": proc_status(os.getpid()),
        }

    async def handle(command: tuple[Any, ...]) -> Any:
        what = command[0]
        if what == "ping":
            return os.getpid()
        if what == "connect":
            return await connect_all()
        if what == "status":
            return {
                "links": len(links),
                "connected": sum(link.connected for link in links),
                "reconnects": sum(max(0, link.statistics.connections - 1) for link in links),
                "process": proc_status(os.getpid()),
            }
        if what == "mode":
            state["decode"] = bool(command[1])
            return state["decode"]
        if what == "count":
            return len(arrivals), len(handled)
        if what == "take":
            taken = {"arrivals": list(arrivals), "handled": list(handled)}
            arrivals.clear()
            handled.clear()
            return taken
        raise ValueError(f"unknown command {what!r}")

    await command_loop(pipe, handle)


# -- realistic messages -----------------------------------------------------------------------------------------

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "citylearn-2023-3-1"
if not DATA.exists():
    DATA = Path("/work/shared/data/citylearn-2023-3-1")


def _column(name: str) -> list[float]:
    lines = (DATA / name).read_text().splitlines()[1:]
    return [float(line.split(",")[0]) for line in lines if line.strip()]


def day_ahead_tariff(revision: int = 0, *, slots: int = 24, day: int = 0) -> Any:
    """The retailer's day-ahead tariff (TariffProgram's broadcast): ``slots`` hourly prices and CO2 intensities
    of day ``day`` of CityLearn 2023 phase 3-1 (``pricing.csv`` USD/kWh, ``carbon_intensity.csv`` kg → g/kWh).

    ``slots`` < 24 gives a correction of the first hours (same profile id, the given ``revision``)."""
    from datetime import datetime, timedelta, timezone

    from flexcem.model import BindingLevel, PriceEnvironmentProfile, PriceSlot, TariffKind

    price, carbon = _column("pricing.csv"), _column("carbon_intensity.csv")
    origin = datetime(2023, 6, 1, tzinfo=timezone(timedelta(hours=-7))) + timedelta(days=day)
    first = 24 * day
    return PriceEnvironmentProfile(
        profile_id=f"day-ahead-{origin:%Y%m%d}",
        revision=revision,
        issued_at=origin - timedelta(hours=12),
        currency="USD",
        binding=BindingLevel.BINDING,
        kind=TariffKind.DAY_AHEAD,
        tariff_name="day-ahead",
        slots=tuple(
            PriceSlot(
                start=origin + timedelta(hours=h),
                duration=timedelta(hours=1),
                price_per_kwh=price[first + h],
                co2_g_per_kwh=round(carbon[first + h] * 1000.0, 1),
            )
            for h in range(slots)
        ),
    )


async def connect_workers(workers: Sequence[Worker], timeout_s: float = 1800.0) -> dict[str, Any]:
    """Have every endpoint worker connect its share; a summary of all of them."""
    t0 = time.time()
    for worker in workers:
        worker.pipe.send(("connect",))
    results = await asyncio.gather(*(asyncio.to_thread(w.answer, timeout_s) for w in workers))
    ends = [e for r in results for e in r["ends"]]
    failures: dict[str, int] = {}
    for r in results:
        for key, value in r["failures"].items():
            failures[key] = failures.get(key, 0) + value
    connected = sum(r["connected"] for r in results)
    span = (max(ends) - t0) if ends else 0.0
    return {
        "connected": connected,
        "failures": failures,
        "failure_examples": [x for r in results for x in r["failure_examples"]][:10],
        "time_to_all_connected_s": round(span, 3),
        "rate_per_s": round(connected / span, 1) if span else 0.0,
        "latency_ms": percentiles([e - s for r in results for s, e in zip(r["starts"], r["ends"], strict=True)], 1e3),
        "t0": t0,
    }
