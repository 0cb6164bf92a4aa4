"""Story JWG11, device side: an OFF the device takes while in fail-safe from someone other than the CEM (the
user's app) drops the CEM's schedules it had set aside, so the CEM's return does not switch the device back to
them (:meth:`~flexcem.devices.home_agent.HomeDeviceAgent._drop_schedules`, shared by every home agent)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from home_devices_harness import CEM, DOMAIN, MID_JUNE, StandInCem, data, run, start_agent

from flexcem.bus import Endpoint, MemoryBus
from flexcem.clock import SimulatedClock
from flexcem.devices import AirConditionerAgent, BatteryAgent, HomeDeviceAgent, PvAgent
from flexcem.model import (
    CommandKind,
    CommandResult,
    PowerSeries,
    PowerSetpointSchedule,
    PowerSlot,
    SettingResult,
    SimpleCommand,
)

NOON = MID_JUNE + timedelta(hours=12)
OUTAGE = timedelta(hours=1, minutes=30)
"""Twice the default ``failsafe_after`` (45 min)."""

AGENTS: dict[str, tuple[Callable[[Endpoint], HomeDeviceAgent], float]] = {
    "battery": (lambda e: BatteryAgent(e, CEM, data()), -2000.0),
    "pv": (lambda e: PvAgent(e, CEM, data()), -1000.0),
    "ac": (lambda e: AirConditionerAgent(e, CEM, data()), 2000.0),
}
"""Each agent with a planned site power [W] it accepts at noon."""


@pytest.mark.parametrize("device", sorted(AGENTS))
def test_an_off_from_the_user_during_fail_safe_is_not_undone_when_the_cem_answers_again(device: str) -> None:
    factory, power_w = AGENTS[device]

    async def scenario(bus: MemoryBus, clock: SimulatedClock, cem: StandInCem) -> None:
        agent = await start_agent(bus, clock, factory, device)
        series = PowerSeries(slots=(PowerSlot(start=NOON, duration=timedelta(hours=6), power_w=power_w),))
        plan = PowerSetpointSchedule(device_id=device, schedule_id="plan", schedule=series)
        assert (await cem.ask(device, plan, SettingResult)).success
        cem.silent = True
        await clock.sleep(OUTAGE.total_seconds())
        assert agent.failsafe and not agent.schedules
        app = Endpoint(await bus.connect(f"{DOMAIN}/app"), clock)
        await app.start()
        off = SimpleCommand(device_id=device, command=CommandKind.OFF)
        assert (await app.deliver(f"{DOMAIN}/{device}", off, expect=CommandResult)).success
        assert agent.failsafe, "the user's app is not the CEM"
        cem.silent = False
        await clock.sleep(agent.report_interval.total_seconds() + 60.0)
        assert not agent.failsafe, "the CEM is heard again"
        assert not agent.schedules, "the schedule set aside went with the OFF"
        assert agent.setpoint_w(clock.now()) is None
        await app.close()
        await agent.power_off()

    run(scenario, start=NOON)
