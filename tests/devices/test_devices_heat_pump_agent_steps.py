"""The heat pump's agent between its physics steps (JWG112x): it reports the tank and room as they are now, a
schedule that arrives mid-step takes effect at once, and under a schedule it still keeps the room in the CEM's
comfort band and the tank at its minimum — adding what the plan lacks, following a sufficient plan exactly,
never cutting an extra-hot-water request, and drawing nothing once switched off."""

from __future__ import annotations

from datetime import timedelta

import pytest
from home_devices_harness import CEM, MID_JUNE, Scenario, StandInCem, data, run, start_agent

from flexcem.bus import Endpoint, MemoryBus
from flexcem.clock import SimulatedClock
from flexcem.devices import HeatPumpAgent
from flexcem.devices.heat_pump import DEFAULT_HEAT_PUMP, DEFAULT_HEAT_PUMP_TANK, HeatPumpModel, SpaceMode
from flexcem.devices.hot_water import HotWaterTank
from flexcem.devices.room import DEFAULT_ROOM, Room
from flexcem.model import (
    Circuit,
    CommandKind,
    CommandResult,
    HeatPumpStatus,
    HotWaterRequest,
    PowerSeries,
    PowerSetpointSchedule,
    PowerSlot,
    SettingResult,
    SimpleCommand,
    StatusRequest,
    TemperatureProfile,
    TemperatureSlot,
)

STEP = timedelta(minutes=5)
NOON = MID_JUNE + timedelta(hours=12)
"""A hot June noon (34 °C outside, large gains, no hot-water draw from 10:00 to 13:00)."""
WINDOW = timedelta(hours=1)
MIN_C, MAX_C = DEFAULT_HEAT_PUMP_TANK.min_c, DEFAULT_HEAT_PUMP_TANK.max_c


def _maker(tank_c: float, room_c: float = 24.0):  # type: ignore[no-untyped-def]
    def make(endpoint: Endpoint) -> HeatPumpAgent:
        tank = HotWaterTank(DEFAULT_HEAT_PUMP_TANK, tank_c)
        model = HeatPumpModel(DEFAULT_HEAT_PUMP, tank, Room(DEFAULT_ROOM, room_c), SpaceMode.COOL)
        return HeatPumpAgent(endpoint, CEM, data(), model, step=STEP, log_interval=STEP)

    return make


def _schedule(circuit: Circuit, power_w: float, duration: timedelta = WINDOW) -> PowerSetpointSchedule:
    series = PowerSeries(slots=(PowerSlot(start=NOON, duration=duration, power_w=power_w),))
    return PowerSetpointSchedule(
        device_id="heatpump", schedule_id=f"{circuit.value}-{power_w:.0f}", circuit=circuit, schedule=series
    )


def _band(low_c: float, high_c: float) -> TemperatureProfile:
    slot = TemperatureSlot(start=NOON, duration=WINDOW, low_c=low_c, high_c=high_c)
    return TemperatureProfile(device_id="heatpump", profile_id=f"band-{low_c}-{high_c}", slots=(slot,))


def _run(scenario: Scenario) -> object:
    """Run ``scenario`` from :data:`NOON`, the tank and room as the test sets them (the CEM's schedules and profile
    arrive within the first step)."""
    return run(scenario, start=NOON)


async def _status(cem: StandInCem) -> HeatPumpStatus:
    return await cem.ask("heatpump", StatusRequest(device_id="heatpump"), HeatPumpStatus)


async def _accepted(cem: StandInCem, *bodies: PowerSetpointSchedule | TemperatureProfile) -> None:
    for body in bodies:
        assert (await cem.ask("heatpump", body, SettingResult)).success, body


def test_a_schedule_arriving_mid_step_takes_effect_at_once_and_the_status_is_the_tank_now() -> None:
    async def scenario(bus: MemoryBus, clock: SimulatedClock, cem: StandInCem) -> None:
        pump = await start_agent(bus, clock, _maker(50.0), "heatpump")
        await _accepted(cem, _schedule(Circuit.HOT_WATER, 0.0), _schedule(Circuit.SPACE, 0.0))
        await clock.sleep_until(NOON + timedelta(minutes=1))  # one minute into a five-minute step
        before = (await _status(cem)).hot_water_c
        await clock.sleep(60.0)
        cooled = (await _status(cem)).hot_water_c
        assert cooled < before, "the status follows the tank's losses within a step"
        full = DEFAULT_HEAT_PUMP.power_max_w
        await _accepted(cem, _schedule(Circuit.HOT_WATER, full))
        at = clock.now()
        await clock.sleep(60.0)
        status = await _status(cem)
        assert status.hot_water_c > cooled + 0.1, "the new schedule heats at once, not from the next step"
        assert status.power_w == pytest.approx(full) and status.following_schedule
        assert pump.power.average_power_w(at, timedelta(minutes=1), 1)[0] == pytest.approx(full)
        await pump.power_off()

    _run(scenario)


def test_a_plan_too_weak_for_the_comfort_band_is_topped_up_and_the_room_stays_in_it() -> None:
    async def scenario(bus: MemoryBus, clock: SimulatedClock, cem: StandInCem) -> None:
        pump = await start_agent(bus, clock, _maker(50.0, room_c=24.8), "heatpump")
        await _accepted(cem, _schedule(Circuit.HOT_WATER, 0.0), _schedule(Circuit.SPACE, 0.0), _band(23.0, 25.0))
        await clock.sleep_until(NOON + WINDOW)
        # the plan asks no cooling at a June noon: the room would warm well past 25 °C; the unit cools all the same
        room = [entry.room_c for entry in pump.history if NOON <= entry.at <= NOON + WINDOW]
        assert len(room) >= 12 and max(room) <= 25.0 + 1e-6
        assert max(room) > 25.0 - 0.01, "just enough cooling: the room rests on the band's top"
        assert pump.power.energy_wh(NOON, NOON + WINDOW) > 100.0
        await pump.power_off()

    _run(scenario)


def test_a_plan_that_lets_the_tank_fall_below_its_minimum_is_topped_up_to_it() -> None:
    async def scenario(bus: MemoryBus, clock: SimulatedClock, cem: StandInCem) -> None:
        pump = await start_agent(bus, clock, _maker(MIN_C - 1.0), "heatpump")
        await _accepted(cem, _schedule(Circuit.HOT_WATER, 0.0), _schedule(Circuit.SPACE, 0.0))
        await clock.sleep_until(NOON + STEP)
        assert pump.model.tank.temperature_c == pytest.approx(MIN_C, abs=1e-6), "back to the minimum in one step"
        await clock.sleep_until(NOON + WINDOW)
        tank = [entry.hot_water_c for entry in pump.history if NOON + STEP <= entry.at <= NOON + WINDOW]
        assert min(tank) >= MIN_C - 1e-6 and max(tank) < MIN_C + 0.01, "held at the minimum, no more"
        await pump.power_off()

    _run(scenario)


def test_a_plan_that_keeps_the_band_and_the_tank_is_followed_exactly() -> None:
    async def scenario(bus: MemoryBus, clock: SimulatedClock, cem: StandInCem) -> None:
        pump = await start_agent(bus, clock, _maker(47.0, room_c=24.0), "heatpump")
        hot_water, space = 300.0, 1_000.0
        await _accepted(
            cem, _schedule(Circuit.HOT_WATER, hot_water), _schedule(Circuit.SPACE, space), _band(20.0, 27.0)
        )
        await clock.sleep_until(NOON + WINDOW)
        kept = [e for e in pump.history if NOON <= e.at <= NOON + WINDOW]
        assert all(20.0 < e.room_c < 27.0 and MIN_C < e.hot_water_c < MAX_C for e in kept), "the plan keeps both"
        assert pump.power.energy_wh(NOON, NOON + WINDOW) == pytest.approx((hot_water + space) * 1.0, rel=1e-9)
        await pump.power_off()

    _run(scenario)


def test_an_extra_hot_water_request_is_not_cut_by_the_room_guard() -> None:
    def tank_after_request(room_c: float) -> float:
        async def scenario(bus: MemoryBus, clock: SimulatedClock, cem: StandInCem) -> float:
            pump = await start_agent(bus, clock, _maker(46.0, room_c=room_c), "heatpump")
            await _accepted(cem, _schedule(Circuit.HOT_WATER, 0.0), _schedule(Circuit.SPACE, 0.0), _band(23.0, 25.0))
            await clock.sleep_until(NOON)
            assert (await cem.ask("heatpump", HotWaterRequest(device_id="heatpump"), SettingResult)).success
            await clock.sleep(600.0)
            tank = (await _status(cem)).hot_water_c
            await pump.power_off()
            return tank

        return float(_run(scenario))  # type: ignore[arg-type]

    in_band, too_warm = tank_after_request(24.0), tank_after_request(27.0)
    assert in_band > 46.0 + 2.0, "the request heats at full power"
    assert too_warm == pytest.approx(in_band), "a room above its band does not slow the requested hot water"


def test_off_is_honoured_over_the_plan_and_the_guards() -> None:
    async def scenario(bus: MemoryBus, clock: SimulatedClock, cem: StandInCem) -> None:
        pump = await start_agent(bus, clock, _maker(MIN_C - 1.0, room_c=26.0), "heatpump")
        await _accepted(
            cem, _schedule(Circuit.HOT_WATER, 1_000.0), _schedule(Circuit.SPACE, 1_000.0), _band(23.0, 25.0)
        )
        await clock.sleep_until(NOON + timedelta(minutes=2))  # mid-step, while the guards are working
        assert (await _status(cem)).power_w > 0.0
        off = SimpleCommand(device_id="heatpump", command=CommandKind.OFF)
        assert (await cem.ask("heatpump", off, CommandResult)).success
        at = clock.now()
        await _accepted(cem, _schedule(Circuit.SPACE, 2_000.0))  # a schedule while off is kept, not run
        await clock.sleep_until(NOON + WINDOW)
        assert pump.power.energy_wh(at, NOON + WINDOW) == 0.0
        status = await _status(cem)
        assert not status.running and not status.following_schedule
        assert status.hot_water_c < MIN_C and (status.room_c or 0.0) > 25.0, "off means off, guards included"
        on = SimpleCommand(device_id="heatpump", command=CommandKind.ON)
        assert (await cem.ask("heatpump", on, CommandResult)).success
        await clock.sleep(60.0)
        assert (await _status(cem)).power_w > 0.0
        await pump.power_off()

    _run(scenario)
