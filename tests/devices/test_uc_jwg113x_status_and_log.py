"""JWG113x — log/status of mixed energy system devices (uc-home §8).

"EMS requests status or log info from the device controller; device returns it." Acceptance: a StatusRequest
to each device type returns that type's fields with the right units; a LogRequest returns a time-ordered
history and cumulative counters that never decrease.
"""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

import pytest
from home_devices_harness import StandInCem, data, run, start_agent

from flexcem.bus import MemoryBus
from flexcem.clock import SimulatedClock
from flexcem.devices import (
    AirConditionerAgent,
    BatteryAgent,
    FuelCellAgent,
    HeatPumpAgent,
    HomeDeviceAgent,
    PvAgent,
    WaterHeaterAgent,
)
from flexcem.model import (
    AirConditionerLog,
    AirConditionerStatus,
    BatteryLog,
    BatteryStatus,
    FuelCellLog,
    FuelCellStatus,
    HeatPumpLog,
    HeatPumpStatus,
    LogRequest,
    PvLog,
    PvStatus,
    StatusRequest,
    WaterHeaterLog,
    WaterHeaterStatus,
)

KINDS: dict[str, tuple[Any, type, type, tuple[str, ...]]] = {
    # name: (agent class, status type, log type, §8 fields with their units in the name)
    "battery": (
        BatteryAgent,
        BatteryStatus,
        BatteryLog,
        ("cumulative_charge_wh", "cumulative_discharge_wh", "remaining_energy_kwh", "remaining_percent",
         "power_w", "current_a", "voltage_v"),
    ),
    "heatpump": (
        HeatPumpAgent,
        HeatPumpStatus,
        HeatPumpLog,
        ("cumulative_consumption_wh", "hot_water_c", "hot_water_remaining_l", "power_w"),
    ),
    "fuelcell": (
        FuelCellAgent,
        FuelCellStatus,
        FuelCellLog,
        ("cumulative_generated_wh", "gas_flow_m3_per_h", "cumulative_gas_m3", "hot_water_c", "tank_heat_mj",
         "hot_water_remaining_l", "generated_power_w"),
    ),
    "pv": (
        PvAgent,
        PvStatus,
        PvLog,
        ("generated_power_w", "exported_power_w", "cumulative_generated_wh", "cumulative_exported_wh"),
    ),
    "waterheater": (
        WaterHeaterAgent,
        WaterHeaterStatus,
        WaterHeaterLog,
        ("set_point_c", "hot_water_c", "level_percent", "hot_water_remaining_l", "power_w",
         "cumulative_consumption_wh"),
    ),
    "aircon": (
        AirConditionerAgent,
        AirConditionerStatus,
        AirConditionerLog,
        ("mode", "fan", "set_point_c", "room_c", "power_w", "cumulative_consumption_wh"),
    ),
}


async def _agents(bus: MemoryBus, clock: SimulatedClock) -> dict[str, HomeDeviceAgent]:
    agents = {}
    for name, (cls, *_rest) in KINDS.items():
        agents[name] = await start_agent(bus, clock, lambda endpoint, cls=cls: cls(endpoint, "home/cem", data()), name)
    return agents


def test_status_request_returns_each_kinds_fields_and_units() -> None:
    async def scenario(bus: MemoryBus, clock: SimulatedClock, cem: StandInCem) -> None:
        agents = await _agents(bus, clock)
        await clock.sleep(13 * 3600)  # to 13:00 CST: the sun is up, water has been drawn
        for name, (_cls, status_type, _log, fields) in KINDS.items():
            status = await cem.ask(name, StatusRequest(device_id=name), status_type)
            assert type(status) is status_type and status.device_id == name
            for field in fields:
                assert field in status_type.model_fields
                description = status_type.model_fields[field].description or ""
                unit = field.rsplit("_", 1)[-1]
                if unit in {"wh", "kwh", "w", "a", "v", "c", "l", "mj", "percent"}:
                    assert "[" in description, f"{status_type.__name__}.{field} states its unit"
        pv = await cem.ask("pv", StatusRequest(device_id="pv"), PvStatus)
        assert pv.generated_power_w > 500.0 and pv.cumulative_generated_wh > 1000.0
        assert pv.exported_power_w <= pv.generated_power_w
        heat_pump = await cem.ask("heatpump", StatusRequest(device_id="heatpump"), HeatPumpStatus)
        assert 40.0 <= heat_pump.hot_water_c <= 56.0 and heat_pump.cumulative_consumption_wh > 0.0
        battery = await cem.ask("battery", StatusRequest(device_id="battery"), BatteryStatus)
        assert battery.remaining_percent == pytest.approx(50.0, abs=0.1)  # idle without a plan
        assert battery.voltage_v == pytest.approx(51.2 * (0.94 + 0.12 * 0.5), rel=1e-3)
        for agent in agents.values():
            await agent.power_off()

    run(scenario)


def test_log_request_returns_a_time_ordered_history_with_counters_that_never_decrease() -> None:
    async def scenario(bus: MemoryBus, clock: SimulatedClock, cem: StandInCem) -> None:
        agents = await _agents(bus, clock)
        start = clock.now()
        await clock.sleep(30 * 3600)
        for name, (_cls, _status, log_type, _fields) in KINDS.items():
            log = await cem.ask(name, LogRequest(device_id=name), log_type)
            assert type(log) is log_type
            times = [entry.at for entry in log.entries]
            assert times == sorted(times) and len(set(times)) == len(times)
            assert len(times) >= 30 * 4  # one entry every 15 min
            for counter in log_type.counters:
                values = [getattr(entry, counter) for entry in log.entries]
                assert all(b >= a for a, b in itertools.pairwise(values)), counter
            window = await cem.ask(
                name,
                LogRequest(device_id=name, start=start + timedelta(hours=10), end=start + timedelta(hours=12)),
                log_type,
            )
            assert len(window.entries) == 8
            assert all(start + timedelta(hours=10) <= e.at < start + timedelta(hours=12) for e in window.entries)
        fuel_cell = await cem.ask("fuelcell", LogRequest(device_id="fuelcell"), FuelCellLog)
        assert fuel_cell.entries[-1].cumulative_gas_m3 > 0.0  # heat-led: it ran for the hot water drawn
        for agent in agents.values():
            await agent.power_off()

    run(scenario)


def test_requests_for_another_device_are_refused_naming_the_field() -> None:
    async def scenario(bus: MemoryBus, clock: SimulatedClock, cem: StandInCem) -> None:
        from flexcem.bus import MessageRefused

        agent = await start_agent(bus, clock, lambda e: BatteryAgent(e, "home/cem", data()), "battery")
        with pytest.raises(MessageRefused) as refused:
            await cem.endpoint.deliver("home/battery", StatusRequest(device_id="other"), expect=BatteryStatus)
        assert refused.value.field == "device_id"
        await agent.power_off()

    run(scenario)


