"""The Mosquitto half of ``emergency_fanout.py``: 1,000 homes, each a real CEM and one device, over mutual TLS.

A home, as ``docs/sgcp-mqtt.md`` describes the deployment: the CEM is an **endpoint of the grid domain**
(``grid/cem-00000``: it reads the grid's broadcasts and its own inbox, writes only its outbox) and the
**controller of its home domain** (``home-00000/hcem-00000``: it writes its devices' inboxes), each on a
connection and certificate of its own ("an actor that takes part in two domains has two certificates"); the
device is an endpoint of the home domain (``home-00000/dev-00000``) on a third connection. Three mutual-TLS
connections per home, all on the one Mosquitto. The :class:`~flexcem.cem.CustomerEnergyManager` takes one
:class:`~flexcem.bus.Endpoint`, so :class:`~flexcem.bus.two_domain.TwoDomainLink` joins its two links under it: it sends
over the link of the recipient's domain (stamped with that link's address) and receives from both. Nothing
else of the CEM is changed or bypassed: the EmergencySignal is decoded and checked by the CEM's endpoint, its
``EmergencyControl`` decides, and the ``standby`` command goes to the device with ``Endpoint.deliver``
(acknowledged by the device's ``CommandResult``).

Why not one domain, as the use-case tests over Mosquitto have it (CEM a controller next to the DSO)? A
controller reads the domain's whole presence: 1,000 CEM controllers in one domain with 1,000 devices would
each get every device's retained presence (a million deliveries at connect) and could write every other
home's device inboxes. One domain per home is what the ACL is made for.

The homes live in worker processes (``spec["homes"]``), the grid's :class:`~flexcem.grid.EmergencyProgram`
(``grid/dso``, a controller) in the parent; every process notes ``time.time()`` (one machine: one clock).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import getpass
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from bus_common import MOSQUITTO, _wait_listening, command_loop, free_port, proc_status, quiet_logs, raise_fd_limit
from flexcem.bus.access import AccessPolicy, Grant, Identity, Role
from flexcem.bus.broker_config import BrokerFiles, write_broker_config
from flexcem.bus.mqtt import MqttLink
from flexcem.bus.pki import ClientCredentials, init_pki, issue_clients
from flexcem.bus.two_domain import TwoDomainLink
from flexcem.model import Envelope

GRID = "grid"
DSO = "dso"


def home_domain(k: int) -> str:
    return f"home-{k:05d}"


def home_ids(k: int) -> tuple[str, str, str]:
    """The three identities of home ``k``: the CEM towards the grid, the CEM towards its devices, the device."""
    return f"cem-{k:05d}", f"hcem-{k:05d}", f"dev-{k:05d}"


def policy_for(homes: int) -> AccessPolicy:
    """The DSO controls ``grid``; each CEM is an endpoint there and controls its home domain with one device."""
    identities = [Identity(id=DSO, grants=(Grant(domain=GRID, role=Role.CONTROLLER),))]
    for k in range(homes):
        cem, hcem, dev = home_ids(k)
        identities += [
            Identity(id=cem, grants=(Grant(domain=GRID, role=Role.ENDPOINT),)),
            Identity(id=hcem, grants=(Grant(domain=home_domain(k), role=Role.CONTROLLER),)),
            Identity(id=dev, grants=(Grant(domain=home_domain(k), role=Role.ENDPOINT),)),
        ]
    return AccessPolicy(identities=tuple(identities))


@dataclass
class Broker:
    """A running Mosquitto with the configuration flexcem generates (mutual TLS) and every identity's keys."""

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


@contextlib.contextmanager
def broker(homes: int, *, fd_limit: int = 20_000) -> Iterator[Broker]:
    """PKI, configuration and a Mosquitto for ``homes`` homes, as ``bus_common.fleet`` and the tests' harness
    make theirs (``init_pki``/``issue_clients``, ``write_broker_config`` = ``flexcem broker-config``); stopped
    and removed on the way out."""
    raise_fd_limit(fd_limit)
    directory = Path(tempfile.mkdtemp(prefix="flexcem-emergency-"))
    process: subprocess.Popen[bytes] | None = None
    try:
        setup: dict[str, float] = {}
        pki = directory / "pki"
        t0 = time.perf_counter()
        init_pki(pki)
        policy = policy_for(homes)
        ids = [identity.id for identity in policy.identities]
        issued = issue_clients(pki, ids)
        setup["pki_issue_s"] = round(time.perf_counter() - t0, 3)
        t0 = time.perf_counter()
        port = free_port()
        files = write_broker_config(
            policy, directory / "broker", port=port, pki=pki, run_as=getpass.getuser(), max_connections=-1
        )
        setup["broker_config_s"] = round(time.perf_counter() - t0, 3)
        process = subprocess.Popen(
            [MOSQUITTO, "-c", str(files.config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        _wait_listening(port, process, files.log)
        yield Broker(directory, files, port, process, dict(zip(ids, issued, strict=True)), setup)
    finally:
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        shutil.rmtree(directory, ignore_errors=True)


class _GcClock:
    """Time this process spent in the garbage collector since :meth:`reset`, per generation: wall and CPU
    (the CPU figure is the one to read on a loaded machine, where a collection may be preempted)."""

    def __init__(self) -> None:
        self._t0 = (0.0, 0.0)
        self.reset()
        gc.callbacks.append(self._callback)

    def reset(self) -> None:
        self.wall = [0.0, 0.0, 0.0]
        self.cpu = [0.0, 0.0, 0.0]
        self.count = [0, 0, 0]
        self.collected = [0, 0, 0]

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._t0 = (time.perf_counter(), time.thread_time())
        else:
            generation = info["generation"]
            self.wall[generation] += time.perf_counter() - self._t0[0]
            self.cpu[generation] += time.thread_time() - self._t0[1]
            self.count[generation] += 1
            self.collected[generation] += info.get("collected", 0)

    def report(self) -> dict[str, Any]:
        return {
            "wall_s": [round(s, 3) for s in self.wall],
            "cpu_s": [round(s, 3) for s in self.cpu],
            "collections": list(self.count),
            "collected_objects": list(self.collected),
            "tracked_objects_now": len(gc.get_objects()),
        }


def _freeze() -> int:
    """Move everything alive now (the homes as set up) out of the collector's reach; how many objects."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


# -- the worker: homes on one process ---------------------------------------------------------------------------


def home_worker(spec: dict[str, Any], pipe: Connection) -> None:
    """A worker process holding the homes ``spec["homes"]`` [(k, {identity: ClientCredentials})] on
    ``spec["uri"]``. Commands: ``ping``, ``connect``, ``arm`` (forget the last emergency's times), ``wait``
    (answers once every device of the worker is in standby), ``take``, ``idle`` (answers once no CEM has an
    emergency in force), ``stop``."""
    quiet_logs()
    try:
        asyncio.run(_home_worker(spec, pipe))
    except BaseException as error:
        with contextlib.suppress(Exception):
            pipe.send(("error", f"{type(error).__name__}: {error}"))
    os._exit(0)  # no clean close of thousands of links: the kernel closes the sockets


async def _home_worker(spec: dict[str, Any], pipe: Connection) -> None:
    from flexcem.bus import Endpoint
    from flexcem.bus.mqtt import MqttBus
    from flexcem.cem import CemSettings, CustomerEnergyManager
    from flexcem.clock import RealClock
    from flexcem.codec import codec_for
    from flexcem.model import (
        CommandKind,
        CommandResult,
        DeviceCapabilities,
        DeviceFunction,
        DeviceKind,
        DeviceRegistration,
        DeviceState,
        EmergencySignal,
        SimpleCommand,
    )

    arrived: dict[str, float] = {}  # grid link address -> when the EmergencySignal reached the link (undecoded)
    signalled: dict[str, float] = {}  # CEM address -> when its emergency handler started (decoded, checked)
    standby: dict[str, float] = {}  # device id -> when the device took the standby command
    done = asyncio.Event()
    collections = _GcClock()
    original = MqttLink.on_message

    def on_message(self: MqttLink, message: Any) -> None:
        if message.topic.value.endswith("/all/EmergencySignal"):
            arrived.setdefault(self.address, time.time())
        original(self, message)

    MqttLink.on_message = on_message  # type: ignore[method-assign]  # instrumentation only

    clock = RealClock()
    bus = MqttBus(spec["uri"], codec=codec_for(spec.get("codec", "xml")), keepalive_s=60, connect_timeout_s=60)
    cems: list[CustomerEnergyManager] = []
    devices: list[Endpoint] = []
    homes = spec["homes"]

    async def on_command(command: SimpleCommand, envelope: Envelope) -> CommandResult:
        if command.command is CommandKind.STANDBY:
            standby.setdefault(command.device_id, time.time())
            if len(standby) >= len(cems):
                done.set()
        return CommandResult(device_id=command.device_id, command=command.command, success=True, state=DeviceState.IDLE)

    async def connect_home(k: int, credentials: dict[str, ClientCredentials]) -> None:
        cem_id, hcem_id, dev_id = home_ids(k)
        home = home_domain(k)
        grid_link = await bus.connect(f"{GRID}/{cem_id}", credentials=credentials[cem_id])
        home_link = await bus.connect(f"{home}/{hcem_id}", role=Role.CONTROLLER, credentials=credentials[hcem_id])
        settings = CemSettings(tariff_sources=(f"{GRID}/{DSO}",))
        cem = CustomerEnergyManager(Endpoint(TwoDomainLink(grid_link, home_link), clock), settings)
        original_handler = cem.emergency._on_signal

        async def timed(signal: EmergencySignal, envelope: Envelope) -> Any:
            signalled.setdefault(cem.endpoint.address, time.time())
            return await original_handler(signal, envelope)

        cem.endpoint.on(EmergencySignal, timed)
        await cem.start()
        device = Endpoint(await bus.connect(f"{home}/{dev_id}", credentials=credentials[dev_id]), clock)
        device.on(SimpleCommand, on_command)
        await device.start()
        capabilities = DeviceCapabilities(
            device_id=dev_id,
            kind=DeviceKind.OTHER,
            functions=(DeviceFunction.SIMPLE_COMMANDS,),
            commands=(CommandKind.STANDBY,),
            max_power_w=1000.0,
        )
        await device.deliver(f"{home}/{hcem_id}", DeviceRegistration(capabilities=capabilities))
        cems.append(cem)
        devices.append(device)

    async def connect_all() -> dict[str, Any]:
        semaphore = asyncio.Semaphore(spec.get("concurrency", 8))
        failures: list[str] = []

        async def one(k: int, credentials: dict[str, ClientCredentials]) -> None:
            async with semaphore:
                try:
                    await connect_home(k, credentials)
                except Exception as error:
                    failures.append(f"home {k}: {type(error).__name__}: {str(error)[:200]}")

        t0 = time.time()
        await asyncio.gather(*(one(k, credentials) for k, credentials in homes))
        registered = sum(len(cem.registry.records()) for cem in cems)
        return {
            "homes": len(cems),
            "registered_devices": registered,
            "failures": failures[:10],
            "failed": len(failures),
            "connect_s": round(time.time() - t0, 3),
            "process": proc_status(os.getpid()),
            "gc_objects": len(gc.get_objects()),
            "gc_frozen": _freeze() if spec.get("gc_freeze") else 0,
        }

    armed = [0.0]

    def acked() -> dict[str, float]:
        """Device id -> when its CEM had the CommandResult of the standby command of this emergency."""
        found = {}
        for cem in cems:
            for c in reversed(cem.emergency.commands):
                if c.at.timestamp() < armed[0]:
                    break
                if c.command is CommandKind.STANDBY and c.success:
                    found[c.device_id] = c.at.timestamp()
                    break
        return found

    async def handle(command: tuple[Any, ...]) -> Any:
        what = command[0]
        if what == "ping":
            return os.getpid()
        if what == "connect":
            return await connect_all()
        if what == "arm":
            armed[0] = time.time()
            collections.reset()
            arrived.clear()
            signalled.clear()
            standby.clear()
            done.clear()
            return True
        if what == "wait":
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), command[1])
            return len(standby)
        if what == "take":
            # the CEM has the device's CommandResult a little after the device took the command: wait for it
            deadline = time.monotonic() + 10.0
            while len(acked()) < len(standby) and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
            return {
                "arrived": dict(arrived),
                "signalled": dict(signalled),
                "standby": dict(standby),
                "acked": acked(),
                "gc": collections.report(),
                "process": proc_status(os.getpid()),
            }
        if what == "idle":
            deadline = time.monotonic() + command[1]
            while any(cem.emergency_active for cem in cems) and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            return sum(cem.emergency_active for cem in cems)
        raise ValueError(f"unknown command {what!r}")

    await command_loop(pipe, handle)
