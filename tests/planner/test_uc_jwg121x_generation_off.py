"""JWG121x — local power managing: an export-reduction request met by switching generation off (uc-home §10).

"EMS requests FC controller to turn off the FC (1211) … PV controller to turn off the PV system (1212)."
The planner side: a PV system or a fuel cell with an ``off`` window produces nothing in it; a fuel cell whose
minimum on time keeps it on is reported (``generator_off``), not made infeasible.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from home_data import HOUR, home, pv
from home_data import day_start as pv_day
from pydantic import ValidationError
from thermal_data import at, base_load, day_start, gas, prices

from flexcem.model.home_parameters import FuelCellParameters, TankParameters
from flexcem.model.timeseries import Slot
from flexcem.planner import PlanningProblem, SiteLimits, solve
from flexcem.planner.devices.fuel_cell import FuelCellDevice
from flexcem.planner.devices.pv import PvDevice
from flexcem.planner.devices.thermal_inputs import TankInput

PV_START = pv_day(3)  # Friday 4 June 2021, 00:00 CST
PV_WINDOW = Slot(start=PV_START + 11 * HOUR, duration=2 * HOUR)


def test_a_pv_system_switched_off_in_a_window_produces_nothing_there_and_its_forecast_elsewhere() -> None:
    problem = home(PV_START, 24, [pv(PV_START, 24, 6.0, curtailable=True)], export_share=0.4)
    device = problem.devices[0]
    assert isinstance(device, PvDevice)
    off = device.model_copy(update={"off": (PV_WINDOW,)})
    plan = solve(problem.model_copy(update={"devices": (off,)}))
    generation = -np.array(plan.device("pv").power_w)
    assert np.all(generation[11 * 4 : 13 * 4] == 0.0)
    assert generation[9 * 4 : 11 * 4].min() > 0.0 and generation[13 * 4 : 15 * 4].min() > 0.0
    assert plan.device("pv").curtailed_energy_wh is not None and plan.device("pv").curtailed_energy_wh > 1000.0


def test_a_pv_system_that_cannot_be_curtailed_cannot_be_switched_off() -> None:
    problem = home(PV_START, 24, [pv(PV_START, 24, 6.0, curtailable=False)])
    device = problem.devices[0]
    with pytest.raises(ValidationError, match="off"):
        PvDevice.model_validate({**device.model_dump(), "off": [PV_WINDOW.model_dump()]})


FIRST = day_start(10)  # Friday 11 June 2021
HOURS = 24
FC_WINDOW = Slot(start=at(FIRST + 16), duration=timedelta(hours=2))  # in the 15–18 h price peak


def _fuel_cell(off: tuple[Slot, ...], *, initially_on: bool = False, min_on_h: float = 0.0) -> FuelCellDevice:
    return FuelCellDevice(
        device_id="fc",
        fuel_cell=FuelCellParameters(power_max_w=700.0, power_min_w=200.0, min_on_h=min_on_h, min_off_h=0.0),
        tank=TankInput(parameters=TankParameters(volume_l=140.0, min_c=45.0, max_c=70.0), initial_c=70.0),
        gas_prices=gas(FIRST, HOURS, 0.045 * 12.5 * 0.4),  # gas at 0.045 USD per kWh of electricity
        initially_on=initially_on,
        in_state_for_h=0.0 if initially_on else None,
        off=off,
    )


def _plan(device: FuelCellDevice) -> PlanningProblem:
    return PlanningProblem(
        start=at(FIRST),
        end=at(FIRST + HOURS),
        devices=(device,),
        prices=prices(FIRST, HOURS),
        site=SiteLimits(committed_load=base_load(FIRST, HOURS)),
    )


def test_a_fuel_cell_switched_off_in_the_peak_runs_in_the_rest_of_the_peak_only() -> None:
    running = -np.array(solve(_plan(_fuel_cell(()))).device("fc").power_w)
    assert running[16 * 4 : 18 * 4].min() > 0.0  # without the request it runs through the peak
    plan = solve(_plan(_fuel_cell((FC_WINDOW,))))
    output = -np.array(plan.device("fc").power_w)
    assert np.all(output[16 * 4 : 18 * 4] == 0.0)
    assert output[15 * 4 : 16 * 4].min() > 0.0
    assert not plan.violations


def test_a_fuel_cell_kept_on_by_its_minimum_on_time_is_reported_not_infeasible() -> None:
    window = Slot(start=at(FIRST), duration=timedelta(hours=1))
    plan = solve(_plan(_fuel_cell((window,), initially_on=True, min_on_h=2.0)))
    kept_on = plan.violations_of("generator_off")
    assert kept_on and all(v.device_id == "fc" and v.unit == "Wh" for v in kept_on)
    assert plan.status in ("optimal", "feasible")
