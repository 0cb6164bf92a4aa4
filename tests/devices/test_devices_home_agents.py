"""The home devices' agents on the bus: schedules executed exactly, commands with their results (a fuel cell
may refuse, naming why), settings and profiles, and the fail-safe when the CEM goes silent."""

from __future__ import annotations

from datetime import timedelta

import pytest
from home_devices_harness import CEM, MID_JUNE, StandInCem, data, run, start_agent

from flexcem.bus import MemoryBus
from flexcem.clock import SimulatedClock
from flexcem.devices import (
    DEFAULT_BATTERY,
    AirConditionerAgent,
    BatteryAgent,
    FuelCellAgent,
    HeatPumpAgent,
    PvAgent,
)
from flexcem.model import (
    AcMode,
    AirConditionerSettings,
    BatteryMode,
    BatteryStatus,
    CommandKind,
    CommandResult,
    DeviceRegistration,
    FanSpeed,
    FlexibilityRequest,
    GenerationForecast,
    HotWaterRequest,
    PowerSeries,
    PowerSetpointSchedule,
    PowerSlot,
    SettingResult,
    SimpleCommand,
    StatusRequest,
    StorageDescription,
    TemperatureProfile,
    TemperatureSlot,
    Zone,
)
from flexcem.physics import battery_step_coefficients, step

HOUR = timedelta(hours=1)


def _series(start: object, powers: list[float]) -> PowerSeries:
    return PowerSeries(
        slots=tuple(PowerSlot(start=start + k * HOUR, duration=HOUR, power_w=w) for k, w in enumerate(powers))  # type: ignore[operator]
    )


def test_battery_registers_with_its_description_and_executes_a_schedule_exactly() -> None:
    plan = [0.0, 1500.0, 2000.0, 500.0, 0.0, -2500.0, -2000.0, 0.0]  # within the band: 5 → 8.8 → 4.1 kWh

    async def scenario(bus: MemoryBus, clock: SimulatedClock, cem: StandInCem) -> None:
        battery = await start_agent(bus, clock, lambda e: BatteryAgent(e, CEM, data()), "battery")
        assert isinstance(cem.received[0], DeviceRegistration)
        described = cem.received[1]
        assert isinstance(described, StorageDescription) and described.energy_wh == pytest.approx(5000.0, abs=0.1)
        start = MID_JUNE + HOUR
        schedule = PowerSetpointSchedule(device_id="battery", schedule_id="day-1", schedule=_series(start, plan))
        assert (await cem.ask("battery", schedule, SettingResult)).success
        await clock.sleep_until(start + len(plan) * HOUR)
        p = DEFAULT_BATTERY
        flows = [w - p.standby_w for w in plan]  # a set point is the site power, the system's own use included
        inputs = [p.charge_efficiency * max(f, 0) - max(-f, 0) / p.discharge_efficiency for f in flows]
        hourly = battery_step_coefficients(p.self_discharge_per_h, 1.0)
        expected = step(5000.0 * hourly.decay, inputs, hourly)  # an idle hour from power-on to the schedule
        assert battery.model.energy_wh == pytest.approx(expected[-1], abs=1e-3)
        metered = battery.power.average_power_w(start, HOUR, len(plan))
        assert metered == pytest.approx(plan, abs=1e-6)
        again = await cem.ask("battery", FlexibilityRequest(device_id="battery"), StorageDescription)
        assert again.energy_wh == pytest.approx(expected[-1], abs=0.05)  # a few seconds of self-discharge later
        await battery.power_off()

    run(scenario)


def test_battery_refuses_a_schedule_beyond_its_power_and_obeys_charge_and_standby() -> None:
    async def scenario(bus: MemoryBus, clock: SimulatedClock, cem: StandInCem) -> None:
        battery = await start_agent(bus, clock, lambda e: BatteryAgent(e, CEM, data()), "battery")
        too_much = PowerSetpointSchedule(device_id="battery", schedule_id="x", schedule=_series(MID_JUNE, [9000.0]))
        refused = await cem.ask("battery", too_much, SettingResult)
        assert not refused.success and "slot 0 asks 9000 W" in (refused.reason or "")
        charge = SimpleCommand(device_id="battery", command=CommandKind.CHARGE, power_w=1500.0)
        assert (await cem.ask("battery", charge, CommandResult)).success
        await clock.sleep(600)
        status = await cem.ask("battery", StatusRequest(device_id="battery"), BatteryStatus)
        assert status.mode is BatteryMode.CHARGING and status.power_w == 1500.0 and status.current_a > 0.0
        standby = SimpleCommand(device_id="battery", command=CommandKind.STANDBY)
        assert (await cem.ask("battery", standby, CommandResult)).success
        await clock.sleep(120)
        assert battery.model.power_w == 0.0
        await battery.power_off()

    run(scenario)


def test_fuel_cell_refuses_commands_that_break_its_minimum_run_times_and_names_the_reason() -> None:
    async def scenario(bus: MemoryBus, clock: SimulatedClock, cem: StandInCem) -> None:
        cell = await start_agent(bus, clock, lambda e: FuelCellAgent(e, CEM, data()), "fuelcell")
        on = await cem.ask("fuelcell", SimpleCommand(device_id="fuelcell", command=CommandKind.ON), CommandResult)
        assert on.success
        await clock.sleep(20 * 60)
        off = await cem.ask("fuelcell", SimpleCommand(device_id="fuelcell", command=CommandKind.OFF), CommandResult)
        assert not off.success and "minimum on time" in (off.reason or "")
        await clock.sleep(45 * 60)
        off = await cem.ask("fuelcell", SimpleCommand(device_id="fuelcell", command=CommandKind.OFF), CommandResult)
        assert off.success
        short = _series(clock.now() + timedelta(minutes=10), [-700.0])
        result = await cem.ask(
            "fuelcell", PowerSetpointSchedule(device_id="fuelcell", schedule_id="soon", schedule=short), SettingResult
        )
        assert not result.success and "minimum" in (result.reason or "")
        assert cell.model.generated_wh == pytest.approx(700.0 * 65 / 60, rel=0.02)
        await cell.power_off()

    run(scenario)


def test_pv_is_curtailed_by_command_and_by_schedule_and_cannot_be_told_to_consume() -> None:
    async def scenario(bus: MemoryBus, clock: SimulatedClock, cem: StandInCem) -> None:
        pv = await start_agent(bus, clock, lambda e: PvAgent(e, CEM, data()), "pv")
        forecast = cem.received[1]
        assert isinstance(forecast, GenerationForecast) and len(forecast.forecast.slots) == 24
        await clock.sleep_until(MID_JUNE + 12 * HOUR)
        off = await cem.ask("pv", SimpleCommand(device_id="pv", command=CommandKind.OFF), CommandResult)
        assert off.success
        await clock.sleep(120)
        assert pv.generated_w == 0.0
        limit = _series(MID_JUNE + 13 * HOUR, [-1000.0])
        result = await cem.ask("pv", PowerSetpointSchedule(device_id="pv", schedule_id="cap", schedule=limit),
                               SettingResult)
        assert result.success
        await clock.sleep_until(MID_JUNE + 13 * HOUR + timedelta(minutes=30))
        assert pv.generated_w == 1000.0
        await clock.sleep_until(MID_JUNE + 14 * HOUR + timedelta(minutes=5))
        assert pv.generated_w > 1000.0  # the schedule ended: the limit is lifted
        consume = _series(MID_JUNE + 15 * HOUR, [500.0])
        refused = await cem.ask("pv", PowerSetpointSchedule(device_id="pv", schedule_id="no", schedule=consume),
                                SettingResult)
        assert not refused.success and "cannot consume" in (refused.reason or "")
        await pv.power_off()

    run(scenario)


def test_air_conditioner_takes_its_settings_and_a_temperature_profile() -> None:
    async def scenario(bus: MemoryBus, clock: SimulatedClock, cem: StandInCem) -> None:
        ac = await start_agent(bus, clock, lambda e: AirConditionerAgent(e, CEM, data()), "aircon")
        settings = AirConditionerSettings(device_id="aircon", mode=AcMode.COOL, fan=FanSpeed.AUTO, set_point_c=27.0)
        assert (await cem.ask("aircon", settings, SettingResult)).success
        await clock.sleep_until(MID_JUNE + 10 * HOUR)
        assert ac.model.room.temperature_c <= 27.5 + 1e-6
        band = TemperatureSlot(start=MID_JUNE + 10 * HOUR, duration=8 * HOUR, low_c=23.0, high_c=24.5)
        profile = TemperatureProfile(device_id="aircon", profile_id="pre-cool", slots=(band,))
        assert (await cem.ask("aircon", profile, SettingResult)).success
        await clock.sleep_until(MID_JUNE + 17 * HOUR)
        assert ac.model.room.temperature_c <= 24.5 + 1e-6
        water = TemperatureProfile(
            device_id="aircon", profile_id="w", zone=Zone.HOT_WATER,
            slots=(TemperatureSlot(start=MID_JUNE, duration=HOUR, low_c=45.0, high_c=55.0),),
        )
        refused = await cem.ask("aircon", water, SettingResult)
        assert not refused.success and "no hot water" in (refused.reason or "")
        await ac.power_off()

    run(scenario)


def test_extra_hot_water_request_heats_the_tank_to_its_maximum() -> None:
    async def scenario(bus: MemoryBus, clock: SimulatedClock, cem: StandInCem) -> None:
        pump = await start_agent(bus, clock, lambda e: HeatPumpAgent(e, CEM, data()), "heatpump")
        assert (await cem.ask("heatpump", HotWaterRequest(device_id="heatpump"), SettingResult)).success
        reached = []
        for _ in range(120):
            await clock.sleep(60)
            reached.append(pump.model.tank.temperature_c)
        assert max(reached) == pytest.approx(pump.model.tank.parameters.max_c, abs=0.05)
        assert pump.model.tank.full or not pump.model.boost  # done: back to the thermostat
        await cem.ask("heatpump", HotWaterRequest(device_id="heatpump"), SettingResult)
        pump.model.tank.temperature_c = pump.model.tank.parameters.max_c
        result = await cem.ask("heatpump", HotWaterRequest(device_id="heatpump"), SettingResult)
        assert not result.success and "already full" in (result.reason or "")
        await pump.power_off()

    run(scenario)


def test_devices_fail_safe_when_the_cem_goes_silent() -> None:
    async def scenario(bus: MemoryBus, clock: SimulatedClock, cem: StandInCem) -> None:
        battery = await start_agent(bus, clock, lambda e: BatteryAgent(e, CEM, data()), "battery")
        pump = await start_agent(bus, clock, lambda e: HeatPumpAgent(e, CEM, data()), "heatpump")
        day = _series(MID_JUNE, [-2000.0] * 12)
        assert (await cem.ask("battery", PowerSetpointSchedule(device_id="battery", schedule_id="d", schedule=day),
                              SettingResult)).success
        nothing = PowerSetpointSchedule(
            device_id="heatpump", schedule_id="off", circuit="hot_water", schedule=_series(MID_JUNE, [0.0] * 12)
        )
        assert (await cem.ask("heatpump", nothing, SettingResult)).success
        await clock.sleep(1800)
        assert battery.model.power_w == -2000.0 - DEFAULT_BATTERY.standby_w  # set point = site power, own use included
        cem.silent = True
        await clock.sleep(2 * 3600)
        assert battery.failsafe and battery.model.power_w == 0.0  # idle, no longer discharging for a silent CEM
        assert pump.failsafe and not pump.schedules
        await clock.sleep(8 * 3600)
        assert pump.model.tank.temperature_c > pump.model.tank.parameters.min_c  # its own thermostat keeps it hot
        assert any("fail-safe" in event for event in battery.events)
        await battery.power_off()
        await pump.power_off()

    run(scenario)
