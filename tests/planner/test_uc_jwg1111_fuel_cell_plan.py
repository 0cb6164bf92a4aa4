"""JWG1111 — fuel cell operation with a tariff by time slot, planned by cost.

The use case's threshold rule ("price > threshold → on") is a CEM policy; the planner's part is to plan the
fuel cell by cost: it runs when the electricity it replaces is worth more than its gas, keeps its minimum on
and off times (from its state at the start), dumps the heat its tank cannot take, and reports the gas.
Real inputs: CityLearn 2023 two-level price (0.03025 / 0.06605 USD/kWh), Building 1's base load and draws.
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import numpy.typing as npt
import pytest
from thermal_data import PEAK_HOURS, at, base_load, column, day_start, draws, gas, prices, quarter_hourly

from flexcem.model.home_parameters import FuelCellParameters, TankParameters
from flexcem.planner import Plan, PlanningProblem, SiteLimits, ViolationKind, solve
from flexcem.planner.devices.fuel_cell import FuelCellDevice, min_up_down_repair
from flexcem.planner.devices.thermal_inputs import TankInput

FIRST = day_start(10)  # Friday 11 June 2021
HOURS = 24
DT_H = 0.25
TANK = TankParameters(volume_l=140.0, loss_w_per_k=1.5, min_c=45.0, max_c=70.0)
M3_PER_KWH_EL = 1.0 / (12.5 * 0.4)  # gas per kWh of electricity at η_el = 0.4 and 12.5 kWh/m³


def _fuel_cell(
    gas_price_per_m3: float,
    *,
    parameters: FuelCellParameters | None = None,
    tank: TankInput | None = None,
    initially_on: bool = False,
    in_state_for_h: float | None = None,
) -> FuelCellDevice:
    return FuelCellDevice(
        device_id="fc",
        fuel_cell=parameters or FuelCellParameters(power_max_w=700.0, power_min_w=200.0, min_on_h=0.0, min_off_h=0.0),
        tank=tank or TankInput(parameters=TANK, initial_c=70.0),
        gas_prices=gas(FIRST, HOURS, gas_price_per_m3),
        initially_on=initially_on,
        in_state_for_h=in_state_for_h,
    )


def _plan(device: FuelCellDevice) -> Plan:
    problem = PlanningProblem(
        start=at(FIRST),
        end=at(FIRST + HOURS),
        devices=(device,),
        prices=prices(FIRST, HOURS),
        site=SiteLimits(committed_load=base_load(FIRST, HOURS)),
    )
    return solve(problem)


def _output_w(plan: Plan) -> npt.NDArray[np.float64]:
    return -np.array(plan.device("fc").power_w)


PEAK = np.zeros(HOURS * 4, dtype=bool)
PEAK[PEAK_HOURS.start * 4 : PEAK_HOURS.stop * 4] = True


@pytest.mark.parametrize(
    ("gas_cost_per_kwh_el", "runs"),
    [(0.045, PEAK), (0.08, np.zeros(HOURS * 4, dtype=bool)), (0.02, np.ones(HOURS * 4, dtype=bool))],
    ids=["between_the_prices", "above_the_peak_price", "below_the_base_price"],
)
def test_the_fuel_cell_runs_exactly_when_electricity_costs_more_than_its_gas(
    gas_cost_per_kwh_el: float, runs: np.ndarray
) -> None:
    # Tank full and no draws: its heat is worth nothing, so only the electricity counts.
    plan = _plan(_fuel_cell(gas_cost_per_kwh_el / M3_PER_KWH_EL))
    output = _output_w(plan)
    assert np.all(output[~runs] == 0.0)
    # Running, it covers the base load (an export would earn nothing), up to its maximum.
    load_w = quarter_hourly(column("Building_1.csv", "non_shiftable_load")[FIRST : FIRST + HOURS]) * 1000.0
    np.testing.assert_allclose(output[runs], np.minimum(load_w[runs], 700.0), atol=1e-6)
    device = plan.device("fc")
    assert device.gas_m3 == pytest.approx(float(np.sum(output)) / 1000.0 * DT_H * M3_PER_KWH_EL, rel=1e-9)
    assert device.gas_m3 is not None
    assert device.fuel_cost == pytest.approx(device.gas_m3 * gas_cost_per_kwh_el / M3_PER_KWH_EL, rel=1e-9)
    # The full tank cannot take the heat: it is dumped, and reported.
    assert device.heat_dump_w is not None
    assert np.sum(device.heat_dump_w) > 0.0 or not runs.any()
    assert max(device.state or ()) <= TANK.max_c + 1e-6
    assert plan.violations == ()


def _runs(on: np.ndarray) -> list[tuple[bool, int, int]]:
    edges = np.flatnonzero(np.diff(on.astype(int))) + 1
    bounds = [0, *edges.tolist(), on.size]
    return [(bool(on[a]), a, b) for a, b in pairwise(bounds)]


def test_minimum_on_and_off_times_hold_from_the_initial_state() -> None:
    # On for 30 min at 00:00 with a 2 h minimum on time, a 4 h minimum once started and 2 h off.
    plan = _plan(
        _fuel_cell(
            0.045 / M3_PER_KWH_EL,
            parameters=FuelCellParameters(power_max_w=700.0, power_min_w=200.0, min_on_h=4.0, min_off_h=2.0),
            initially_on=True,
            in_state_for_h=3.5,
        )
    )
    on = _output_w(plan) > 0.0
    assert np.all(on[:2])  # 3.5 h of 4 h served: 30 min more at the night price
    for state, first, last in _runs(on):
        length = last - first
        if state and first > 0 and last < on.size:
            assert length >= 16, (first, last)
        if not state and first > 0 and last < on.size:
            assert length >= 8, (first, last)
    # The 3 h peak is worth a 4 h run: 1 h more at the base price costs less than the peak earns.
    assert np.all(on[PEAK])
    assert int(np.sum(on[2:])) >= 16
    assert np.all(_output_w(plan)[on] >= 200.0 - 1e-6)


def test_a_unit_off_since_recently_stays_off_through_its_minimum_off_time() -> None:
    plan = _plan(
        _fuel_cell(
            0.02 / M3_PER_KWH_EL,
            parameters=FuelCellParameters(power_max_w=700.0, power_min_w=200.0, min_on_h=1.0, min_off_h=3.0),
            initially_on=False,
            in_state_for_h=1.0,
        )
    )
    on = _output_w(plan) > 0.0
    assert not on[:8].any() and on[8:].all()  # off until 3 h have passed, then on: it pays all day


def test_heat_that_replaces_boiler_gas_makes_the_fuel_cell_run_below_its_electric_break_even() -> None:
    # Gas per kWh_el 0.045 > the base price 0.03025, but its 1.25 kWh of heat saves 1.39 kWh of boiler gas.
    parameters = FuelCellParameters(power_max_w=700.0, power_min_w=200.0, backup_boiler_power_max_w=20_000.0)
    tank = TankInput(parameters=TANK, initial_c=50.0, draws=draws(FIRST, HOURS))
    plan = _plan(_fuel_cell(0.045 / M3_PER_KWH_EL, parameters=parameters, tank=tank))
    output = _output_w(plan)
    assert np.any(output[~PEAK] > 0.0)
    assert not plan.violations_of(ViolationKind.TANK_TEMPERATURE)


def test_repair_keeps_minimum_times() -> None:
    wanted = np.array([1, 0, 1, 1, 0, 0, 0, 1, 0, 1], dtype=bool)
    repaired = min_up_down_repair(wanted, initially_on=False, in_state_slots=0, up=3, down=2)
    assert repaired.tolist() == [False, False, True, True, True, False, False, True, True, True]
