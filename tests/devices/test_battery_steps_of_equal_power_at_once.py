"""The battery's agent steps at every step boundary, deciding each step's power at its start; the steps up to its
next status log that keep the site power — a slot's set point held — are worked out at once, so that it wakes
only when the power changes, a status is logged or the fail-safe is due. What it draws, stores, logs and reports
— also to a status request in the middle of such steps, when the state of charge cuts the power, when a schedule
or a command arrives mid-step (taken from the next step on), and across a fail-safe and the CEM's return — is
what waking at every step gives."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from home_devices_harness import CEM, MID_JUNE, StandInCem, data, run, start_agent

from flexcem.bus import MemoryBus
from flexcem.clock import SimulatedClock
from flexcem.devices import BatteryAgent, HomeDeviceAgent
from flexcem.devices.battery import DEFAULT_BATTERY, BatteryModel
from flexcem.model import (
    BatteryStatus,
    CommandKind,
    CommandResult,
    PowerSeries,
    PowerSetpointSchedule,
    PowerSlot,
    SettingResult,
    SimpleCommand,
    StatusRequest,
)

SLOT = timedelta(minutes=15)


def _schedule(name: str, start: datetime, powers: list[float]) -> PowerSetpointSchedule:
    slots = tuple(PowerSlot(start=start + k * SLOT, duration=SLOT, power_w=w) for k, w in enumerate(powers))
    return PowerSetpointSchedule(device_id="battery", schedule_id=name, schedule=PowerSeries(slots=slots))


def _day() -> dict[str, Any]:
    """A battery nearly full follows schedules, a command and a silent CEM; what it did and reported."""

    async def scenario(bus: MemoryBus, clock: SimulatedClock, cem: StandInCem) -> dict[str, Any]:
        model = BatteryModel(DEFAULT_BATTERY, energy_wh=8_700.0)
        battery = await start_agent(
            bus,
            clock,
            lambda e: BatteryAgent(
                e, CEM, data(), model, step=timedelta(minutes=5), failsafe_after=timedelta(minutes=50)
            ),
            "battery",
        )
        assert isinstance(battery, BatteryAgent)
        start = MID_JUNE + timedelta(minutes=2)  # slots off the data hour, as the CEM may send them
        reported: list[Any] = []

        async def look(minutes: float) -> None:
            await clock.sleep_until(MID_JUNE + timedelta(minutes=minutes))
            status = await cem.ask("battery", StatusRequest(device_id="battery"), BatteryStatus)
            reported.append((minutes, status.remaining_energy_kwh, status.power_w, status.cumulative_charge_wh))

        first = _schedule("first", start, [3_000.0] * 4 + [-2_000.0] * 3 + [500.0] * 6 + [0.0] * 8)
        assert (await cem.ask("battery", first, SettingResult)).success
        for minutes in (7.5, 23.25, 41.0, 52.5):  # charging up to the top of the band: the last steps are cut
            await look(minutes)
        second = _schedule("second", start + 4 * SLOT, [-1_000.0] * 8 + [2_500.0] * 8)
        assert (await cem.ask("battery", second, SettingResult)).success  # at 52.5 min: from 55 min on
        await look(96.5)
        charge = SimpleCommand(device_id="battery", command=CommandKind.CHARGE, power_w=1_200.0)
        assert (await cem.ask("battery", charge, CommandResult)).success  # from the next step on
        await look(104.25)
        cem.silent = True  # the reports go unanswered: fail-safe after 50 minutes
        await look(180.5)
        cem.silent = False
        await look(250.75)
        third = _schedule("third", start + 16 * SLOT, [4_000.0] * 4 + [-4_000.0] * 8)
        assert (await cem.ask("battery", third, SettingResult)).success
        await look(330.5)
        await clock.sleep_until(MID_JUNE + timedelta(hours=8))
        result = {
            "reported": reported,
            "steps": battery.power.steps(),
            "state": (battery.model.energy_wh, battery.model.charged_wh, battery.model.discharged_wh),
            "history": [(s.at, s.remaining_energy_kwh, s.power_w) for s in battery.history],
            "events": list(battery.events),
        }
        await battery.power_off()
        return result

    return run(scenario, wire=None)  # type: ignore[no-any-return]


def test_battery_steps_worked_out_at_once_equal_waking_at_every_step(monkeypatch: pytest.MonkeyPatch) -> None:
    at_once = _day()
    monkeypatch.setattr(BatteryAgent, "_plan_ahead", HomeDeviceAgent._plan_ahead)  # a wake-up at every step
    every_step = _day()
    assert at_once == every_step
    assert any("fail-safe" in event for event in at_once["events"])
    assert any("answers again" in event for event in at_once["events"])
    cut = [w for _, w in at_once["steps"] if 10.0 < w < 3_000.0 and w != 510.0]
    assert cut, "the state of charge never cut a step"
