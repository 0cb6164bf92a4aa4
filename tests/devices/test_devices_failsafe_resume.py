"""Story JWG11, device side: a home device in fail-safe (no word from the CEM beyond ``failsafe_after``) runs on
its own but keeps the CEM's schedules and profiles aside, and takes them up again the moment the CEM is heard
again — so it does what the CEM still counts as confirmed, without the CEM having to notice and send again."""

from __future__ import annotations

from datetime import timedelta

import pytest
from home_devices_harness import CEM, MID_JUNE, StandInCem, data, run, start_agent

from flexcem.bus import Endpoint, MemoryBus
from flexcem.clock import SimulatedClock
from flexcem.devices import BatteryAgent, HeatPumpAgent
from flexcem.devices.heat_pump import DEFAULT_HEAT_PUMP, DEFAULT_HEAT_PUMP_TANK, HeatPumpModel, SpaceMode
from flexcem.devices.hot_water import HotWaterTank
from flexcem.devices.room import DEFAULT_ROOM, Room
from flexcem.model import (
    Circuit,
    HeatPumpStatus,
    PowerSeries,
    PowerSetpointSchedule,
    PowerSlot,
    SettingResult,
    StatusRequest,
)

NOON = MID_JUNE + timedelta(hours=12)
PLAN = timedelta(hours=6)
OUTAGE = timedelta(hours=1, minutes=30)
"""Twice the default ``failsafe_after`` (45 min)."""


def _schedule(device: str, power_w: float, circuit: Circuit = Circuit.MAIN) -> PowerSetpointSchedule:
    series = PowerSeries(slots=(PowerSlot(start=NOON, duration=PLAN, power_w=power_w),))
    return PowerSetpointSchedule(
        device_id=device, schedule_id=f"{device}-{circuit.value}", circuit=circuit, schedule=series
    )


def test_a_battery_back_from_fail_safe_takes_up_the_confirmed_schedule_without_a_new_one() -> None:
    async def scenario(bus: MemoryBus, clock: SimulatedClock, cem: StandInCem) -> None:
        battery = await start_agent(bus, clock, lambda e: BatteryAgent(e, CEM, data()), "battery")
        assert (await cem.ask("battery", _schedule("battery", -2000.0), SettingResult)).success
        await clock.sleep(600.0)
        following = battery.model.power_w
        assert following < -1000.0
        cem.silent = True
        await clock.sleep(OUTAGE.total_seconds())
        assert battery.failsafe and battery.model.power_w == 0.0 and not battery.schedules, "idle on its own"
        cem.silent = False  # the next status report is acknowledged: the CEM is heard again
        await clock.sleep(battery.report_interval.total_seconds() + 60.0)
        assert not battery.failsafe
        assert [s.schedule_id for s in battery.schedules.values()] == ["battery-main"]
        assert battery.model.power_w == pytest.approx(following), "the confirmed schedule, taken up again"
        assert any("following its schedules (battery-main)" in event for event in battery.events)
        await battery.power_off()

    run(scenario, start=NOON)


def test_a_schedule_over_during_the_outage_is_not_taken_up() -> None:
    async def scenario(bus: MemoryBus, clock: SimulatedClock, cem: StandInCem) -> None:
        battery = await start_agent(bus, clock, lambda e: BatteryAgent(e, CEM, data()), "battery")
        short = PowerSeries(slots=(PowerSlot(start=NOON, duration=timedelta(hours=1), power_w=-2000.0),))
        body = PowerSetpointSchedule(device_id="battery", schedule_id="short", schedule=short)
        assert (await cem.ask("battery", body, SettingResult)).success
        cem.silent = True
        await clock.sleep(OUTAGE.total_seconds())
        cem.silent = False
        await clock.sleep(battery.report_interval.total_seconds() + 60.0)
        assert not battery.failsafe and not battery.schedules and battery.model.power_w == 0.0
        await battery.power_off()

    run(scenario, start=NOON)


def test_a_heat_pump_takes_its_schedule_up_at_the_moment_the_cem_is_heard_mid_step() -> None:
    def make(endpoint: Endpoint) -> HeatPumpAgent:
        model = HeatPumpModel(
            DEFAULT_HEAT_PUMP, HotWaterTank(DEFAULT_HEAT_PUMP_TANK, 54.0), Room(DEFAULT_ROOM, 26.0), SpaceMode.COOL
        )
        return HeatPumpAgent(endpoint, CEM, data(), model, step=timedelta(minutes=5))

    async def scenario(bus: MemoryBus, clock: SimulatedClock, cem: StandInCem) -> None:
        pump = await start_agent(bus, clock, make, "heatpump")
        for circuit in (Circuit.HOT_WATER, Circuit.SPACE):  # nothing: the plan lets the afternoon warm the room
            assert (await cem.ask("heatpump", _schedule("heatpump", 0.0, circuit), SettingResult)).success
        cem.silent = True
        await clock.sleep(OUTAGE.total_seconds() + 150.0)  # half-way through a five-minute step
        assert pump.failsafe and pump.power.power_w > 0.0, "on its own thermostat: cooling the room to its band"
        cem.silent = False
        status = await cem.ask("heatpump", StatusRequest(device_id="heatpump"), HeatPumpStatus)
        at = clock.now()
        assert not pump.failsafe and status.following_schedule and status.power_w == 0.0
        await clock.sleep(60.0)
        assert pump.power.average_power_w(at, timedelta(minutes=1), 1)[0] == 0.0, "from that moment, not the next step"
        await pump.power_off()

    run(scenario, start=NOON)
