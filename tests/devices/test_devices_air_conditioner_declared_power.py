"""JWG1110: the air conditioner declares the most it draws at the site — the compressor's maximum and the fan at
its highest speed — since its schedules and status are site powers with the fan's included; its description
keeps the two apart, as the CEM's planner and schedules read them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from home_devices_harness import CEM, MID_JUNE, StandInCem, data, run, start_agent

from flexcem.bus import Endpoint, MemoryBus
from flexcem.clock import SimulatedClock
from flexcem.devices import AirConditionerAgent
from flexcem.devices.air_conditioner import DEFAULT_AIR_CONDITIONER, FAN_POWER_W, AirConditionerModel
from flexcem.devices.room import DEFAULT_ROOM, Room
from flexcem.model import (
    AcMode,
    AirConditionerSettings,
    AirConditionerStatus,
    DeviceRegistration,
    FanSpeed,
    FlexibilityRequest,
    PowerSeries,
    PowerSetpointSchedule,
    PowerSlot,
    RoomClimateDescription,
    SettingResult,
    StatusRequest,
)

NOON = MID_JUNE + timedelta(hours=12)


def _agent(endpoint: Endpoint) -> AirConditionerAgent:
    model = AirConditionerModel(DEFAULT_AIR_CONDITIONER, Room(DEFAULT_ROOM, 28.0), set_point_c=26.0)
    return AirConditionerAgent(endpoint, CEM, data(), model, step=timedelta(minutes=5))


def test_the_declared_maximum_covers_the_full_power_with_the_fan_at_every_speed() -> None:
    async def scenario(bus: MemoryBus, clock: SimulatedClock, cem: StandInCem) -> None:
        ac = await start_agent(bus, clock, _agent, "aircon")
        declared = next(b for b in cem.received if isinstance(b, DeviceRegistration)).capabilities.max_power_w
        assert declared == DEFAULT_AIR_CONDITIONER.power_max_w + max(FAN_POWER_W.values())
        drawn = {}
        for number, fan in enumerate(FanSpeed):
            settings = AirConditionerSettings(device_id="aircon", mode=AcMode.COOL, fan=fan, set_point_c=26.0)
            assert (await cem.ask("aircon", settings, SettingResult)).success
            described = await cem.ask("aircon", FlexibilityRequest(device_id="aircon"), RoomClimateDescription)
            # what the planner and the schedules read: the compressor's P_max and the present fan, apart
            site = described.unit.power_max_w + described.fan_power_w
            assert described.unit.power_max_w == DEFAULT_AIR_CONDITIONER.power_max_w
            assert described.fan_power_w == FAN_POWER_W[fan] and site <= declared
            start = clock.now()
            series = PowerSeries(slots=(PowerSlot(start=start, duration=timedelta(minutes=2), power_w=site),))
            full = PowerSetpointSchedule(device_id="aircon", schedule_id=f"full-{number}", schedule=series)
            assert (await cem.ask("aircon", full, SettingResult)).success
            await clock.sleep(60.0)
            status = await cem.ask("aircon", StatusRequest(device_id="aircon"), AirConditionerStatus)
            drawn[fan] = status.power_w
            await clock.sleep(60.0)
        # a full compressor at high fan draws exactly the declared maximum, no speed draws more
        assert max(drawn.values()) == pytest.approx(declared)
        assert all(power <= declared + 1e-9 for power in drawn.values())
        assert drawn[FanSpeed.AUTO] == pytest.approx(DEFAULT_AIR_CONDITIONER.power_max_w + FAN_POWER_W[FanSpeed.AUTO])
        await ac.power_off()

    run(scenario, start=NOON)
