"""The air conditioner's agent between its physics steps: it reports the room as it is now, a schedule that
arrives mid-step takes effect at once, and with a comfort profile its control adds what the plan lacks."""

from __future__ import annotations

from datetime import timedelta

import pytest
from home_devices_harness import CEM, MID_JUNE, StandInCem, data, run, start_agent

from flexcem.bus import MemoryBus
from flexcem.clock import SimulatedClock
from flexcem.devices import AirConditionerAgent
from flexcem.devices.air_conditioner import DEFAULT_AIR_CONDITIONER, FAN_POWER_W, AirConditionerModel
from flexcem.devices.room import DEFAULT_ROOM, Room
from flexcem.model import (
    AirConditionerStatus,
    FanSpeed,
    PowerSeries,
    PowerSetpointSchedule,
    PowerSlot,
    SettingResult,
    StatusRequest,
    TemperatureProfile,
    TemperatureSlot,
)

STEP = timedelta(minutes=5)
NOON = MID_JUNE + timedelta(hours=12)


def _agent(endpoint):  # type: ignore[no-untyped-def]
    model = AirConditionerModel(DEFAULT_AIR_CONDITIONER, Room(DEFAULT_ROOM, 26.0), set_point_c=26.0)
    return AirConditionerAgent(endpoint, CEM, data(), model, step=STEP)


def _schedule(power_w: float, hours: float = 2.0) -> PowerSetpointSchedule:
    series = PowerSeries(slots=(PowerSlot(start=NOON, duration=timedelta(hours=hours), power_w=power_w),))
    return PowerSetpointSchedule(device_id="aircon", schedule_id=f"s{power_w:.0f}", schedule=series)


def test_a_schedule_arriving_mid_step_takes_effect_at_once_and_the_status_is_the_room_now() -> None:
    async def scenario(bus: MemoryBus, clock: SimulatedClock, cem: StandInCem) -> None:
        ac = await start_agent(bus, clock, _agent, "aircon")
        fan = FAN_POWER_W[FanSpeed.AUTO]
        assert (await cem.ask("aircon", _schedule(fan), SettingResult)).success  # the fan only: no cooling
        await clock.sleep_until(NOON + timedelta(minutes=1))  # one minute into a five-minute step
        before = (await cem.ask("aircon", StatusRequest(device_id="aircon"), AirConditionerStatus)).room_c
        await clock.sleep(60.0)
        drifted = (await cem.ask("aircon", StatusRequest(device_id="aircon"), AirConditionerStatus)).room_c
        assert drifted > before, "the status follows the room within a step"
        full = DEFAULT_AIR_CONDITIONER.power_max_w + fan  # the site power, the fan's included, is accepted
        assert (await cem.ask("aircon", _schedule(full), SettingResult)).success
        at = clock.now()
        await clock.sleep(60.0)
        cooled = (await cem.ask("aircon", StatusRequest(device_id="aircon"), AirConditionerStatus)).room_c
        assert cooled < drifted, "the new schedule cools at once, not from the next step"
        assert ac.power.average_power_w(at, timedelta(minutes=1), 1)[0] == pytest.approx(full)
        await ac.power_off()

    run(scenario)


def test_with_a_comfort_profile_the_unit_adds_what_the_plan_lacks_to_keep_the_band() -> None:
    async def scenario(bus: MemoryBus, clock: SimulatedClock, cem: StandInCem) -> None:
        ac = await start_agent(bus, clock, _agent, "aircon")
        band = TemperatureSlot(start=NOON, duration=timedelta(hours=2), low_c=23.0, high_c=25.0)
        profile = TemperatureProfile(device_id="aircon", profile_id="band", slots=(band,))
        assert (await cem.ask("aircon", _schedule(FAN_POWER_W[FanSpeed.AUTO]), SettingResult)).success
        assert (await cem.ask("aircon", profile, SettingResult)).success
        await clock.sleep_until(band.end)
        # the plan asks for no cooling at noon in June: the unit cools all the same, at full power while the room
        # (26 °C) is above the band, then just enough to hold its top
        assert ac.power.average_power_w(NOON + STEP, STEP, 1)[0] > DEFAULT_AIR_CONDITIONER.power_max_w
        held = [entry.room_c for entry in ac.history if NOON + timedelta(minutes=75) <= entry.at < band.end]
        assert held and max(held) <= 25.0 + 1e-6
        assert min(held) > 25.0 - 0.01
        await ac.power_off()

    run(scenario)
