"""The home devices step exactly the equations of docs/home-physics.md: a planned power profile, executed on
the device in fine steps, reproduces the planner's slot-by-slot trajectory (flexcem.physics), on real data."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from home_devices_harness import MID_JUNE, data

from flexcem.devices import (
    DEFAULT_AIR_CONDITIONER,
    DEFAULT_BATTERY,
    DEFAULT_FUEL_CELL,
    DEFAULT_FUEL_CELL_TANK,
    DEFAULT_HEAT_PUMP,
    DEFAULT_HEAT_PUMP_TANK,
    DEFAULT_ROOM,
    DEFAULT_WATER_HEATER_TANK,
    AirConditionerModel,
    BaseLoad,
    BatteryModel,
    FuelCellModel,
    HeatPumpModel,
    HotWaterTank,
    Room,
    WaterHeaterModel,
    room_gains_w,
)
from flexcem.physics import battery_step_coefficients, carnot_cop, cooling_eer, step, tank_step_coefficients

MINUTES = 60  # a device steps each hourly slot in 60 one-minute steps


def _hours(n: int) -> range:
    first = data().index(MID_JUNE)
    return range(first, first + n)


def test_battery_executing_a_plan_follows_the_planners_trajectory() -> None:
    # A realistic day: charge from the midday PV surplus, discharge into the evening peak, rest at night.
    plan_w = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1500, 2000, 2000, 1000, 500, 0, 0, -1000, -2000, -2000, -1200, -500, 0, 0]
    p = DEFAULT_BATTERY
    battery = BatteryModel(p, energy_wh=1500.0)
    k = battery_step_coefficients(p.self_discharge_per_h, 1.0)
    inputs = [p.charge_efficiency * max(w, 0) - max(-w, 0) / p.discharge_efficiency for w in plan_w]
    expected = step(1500.0, inputs, k)
    assert np.all(expected >= p.soc_min * p.capacity_wh) and np.all(expected <= p.soc_max * p.capacity_wh)
    for hour, power in enumerate(plan_w):
        for _ in range(MINUTES):
            battery.step(power, 1.0 / MINUTES)
        assert battery.energy_wh == pytest.approx(expected[hour + 1], abs=1e-6)
    assert battery.charged_wh == pytest.approx(sum(max(w, 0) for w in plan_w))
    assert battery.discharged_wh == pytest.approx(sum(max(-w, 0) for w in plan_w))


def test_battery_stops_exactly_at_the_edges_of_its_band() -> None:
    p = DEFAULT_BATTERY
    battery = BatteryModel(p, energy_wh=p.soc_max * p.capacity_wh - 500.0)
    done = battery.step(5000.0, 1.0)
    assert battery.energy_wh == pytest.approx(p.soc_max * p.capacity_wh)
    assert done.power_w < 600.0
    battery.step(-5000.0, 3.0)
    assert battery.energy_wh == pytest.approx(p.soc_min * p.capacity_wh)
    assert battery.step(0.0, 1.0).site_power_w == p.standby_w
    with pytest.raises(ValueError, match="energy_wh"):
        BatteryModel(p, energy_wh=-1.0)


def test_heat_pump_tank_follows_the_exact_step_with_the_cop_of_the_real_weather() -> None:
    d, hours = data(), _hours(24)
    plan_w = np.array([0, 0, 0, 0, 150, 150, 0, 0, 0, 0, 0, 150, 150, 0, 0, 0, 0, 0, 150, 150, 0, 0, 0, 0.0])
    tank_p = DEFAULT_HEAT_PUMP_TANK
    pump = HeatPumpModel(DEFAULT_HEAT_PUMP, HotWaterTank(tank_p, 50.0))
    cop = carnot_cop(d.outdoor_c[hours], DEFAULT_HEAT_PUMP.supply_hot_water_c, 0.45, 6.0)
    c = tank_p.heat_capacity_kwh_per_k
    k = tank_step_coefficients(c, tank_p.loss_w_per_k, 1.0)
    rate = tank_p.loss_w_per_k / 1000.0 / c
    inputs = (cop * plan_w - d.dhw_demand_w[hours]) / 1000.0 / c + rate * tank_p.ambient_c
    expected = step(50.0, inputs, k)
    assert np.all(expected < tank_p.max_c) and np.all(expected > tank_p.min_c - 5)  # a plan the tank can hold
    for index, hour in enumerate(hours):
        for _ in range(MINUTES):
            pump.step(plan_w[index], 0.0, outdoor_c=d.outdoor_c[hour], draw_w=d.dhw_demand_w[hour], gains_w=0.0,
                      dt_h=1.0 / MINUTES)
        assert pump.tank.temperature_c == pytest.approx(expected[index + 1], abs=1e-6)
    assert pump.consumed_wh == pytest.approx(sum(plan_w))


def test_heat_pump_thermostat_keeps_hot_water_over_a_week_of_real_draws() -> None:
    d = data()
    pump = HeatPumpModel(DEFAULT_HEAT_PUMP, HotWaterTank(DEFAULT_HEAT_PUMP_TANK, 50.0))
    lowest = 50.0
    for hour in _hours(24 * 7):
        for _ in range(4):
            hot, space = pump.thermostat(d.outdoor_c[hour], d.dhw_demand_w[hour], 0.0, 0.25)
            pump.step(hot, space, outdoor_c=d.outdoor_c[hour], draw_w=d.dhw_demand_w[hour], gains_w=0.0, dt_h=0.25)
            lowest = min(lowest, pump.tank.temperature_c)
            assert pump.tank.temperature_c <= DEFAULT_HEAT_PUMP_TANK.max_c + 1e-6
    assert lowest > DEFAULT_HEAT_PUMP_TANK.min_c - 3.0
    assert 5_000.0 < pump.consumed_wh < 40_000.0  # a week of hot water at a COP of 3–4


def test_air_conditioner_executing_a_plan_follows_the_room_equation() -> None:
    d, hours = data(), _hours(24)
    gains = room_gains_w(d, DEFAULT_ROOM)
    plan_w = [300, 300, 300, 300, 300, 300, 300, 400, 600, 800, 1000, 1200, 1300, 1400, 1400, 1400, 1300, 1200,
              1000, 800, 600, 500, 400, 300]
    ac = AirConditionerModel(DEFAULT_AIR_CONDITIONER, Room(DEFAULT_ROOM, 25.0), set_point_c=20.0)  # always cooling
    eer = cooling_eer(d.outdoor_c[hours], DEFAULT_AIR_CONDITIONER.supply_cooling_c, 0.4, 6.0)
    c, ua = DEFAULT_ROOM.heat_capacity_kwh_per_k, DEFAULT_ROOM.loss_w_per_k
    k = tank_step_coefficients(c, ua, 1.0)
    inputs = (gains[hours] - eer * plan_w) / 1000.0 / c + ua / 1000.0 / c * d.outdoor_c[hours]
    expected = step(25.0, inputs, k)
    for index, hour in enumerate(hours):
        for _ in range(MINUTES):
            ac.step(plan_w[index], outdoor_c=d.outdoor_c[hour], gains_w=gains[hour], dt_h=1.0 / MINUTES)
        assert ac.room.temperature_c == pytest.approx(expected[index + 1], abs=1e-6)
    assert min(expected) > 18.0 and max(expected) < 32.0  # a plausible Texan June day indoors


def test_air_conditioner_thermostat_holds_its_set_point_through_a_hot_week() -> None:
    d = data()
    gains = room_gains_w(d, DEFAULT_ROOM)
    ac = AirConditionerModel(DEFAULT_AIR_CONDITIONER, Room(DEFAULT_ROOM, 27.0), set_point_c=24.0)
    temperatures = []
    for hour in _hours(24 * 7):
        for _ in range(12):
            power = ac.thermostat(outdoor_c=d.outdoor_c[hour], gains_w=gains[hour], dt_h=1 / 12)
            ac.step(power, outdoor_c=d.outdoor_c[hour], gains_w=gains[hour], dt_h=1 / 12)
            temperatures.append(ac.room.temperature_c)
    assert max(temperatures[24:]) <= 24.5 + 1e-6  # after two hours of pulling down from 27 °C
    assert 50_000.0 < ac.consumed_wh < 250_000.0  # 7–35 kWh a day of cooling in June in Texas


def test_water_heater_heats_to_its_set_point_and_level() -> None:
    heater = WaterHeaterModel(HotWaterTank(DEFAULT_WATER_HEATER_TANK, 40.0), set_point_c=90.0, level_percent=50.0)
    assert heater.target_c == pytest.approx(15.0 + 0.5 * 75.0)
    reached = []
    for _ in range(24):
        heater.step(heater.thermostat(0.0, 0.25), draw_w=0.0, dt_h=0.25)
        reached.append(heater.tank.temperature_c)
    assert max(reached) == pytest.approx(heater.target_c, abs=1e-6)  # it stops exactly at the target
    assert reached[-1] > heater.target_c - 3.0  # and waits for a 3 K drop before heating again
    heater.configure(90.0, 100.0)
    for _ in range(40):
        heater.step(4400.0, draw_w=0.0, dt_h=0.25)  # the plan asks for more than the tank can take
    assert heater.tank.temperature_c == pytest.approx(90.0, abs=1e-6)
    with pytest.raises(ValueError, match="set_point_c"):
        heater.configure(95.0, 50.0)
    with pytest.raises(ValueError, match="level_percent"):
        heater.configure(80.0, 0.0)


def test_fuel_cell_refuses_what_breaks_its_run_times_or_a_full_tank() -> None:
    cell = FuelCellModel(DEFAULT_FUEL_CELL, HotWaterTank(DEFAULT_FUEL_CELL_TANK, 45.0))
    assert cell.command(MID_JUNE, 700.0) is None
    assert "minimum on time" in (cell.command(MID_JUNE + timedelta(minutes=30), 0.0) or "")
    assert "below the stack's minimum" in (cell.command(MID_JUNE, 100.0) or "")
    assert cell.command(MID_JUNE + timedelta(hours=1), 0.0) is None
    assert "minimum off time" in (cell.command(MID_JUNE + timedelta(hours=1, minutes=20), 700.0) or "")
    cell.tank.temperature_c = DEFAULT_FUEL_CELL_TANK.max_c
    assert "tank is full" in (cell.command(MID_JUNE + timedelta(hours=3), 700.0) or "")


def test_fuel_cell_meters_electricity_gas_and_dumped_heat() -> None:
    cell = FuelCellModel(DEFAULT_FUEL_CELL, HotWaterTank(DEFAULT_FUEL_CELL_TANK, 58.0))
    cell.command(MID_JUNE, 700.0)
    for _ in range(8):
        cell.step(draw_w=0.0, dt_h=0.25)
    assert cell.generated_wh == pytest.approx(1400.0)
    assert cell.gas_m3 == pytest.approx(1400.0 / 0.40 / 1000.0 / 12.5)  # 0.28 m³ of 13A gas
    assert cell.tank.temperature_c == pytest.approx(DEFAULT_FUEL_CELL_TANK.max_c)
    assert 0.0 < cell.dumped_wh < 1400.0 * 0.5 / 0.4  # the heat that did not fit
    assert cell.tank.heat_mj == pytest.approx(140 * 4.186 / 3600 * (60 - 15) * 3.6)


def test_base_load_is_the_buildings_measured_load() -> None:
    load = BaseLoad(data())
    series = load.forecast(MID_JUNE, MID_JUNE + timedelta(days=1))
    assert len(series.slots) == 24 and all(slot.power_w > 0.0 for slot in series.slots)
    assert load.advance(MID_JUNE, 1.0) == series.slots[0].power_w
    assert 5_000.0 < series.energy_wh < 40_000.0
