"""`flexcem cem run` killed with SIGKILL in the middle of an event, over a Mosquitto of the test's own: it comes
back with the same plan and device states, resumes the event, and no command is sent twice (TR JWG3102).

Over mutual TLS: the CEM's certificate paths come from its ``home.toml``. The devices and the grid are on their
own connections in the test process; the CEM is a subprocess. The CEM has planned the washer's start (hours
ahead: the device has not started) and holds the heater in emergency standby when it is killed. After the
restart the devices have received nothing again, the stored plan is the same, and at the emergency's end the
heater is switched back on exactly once.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cem_service_harness import FlexDevice, SwitchedDevice
from sqlalchemy import select

from flexcem.bus import Endpoint
from flexcem.bus.access import AccessPolicy, Grant, Identity, Role
from flexcem.bus.mqtt import MqttBus
from flexcem.bus.pki import init_pki, issue_clients
from flexcem.cem.store import CemStore
from flexcem.cem.store.models import DeviceRow, PlanRow
from flexcem.clock import RealClock
from flexcem.model import (
    AlertLevel,
    CommandKind,
    DeviceCapabilities,
    DeviceFunction,
    DeviceKind,
    DeviceRegistration,
    EmergencySignal,
    PriceEnvironmentProfile,
    PriceSlot,
    SimpleCommand,
    SlotShift,
    StartTimeAssignment,
)
from home_harness import one_hour_offer
from mosquitto_harness import RunningBroker, start_broker

DOMAIN = "home"
POLICY = AccessPolicy(
    identities=(
        *(Identity(id=name, grants=(Grant(domain=DOMAIN, role=Role.CONTROLLER),)) for name in ("cem", "retailer")),
        *(Identity(id=name, grants=(Grant(domain=DOMAIN, role=Role.ENDPOINT),)) for name in ("washer", "heater")),
    )
)
EMERGENCY_S = 10.0
"""How long the emergency lasts [s]: past the kill and the restart."""


@pytest.fixture
def pki(tmp_path: Path) -> Path:
    directory = tmp_path / "pki"
    init_pki(directory)
    issue_clients(directory, ["cem", "retailer", "washer", "heater"])
    return directory


@pytest.fixture
def broker(tmp_path: Path, pki: Path) -> Iterator[RunningBroker]:
    running = start_broker(tmp_path / "broker", POLICY, pki=pki)
    yield running
    running.stop()


def _config(tmp_path: Path, broker: RunningBroker) -> Path:
    path = tmp_path / "home.toml"
    path.write_text(
        f"""
[identity]
domain = "home"
endpoint_id = "cem"

[bus]
url = "{broker.uri}"
ca_file = "pki/ca.crt"
cert_file = "pki/clients/cem.crt"
key_file = "pki/clients/cem.key"
ack_timeout_s = 2.0

[site]
tariff_sources = ["home/retailer"]

[[devices]]
id = "washer"
kind = "washing_machine"

[[devices]]
id = "heater"
kind = "water_heater"

[store]
path = "cem.db"
""",
        encoding="utf-8",
    )
    return path


def _start_cem(config: Path, log: Path) -> subprocess.Popen[bytes]:
    out = log.open("ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "flexcem.cli.main", "cem", "run", "--config", str(config), "--log-level", "WARNING"],
        stdout=out,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    deadline = time.monotonic() + 20
    while "flexcem cem run: home/cem on" not in log.read_text(errors="replace").split("KILLED")[-1]:
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"the CEM did not start: {log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.05)
    return process


def _prices(now: datetime) -> PriceEnvironmentProfile:
    """Hourly prices for a day, cheapest from three to five hours ahead (so the washer's start is hours away)."""
    start = now.replace(minute=0, second=0, microsecond=0)
    slots = tuple(
        PriceSlot(
            start=start + timedelta(hours=k), duration=timedelta(hours=1), price_per_kwh=0.1 if 3 <= k < 5 else 0.4
        )
        for k in range(24)
    )
    return PriceEnvironmentProfile(profile_id="tou", issued_at=now, slots=slots)


def _stored(db: Path) -> tuple[str, dict[str, str | None]]:
    """The stored current plan (JSON) and the devices' stored states."""
    store = CemStore.open(db)
    try:
        with store.session() as session:
            plan = session.scalars(select(PlanRow).where(PlanRow.role == "current")).one()
            states = {row.device_id: row.state for row in session.scalars(select(DeviceRow))}
        return plan.plan, states
    finally:
        store.close()


async def _until(condition: object, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.05)


def test_cem_killed_during_an_emergency_restarts_in_the_same_state_and_sends_nothing_twice(
    tmp_path: Path, pki: Path, broker: RunningBroker
) -> None:
    assert broker.uri.startswith("mqtts://")
    config = _config(tmp_path, broker)
    log = tmp_path / "cem.log"
    cem_process = _start_cem(config, log)

    async def main() -> None:
        nonlocal cem_process
        clock = RealClock()
        bus = MqttBus(broker.uri, pki=pki, clock=clock, connect_timeout_s=20)
        retailer = Endpoint(await bus.connect("home/retailer", role=Role.CONTROLLER), clock)
        washer = FlexDevice(Endpoint(await bus.connect("home/washer"), clock))
        heater = SwitchedDevice(Endpoint(await bus.connect("home/heater"), clock))
        washer.endpoint.on(StartTimeAssignment, washer.on_start)
        washer.endpoint.on(SlotShift, washer.on_shift)
        heater.endpoint.on(SimpleCommand, heater.on_command)
        for endpoint in (retailer, washer.endpoint, heater.endpoint):
            await endpoint.start()
        try:
            await retailer.deliver("home/cem", _prices(clock.now()))
            await washer.endpoint.deliver(
                "home/cem",
                DeviceRegistration(
                    capabilities=DeviceCapabilities(
                        device_id="washer",
                        kind=DeviceKind.WASHING_MACHINE,
                        functions=(DeviceFunction.FLEXIBLE_START, DeviceFunction.SLOT_SHIFT),
                        max_power_w=2000.0,
                    )
                ),
            )
            await heater.endpoint.deliver(
                "home/cem",
                DeviceRegistration(
                    capabilities=DeviceCapabilities(
                        device_id="heater",
                        kind=DeviceKind.WATER_HEATER,
                        functions=(DeviceFunction.SIMPLE_COMMANDS,),
                        commands=(CommandKind.ON, CommandKind.OFF),
                        max_power_w=2000.0,
                    )
                ),
            )
            now = clock.now()
            offer = one_hour_offer("washer", "wash-1", now, now + timedelta(hours=12))
            await washer.endpoint.deliver("home/cem", offer)
            await _until(lambda: washer.received, 15)
            emergency = EmergencySignal(
                emergency_id="e1", level=AlertLevel.NORMAL, start=clock.now(), duration=timedelta(seconds=EMERGENCY_S)
            )
            await retailer.deliver("home/cem", emergency)
            ends = emergency.start + timedelta(seconds=EMERGENCY_S)
            await _until(lambda: heater.received, 10)
            await asyncio.sleep(0.5)
            plan_before, states_before = _stored(tmp_path / "cem.db")

            cem_process.send_signal(signal.SIGKILL)  # in the middle of the emergency, before the washer's start
            cem_process.wait(timeout=10)
            with log.open("a") as out:
                out.write("\nKILLED\n")
            cem_process = await asyncio.to_thread(_start_cem, config, log)
            await asyncio.sleep(1.5)
            plan_after, states_after = _stored(tmp_path / "cem.db")
            assert plan_after == plan_before
            assert states_after == states_before
            assert [type(m) for m in washer.received] == [StartTimeAssignment]
            assert [c.command for c in heater.received] == [CommandKind.OFF]

            await _until(lambda: len(heater.received) > 1, (ends - clock.now()).total_seconds() + 8)
            await asyncio.sleep(1.0)
            assert [c.command for c in heater.received] == [CommandKind.OFF, CommandKind.ON]
            assert [type(m) for m in washer.received] == [StartTimeAssignment]
            assert washer.received[0].start > datetime.now(UTC)  # the device has not started yet
        finally:
            for endpoint in (retailer, washer.endpoint, heater.endpoint):
                await endpoint.close()

    try:
        asyncio.run(main())
    finally:
        cem_process.send_signal(signal.SIGTERM)
        try:
            cem_process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            cem_process.kill()
    assert cem_process.returncode == 0, log.read_text(errors="replace")[-3000:]
    journal = json.dumps(log.read_text(errors="replace")[-200:])
    assert "Traceback" not in log.read_text(errors="replace"), journal
