"""The comfort band's guards also cap the plan (heat pump and air conditioner): a planned power that would carry the
room past the band's other edge — over-cooling below its bottom, over-heating above its top — is cut to what ends
the step at that edge, the least change that keeps the room in the band; hot water (an extra-hot-water request)
is never cut for it, and without a band the plan is followed as it is."""

from __future__ import annotations

from datetime import timedelta

import pytest
from home_devices_harness import CEM, MID_JUNE, StandInCem, data, run, start_agent

from flexcem.bus import Endpoint, MemoryBus
from flexcem.clock import SimulatedClock
from flexcem.devices import AirConditionerAgent, HeatPumpAgent
from flexcem.devices.air_conditioner import DEFAULT_AIR_CONDITIONER, FAN_POWER_W, AirConditionerModel
from flexcem.devices.heat_pump import DEFAULT_HEAT_PUMP, DEFAULT_HEAT_PUMP_TANK, HeatPumpModel, SpaceMode
from flexcem.devices.hot_water import HotWaterTank
from flexcem.devices.room import DEFAULT_ROOM, Room
from flexcem.model import (
    AcMode,
    Circuit,
    FanSpeed,
    HeatPumpStatus,
    HotWaterRequest,
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
"""A hot June noon: a full-power cooling plan over-cools any room."""
WINDOW = timedelta(hours=2)
LOW_C, HIGH_C = 23.0, 25.0


def _series(power_w: float) -> PowerSeries:
    return PowerSeries(slots=(PowerSlot(start=NOON, duration=WINDOW, power_w=power_w),))


def _profile(device: str) -> TemperatureProfile:
    slot = TemperatureSlot(start=NOON, duration=WINDOW, low_c=LOW_C, high_c=HIGH_C)
    return TemperatureProfile(device_id=device, profile_id="band", slots=(slot,))


async def _accepted(cem: StandInCem, device: str, *bodies: PowerSetpointSchedule | TemperatureProfile) -> None:
    for body in bodies:
        assert (await cem.ask(device, body, SettingResult)).success, body


def _air_conditioner(endpoint: Endpoint) -> AirConditionerAgent:
    model = AirConditionerModel(DEFAULT_AIR_CONDITIONER, Room(DEFAULT_ROOM, 24.0), set_point_c=24.0)
    return AirConditionerAgent(endpoint, CEM, data(), model, step=STEP, log_interval=STEP)


def _ac_room_under_full_cooling(with_band: bool) -> tuple[float, float]:
    """Lowest room temperature [°C] and energy [Wh] of an air conditioner planned at full power for two hours."""

    async def scenario(bus: MemoryBus, clock: SimulatedClock, cem: StandInCem) -> tuple[float, float]:
        ac = await start_agent(bus, clock, _air_conditioner, "aircon")
        full = DEFAULT_AIR_CONDITIONER.power_max_w + FAN_POWER_W[FanSpeed.AUTO]
        plan = PowerSetpointSchedule(device_id="aircon", schedule_id="full", schedule=_series(full))
        await _accepted(cem, "aircon", plan, *((_profile("aircon"),) if with_band else ()))
        await clock.sleep_until(NOON + WINDOW)
        room = min(entry.room_c for entry in ac.history if NOON <= entry.at <= NOON + WINDOW)
        energy = ac.power.energy_wh(NOON, NOON + WINDOW)
        await ac.power_off()
        return room, energy

    return run(scenario, start=NOON)  # type: ignore[no-any-return]


def test_an_air_conditioner_planned_to_over_cool_stops_at_the_band_bottom() -> None:
    capped_room, capped_wh = _ac_room_under_full_cooling(with_band=True)
    free_room, free_wh = _ac_room_under_full_cooling(with_band=False)
    assert free_room < LOW_C - 1.0, "the plan alone over-cools the room (the case the cap is for)"
    assert LOW_C - 1e-6 <= capped_room < LOW_C + 0.01, "with the band the room rests on its bottom, not below"
    assert capped_wh < free_wh, "the over-cooling part of the plan is not drawn"


def _pump(room_c: float, tank_c: float = 50.0):  # type: ignore[no-untyped-def]
    def make(endpoint: Endpoint) -> HeatPumpAgent:
        tank = HotWaterTank(DEFAULT_HEAT_PUMP_TANK, tank_c)
        model = HeatPumpModel(DEFAULT_HEAT_PUMP, tank, Room(DEFAULT_ROOM, room_c), SpaceMode.COOL)
        return HeatPumpAgent(endpoint, CEM, data(), model, step=STEP, log_interval=STEP)

    return make


def _pump_schedules(hot_water_w: float, space_w: float) -> tuple[PowerSetpointSchedule, PowerSetpointSchedule]:
    return tuple(  # type: ignore[return-value]
        PowerSetpointSchedule(
            device_id="heatpump", schedule_id=f"{circuit.value}-{power:.0f}", circuit=circuit, schedule=_series(power)
        )
        for circuit, power in ((Circuit.HOT_WATER, hot_water_w), (Circuit.SPACE, space_w))
    )


def test_a_heat_pump_planned_to_over_cool_stops_at_the_band_bottom() -> None:
    async def scenario(bus: MemoryBus, clock: SimulatedClock, cem: StandInCem) -> None:
        pump = await start_agent(bus, clock, _pump(room_c=24.0), "heatpump")
        top = DEFAULT_HEAT_PUMP.power_max_w
        await _accepted(cem, "heatpump", *_pump_schedules(0.0, top), _profile("heatpump"))
        await clock.sleep_until(NOON + WINDOW)
        room = [entry.room_c for entry in pump.history if NOON <= entry.at <= NOON + WINDOW]
        assert len(room) >= 24 and min(room) >= LOW_C - 1e-6
        assert min(room) < LOW_C + 0.01, "cooled as planned down to the bottom, then held there"
        assert pump.power.energy_wh(NOON, NOON + WINDOW) < 0.9 * top * WINDOW.total_seconds() / 3600.0
        await pump.power_off()

    run(scenario, start=NOON)


def test_the_room_cap_never_cuts_an_extra_hot_water_request() -> None:
    def tank_after_request(space_w: float) -> float:
        async def scenario(bus: MemoryBus, clock: SimulatedClock, cem: StandInCem) -> float:
            pump = await start_agent(bus, clock, _pump(room_c=LOW_C + 0.1, tank_c=46.0), "heatpump")
            await _accepted(cem, "heatpump", *_pump_schedules(0.0, space_w), _profile("heatpump"))
            await clock.sleep_until(NOON)
            assert (await cem.ask("heatpump", HotWaterRequest(device_id="heatpump"), SettingResult)).success
            await clock.sleep(600.0)
            status = await cem.ask("heatpump", StatusRequest(device_id="heatpump"), HeatPumpStatus)
            await pump.power_off()
            return status.hot_water_c

        return float(run(scenario, start=NOON))

    no_cooling, over_cooling = tank_after_request(0.0), tank_after_request(DEFAULT_HEAT_PUMP.power_max_w)
    assert no_cooling > 46.0 + 2.0, "the request heats at full power"
    assert over_cooling == pytest.approx(no_cooling), "capping the over-cooling plan takes nothing from hot water"


@pytest.mark.parametrize("space_mode", [SpaceMode.HEAT, SpaceMode.COOL])
def test_the_heat_pump_cap_ends_the_step_exactly_at_the_far_edge(space_mode: SpaceMode) -> None:
    heating = space_mode is SpaceMode.HEAT
    outdoor_c, gains_w, dt_h, band = (0.0 if heating else 30.0), 200.0, 0.25, (20.0, 22.0)
    model = HeatPumpModel(
        DEFAULT_HEAT_PUMP,
        HotWaterTank(DEFAULT_HEAT_PUMP_TANK, 50.0),
        Room(DEFAULT_ROOM, 21.9 if heating else 20.1),
        space_mode,
    )
    cap = model.room_cap_w(band, outdoor_c, gains_w, dt_h)
    assert 0.0 < cap < DEFAULT_HEAT_PUMP.power_max_w
    model.step(0.0, cap, outdoor_c=outdoor_c, draw_w=0.0, gains_w=gains_w, dt_h=dt_h)
    assert model.room is not None
    assert model.room.temperature_c == pytest.approx(band[1] if heating else band[0], abs=1e-9)


def test_the_air_conditioner_cap_in_heat_mode_stops_at_the_band_top() -> None:
    model = AirConditionerModel(DEFAULT_AIR_CONDITIONER, Room(DEFAULT_ROOM, 21.9), mode=AcMode.HEAT, set_point_c=21.0)
    cap = model.band_cap_w((20.0, 22.0), outdoor_c=0.0, gains_w=0.0, dt_h=0.25)
    assert 0.0 < cap < model.compressor_max_w()
    model.step(cap, outdoor_c=0.0, gains_w=0.0, dt_h=0.25)
    assert model.room.temperature_c == pytest.approx(22.0, abs=1e-9)
