"""Verification: a fuel-cell plan executed on the CHP physics keeps min on/off times, the tank band, trajectory, cost.

The default 700 W PEFC unit (200 W minimum, 40 % electric, 50 % heat, 1 h minimum on and off) heats its
140 L tank (40–60 °C) against Building 1's hot-water draws (no backup boiler); gas at 0.25 USD/m³ (12.5 kWh/m³:
0.05 USD per kWh of electricity, between the data's off-peak 0.030 and peak 0.066 USD/kWh); Building 1's base
load; 24 h from noon on Tuesday 13 July 2021. The executor commands the planned output at the start of every
slot (:meth:`~flexcem.devices.FuelCellModel.command`, which refuses starts and stops that break the minimum
times) and steps the unit minute by minute. The bill is electricity (quarter-hour settlement) plus the gas
the unit burnt, against the plan's ``total_cost + fuel_cost``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pytest
from verification_harness import (
    HOUR,
    SLOT,
    SUBSTEPS,
    Execution,
    assert_cost,
    assert_trajectory,
    at,
    draws,
    execute,
    home_data,
    plan_for,
    problem,
)

from flexcem.devices import DEFAULT_FUEL_CELL, DEFAULT_FUEL_CELL_TANK, FuelCellModel, HotWaterTank
from flexcem.planner import Plan
from flexcem.planner.devices.fuel_cell import FuelCellDevice
from flexcem.planner.devices.thermal_inputs import GasPriceSlot, TankInput

START = at(42, 12)  # Tuesday 13 July 2021, 12:00
HOURS = 24
GAS_PER_M3 = 0.25
TANK_C = 45.0


def _plan() -> Plan:
    unit = FuelCellDevice(
        device_id="fuel_cell",
        fuel_cell=DEFAULT_FUEL_CELL,
        tank=TankInput(parameters=DEFAULT_FUEL_CELL_TANK, initial_c=TANK_C, draws=draws(START, HOURS)),
        gas_prices=(GasPriceSlot(start=START, duration=HOURS * HOUR, price_per_m3=GAS_PER_M3),),
    )
    return plan_for(problem(START, HOURS, [unit]))


@dataclass
class Run:
    """Tank at the slot boundaries and every minute [°C], on/off per slot, refusals, dumped heat, gas, meter."""

    boundaries: list[float] = field(default_factory=lambda: [TANK_C])
    minutes: list[float] = field(default_factory=list)
    running: list[bool] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)
    model: FuelCellModel | None = None
    execution: Execution | None = None


def _run(plan: Plan) -> Run:
    data = home_data()
    unit = FuelCellModel(DEFAULT_FUEL_CELL, HotWaterTank(DEFAULT_FUEL_CELL_TANK, TANK_C))
    planned = plan.device("fuel_cell").power_w
    run = Run(model=unit)

    def step(k: int, instant: datetime, dt_h: float) -> float:
        if instant == plan.start + k * SLOT:
            refusal = unit.command(instant, -planned[k] + 0.0)
            if refusal is not None:
                run.refusals.append(f"{instant.isoformat()}: {refusal}")
            run.running.append(unit.running)
        output = unit.step(draw_w=data.value_at(data.dhw_demand_w, instant), dt_h=dt_h)
        run.minutes.append(unit.tank.temperature_c)
        if len(run.minutes) % SUBSTEPS == 0:
            run.boundaries.append(unit.tank.temperature_c)
        return -output

    run.execution = execute(plan, step)
    return run


@pytest.fixture(scope="module")
def planned() -> Plan:
    return _plan()


@pytest.fixture(scope="module")
def executed(planned: Plan) -> Run:
    return _run(planned)


def test_the_plan_is_clean_and_runs_the_unit(planned: Plan) -> None:
    assert not planned.violations, [v.message for v in planned.violations]
    device = planned.device("fuel_cell")
    assert device.energy_wh < -1_000.0  # it generates
    assert device.fuel_cost is not None and device.gas_m3 is not None and device.gas_m3 > 0.0


def test_the_unit_accepts_every_command_and_keeps_its_minimum_times(executed: Run) -> None:
    assert not executed.refusals
    slots_on = round(DEFAULT_FUEL_CELL.min_on_h * 4)
    slots_off = round(DEFAULT_FUEL_CELL.min_off_h * 4)
    states = np.asarray(executed.running, dtype=int)
    changes = np.flatnonzero(np.diff(states)) + 1
    runs = np.diff(np.concatenate(([0], changes, [states.size])))
    values = states[np.concatenate(([0], changes))]
    for length, on in list(zip(runs, values, strict=True))[1:-1]:  # the first and last runs are cut by the horizon
        assert length >= (slots_on if on else slots_off)


def test_executed_tank_follows_the_planned_trajectory(planned: Plan, executed: Run) -> None:
    assert_trajectory(planned.device("fuel_cell").state, executed.boundaries, "°C", "tank temperature")


def test_executed_tank_keeps_its_band_every_minute_and_dumps_as_planned(planned: Plan, executed: Run) -> None:
    minutes = np.asarray(executed.minutes)
    assert minutes.min() >= DEFAULT_FUEL_CELL_TANK.min_c - 1e-6
    assert minutes.max() <= DEFAULT_FUEL_CELL_TANK.max_c + 1e-6
    assert executed.model is not None
    dump = planned.device("fuel_cell").heat_dump_w
    assert dump is not None
    assert executed.model.dumped_wh == pytest.approx(sum(dump) / 4.0, abs=1e-3)


def test_metered_electricity_and_gas_equal_the_plans_cost(planned: Plan, executed: Run) -> None:
    assert executed.execution is not None and executed.model is not None
    device = planned.device("fuel_cell")
    assert device.gas_m3 is not None and device.fuel_cost is not None
    assert executed.model.gas_m3 == pytest.approx(device.gas_m3, abs=1e-9)
    assert_cost(
        planned, executed.execution, extra_planned=device.fuel_cost, extra_metered=executed.model.gas_m3 * GAS_PER_M3
    )
