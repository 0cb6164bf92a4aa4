"""The EV charges step by step (a minute, cut at slot ends and at the target), deciding each step's power at its
start; steps of equal power are worked out at once so that the agent wakes only when the power changes
(:data:`flexcem.devices.ev.LOOKAHEAD_STEPS`). What it draws, stores and reports — also to a status request in the
middle of such a run, through the taper and when a pause arrives mid-step — is what waking every
step gives."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from home_devices_harness import CEM, MID_JUNE, StandInCem

from flexcem.bus import Endpoint, MemoryBus
from flexcem.clock import SimulatedClock
from flexcem.devices import ev as ev_module
from flexcem.devices.ev import ElectricVehicle, EvBattery
from flexcem.model import (
    ChargingSessionOffer,
    CommandKind,
    CommandResult,
    DeviceStatus,
    PowerSeries,
    PowerSlot,
    SimpleCommand,
    StartTimeAssignment,
    StatusRequest,
)

SLOT = timedelta(minutes=15)


def _profile(start: Any, powers: list[float]) -> PowerSeries:
    return PowerSeries(
        slots=tuple(PowerSlot(start=start + k * SLOT, duration=SLOT, power_w=w) for k, w in enumerate(powers))
    )


def _charge(*, pause: bool) -> dict[str, Any]:
    """Charge from 60 % to 95 % (into the taper) on a profile with a gap; what the car did and reported."""
    clock = SimulatedClock(MID_JUNE)

    async def main() -> dict[str, Any]:
        bus = MemoryBus()
        cem = StandInCem(Endpoint(await bus.connect(CEM), clock))
        await cem.endpoint.start()
        car = ElectricVehicle(Endpoint(await bus.connect("home/ev"), clock), CEM, battery=EvBattery(soc=0.6))
        await car.power_on()
        await car.registered.wait()
        departure = MID_JUNE + timedelta(hours=8)
        car.prepare_session(target_soc=0.95, departure=departure)
        offer = await car.activate()
        assert isinstance(offer, ChargingSessionOffer)
        start = MID_JUNE + timedelta(minutes=2)
        profile = _profile(start, [11_000.0] * 3 + [0.0] * 2 + [7_000.0] * 4 + [11_000.0] * 24)
        assignment = StartTimeAssignment(offer_id=offer.offer_id, device_id="ev", start=start, power_limits=profile)
        await cem.endpoint.deliver("home/ev", assignment)
        reported = []
        for minutes in (7.5, 31.25, 47.5, 80.75, 150.25):  # in the middle of runs of equal power, not on a step edge
            await clock.sleep_until(MID_JUNE + timedelta(minutes=minutes))
            status = await cem.ask("ev", StatusRequest(device_id="ev"), DeviceStatus)
            reported.append((status.energy_wh, status.power_w, car.battery.soc))
            if pause and minutes == 31.25:
                paused = await cem.ask("ev", SimpleCommand(device_id="ev", command=CommandKind.PAUSE), CommandResult)
                await clock.sleep(125.5)
                resumed = await cem.ask("ev", SimpleCommand(device_id="ev", command=CommandKind.RESUME), CommandResult)
                assert paused.success and resumed.success
        await clock.sleep_until(departure)
        job = car.job
        assert job is not None
        result = {
            "reported": reported,
            "steps": car.power.steps(),
            "energy_wh": job.energy_wh,
            "soc": car.battery.soc,
            "finished_at": job.finished_at,
            "state": car.state,
        }
        await car.power_off()
        await cem.endpoint.close()
        return result

    return clock.run(main())


@pytest.mark.parametrize("pause", [False, True])
def test_charging_steps_of_equal_power_worked_out_at_once_equal_waking_every_step(
    monkeypatch: pytest.MonkeyPatch, pause: bool
) -> None:
    at_once = _charge(pause=pause)
    monkeypatch.setattr(ev_module, "LOOKAHEAD_STEPS", 1)  # one step at a time: a wake-up every step
    every_step = _charge(pause=pause)
    assert at_once == every_step
    assert at_once["finished_at"] is not None
    assert len(at_once["steps"]) > 20  # the taper changed the power minute by minute
