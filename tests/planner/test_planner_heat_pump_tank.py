"""Heat pump with a hot-water tank (and a room): exact physics, cheap slots, modulation floor, soft bands.

Inputs are real: outdoor temperature, Building 1's hot-water draws and cooling demand, and the two-level
price of the CityLearn 2023 data (0.03025 USD/kWh, 0.06605 from 15:00 to 18:00 on weekdays).
"""

from __future__ import annotations

import numpy as np
import pytest
from thermal_data import (
    PEAK_HOURS,
    at,
    column,
    comfort,
    cooling_gains,
    day_start,
    draws,
    hottest_day,
    outdoor,
    prices,
    quarter_hourly,
)

from flexcem.model.home_parameters import HeatPumpParameters, RoomParameters, TankParameters
from flexcem.physics import carnot_cop, cooling_eer, step, tank_step_coefficients
from flexcem.planner import PlanningProblem, ViolationKind, solve
from flexcem.planner.devices.heat_pump import HeatPumpDevice
from flexcem.planner.devices.thermal_inputs import RoomInput, TankInput

DAY = 10  # Friday 11 June 2021: a weekday with the price peak
HOURS = 24
DT_H = 0.25
TANK = TankParameters(volume_l=200.0, loss_w_per_k=1.8, min_c=45.0, max_c=60.0)
UNIT = HeatPumpParameters(power_max_w=1500.0)


def _problem(*devices: HeatPumpDevice, day: int = DAY) -> PlanningProblem:
    first = day_start(day)
    return PlanningProblem(start=at(first), end=at(first + HOURS), devices=devices, prices=prices(first, HOURS))


def _tank_heat_pump(unit: HeatPumpParameters = UNIT, initial_c: float = 50.0) -> HeatPumpDevice:
    first = day_start(DAY)
    return HeatPumpDevice(
        device_id="hp",
        heat_pump=unit,
        outdoor=outdoor(first, HOURS),
        tank=TankInput(parameters=TANK, initial_c=initial_c, draws=draws(first, HOURS)),
    )


def _outdoor_per_slot(day: int) -> np.ndarray:
    first = day_start(day)
    return quarter_hourly(column("weather.csv", "outdoor_dry_bulb_temperature")[first : first + HOURS])


def _draws_kw_per_slot(day: int) -> np.ndarray:
    first = day_start(day)
    return quarter_hourly(column("Building_1.csv", "dhw_demand")[first : first + HOURS])


def test_tank_temperatures_follow_the_exact_step_of_the_planned_power() -> None:
    plan = solve(_problem(_tank_heat_pump()))
    device = plan.device("hp")
    assert device.state_quantity == "tank_temperature" and device.state_unit == "°C"
    assert device.hot_water_power_w == device.power_w
    cop = carnot_cop(_outdoor_per_slot(DAY), UNIT.supply_hot_water_c, UNIT.carnot_efficiency, UNIT.cop_max)
    heat_kw = cop * np.array(device.power_w) / 1000.0 - _draws_kw_per_slot(DAY)
    capacity = TANK.heat_capacity_kwh_per_k
    coefficients = tank_step_coefficients(capacity, TANK.loss_w_per_k, DT_H)
    rate = TANK.loss_w_per_k / 1000.0 / capacity
    expected = step(50.0, heat_kw / capacity + rate * TANK.ambient_c, coefficients)
    assert device.state is not None and len(device.state) == plan.slot_count + 1
    np.testing.assert_allclose(device.state, expected, atol=1e-6)


def test_tank_heating_moves_out_of_the_price_peak_and_keeps_the_band() -> None:
    plan = solve(_problem(_tank_heat_pump()))
    device = plan.device("hp")
    assert plan.violations == ()
    power = np.array(device.power_w).reshape(HOURS, 4)
    assert np.all(power[list(PEAK_HOURS)] == 0.0)
    assert device.energy_wh > 0.0  # the draws need heat: it is bought before the peak
    assert device.state is not None
    assert min(device.state) >= TANK.min_c - 1e-6
    assert max(device.state) <= TANK.max_c + 1e-6
    # Heat is stored just ahead of the peak (after it the tank may cool to the band's floor).
    before_peak = power[PEAK_HOURS.start - 3 : PEAK_HOURS.start].sum()
    assert before_peak > 0.0


def test_a_modulation_floor_makes_the_power_zero_or_at_least_the_floor() -> None:
    unit = HeatPumpParameters(power_max_w=1500.0, power_min_w=600.0)
    plan = solve(_problem(_tank_heat_pump(unit)))
    power = np.array(plan.device("hp").power_w)
    assert np.all((power == 0.0) | (power >= 600.0 - 1e-6))
    assert np.any(power > 0.0)
    assert plan.violations == ()


def test_one_unit_shares_its_power_between_hot_water_and_cooling_the_room() -> None:
    day = hottest_day(with_peak_price=True)
    first = day_start(day)
    room = RoomParameters(heat_capacity_kwh_per_k=3.0, loss_w_per_k=150.0)
    unit = HeatPumpParameters(power_max_w=3000.0)
    device = HeatPumpDevice(
        device_id="hp",
        heat_pump=unit,
        outdoor=outdoor(first, HOURS),
        tank=TankInput(parameters=TANK, initial_c=50.0, draws=draws(first, HOURS)),
        room=RoomInput(
            parameters=room,
            initial_c=25.0,
            comfort=comfort(first, HOURS, lower_c=22.0, upper_c=26.0),
            gains=cooling_gains(first, HOURS, 150.0),
        ),
        space_mode="cooling",
    )
    plan = solve(_problem(device, day=day))
    result = plan.device("hp")
    assert plan.violations == ()
    total = np.array(result.power_w)
    assert result.hot_water_power_w is not None and result.room_temperature_c is not None
    hot_water = np.array(result.hot_water_power_w)
    cooling = total - hot_water
    assert np.all(total <= unit.power_max_w + 1e-6)
    assert np.all(hot_water >= -1e-9) and np.all(cooling >= -1e-9)
    assert cooling.sum() > 0.0 and hot_water.sum() > 0.0
    t_out = _outdoor_per_slot(day)
    eer = cooling_eer(t_out, unit.supply_cooling_c, unit.carnot_efficiency, unit.cop_max)
    gains = quarter_hourly(np.array([slot.heat_w for slot in cooling_gains(first, HOURS, 150.0)])) / 1000.0
    coefficients = tank_step_coefficients(room.heat_capacity_kwh_per_k, room.loss_w_per_k, DT_H)
    rate = room.loss_w_per_k / 1000.0 / room.heat_capacity_kwh_per_k
    b = (gains - eer * cooling / 1000.0) / room.heat_capacity_kwh_per_k + rate * t_out
    np.testing.assert_allclose(result.room_temperature_c, step(25.0, b, coefficients), atol=1e-6)
    assert result.state is not None and result.state_quantity == "tank_temperature"
    assert min(result.state) >= TANK.min_c - 1e-6


def test_a_heat_pump_too_small_for_a_hot_day_reports_the_kelvin_hours_above_the_band() -> None:
    day = hottest_day()
    first = day_start(day)
    room = RoomParameters(heat_capacity_kwh_per_k=3.0, loss_w_per_k=150.0)
    device = HeatPumpDevice(
        device_id="hp",
        heat_pump=HeatPumpParameters(power_max_w=400.0),
        outdoor=outdoor(first, HOURS),
        room=RoomInput(
            parameters=room,
            initial_c=25.0,
            comfort=comfort(first, HOURS, lower_c=21.0, upper_c=26.0),
            gains=cooling_gains(first, HOURS, 150.0),
        ),
        space_mode="cooling",
    )
    plan = solve(_problem(device, day=day))
    result = plan.device("hp")
    found = plan.violations_of(ViolationKind.ROOM_TEMPERATURE)
    assert found and all(v.device_id == "hp" and v.unit == "K·h" for v in found)
    assert result.state_quantity == "room_temperature"
    temperatures = np.array(result.state)[1:]
    expected = float(np.sum(np.maximum(temperatures - 26.0, 0.0)) * DT_H)
    assert sum(v.amount for v in found) == pytest.approx(expected, rel=1e-6, abs=1e-6)
    assert expected > 1.0
    # Whenever the room is above its band the unit is already at full power in that slot.
    above = temperatures > 26.0 + 1e-4
    assert np.all(np.array(result.power_w)[above] >= 400.0 - 1e-6)
