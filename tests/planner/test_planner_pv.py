"""The PV kind: generation is negative at the site, a fixed system produces its forecast, a curtailable one
anything between 0 and the forecast — and curtails only when that pays or avoids a violation."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from home_data import HOUR, day_start, home, pv, pv_forecast

from flexcem.planner import PlanStatus, solve
from flexcem.planner.devices.pv import PvDevice

START = day_start(2)  # Thursday 3 June 2021, 00:00 CST


def test_fixed_pv_produces_its_forecast_as_negative_power() -> None:
    plan = solve(home(START, 24, [pv(START, 24, 4.0, curtailable=False)]))
    forecast = np.repeat([slot.power_w for slot in pv_forecast(START, 24, 4.0)], 4)
    device = plan.device("pv")
    np.testing.assert_allclose(device.power_w, -forecast, atol=1e-9)
    assert device.curtailed_energy_wh == 0.0
    assert device.energy_wh == pytest.approx(-forecast.sum() / 4.0)
    np.testing.assert_allclose(plan.site_power_w, np.array(plan.committed_power_w) - forecast, atol=1e-6)


@pytest.mark.parametrize("export_share", [None, 0.0, 0.5])
def test_curtailable_pv_is_not_curtailed_when_nothing_asks_for_it(export_share: float | None) -> None:
    plan = solve(home(START, 24, [pv(START, 24, 8.0)], export_share=export_share))
    assert plan.device("pv").curtailed_energy_wh == 0.0
    assert plan.status is PlanStatus.OPTIMAL


def test_curtailable_pv_is_curtailed_when_exporting_costs_money() -> None:
    # A negative feed-in price (the grid charges for exports) between 10:00 and 14:00.
    problem = home(START, 24, [pv(START, 24, 8.0)], export_share=0.5)
    charged = tuple(
        slot.model_copy(update={"price_per_kwh": -0.02}) if 10 <= (slot.start - START) / HOUR < 14 else slot
        for slot in problem.export_prices
    )
    plan = solve(problem.model_copy(update={"export_prices": charged}))
    site = np.array(plan.site_power_w).reshape(24, 4)
    assert np.all(site[10:14] >= -1e-6)  # no export while it costs
    assert np.any(site[14:] < -1.0)  # exports again when paid
    # Exactly the surplus over the house load in those hours is curtailed; the rest is used in the house.
    forecast = np.repeat([slot.power_w for slot in pv_forecast(START, 24, 8.0)], 4).reshape(24, 4)
    load = np.array(plan.committed_power_w).reshape(24, 4)
    surplus_wh = np.sum(np.maximum(forecast[10:14] - load[10:14], 0.0)) / 4.0
    assert surplus_wh > 100.0
    assert plan.device("pv").curtailed_energy_wh == pytest.approx(surplus_wh, abs=1e-3)


def test_forecast_in_other_slots_is_averaged_onto_the_grid() -> None:
    half_hours = tuple(
        slot.model_copy(update={"start": START + timedelta(minutes=30 * index), "duration": timedelta(minutes=30)})
        for index, slot in enumerate(pv_forecast(START, 12, 3.0) + pv_forecast(START + timedelta(hours=12), 12, 3.0))
    )
    device = PvDevice(device_id="pv", forecast=half_hours, curtailable=False)
    plan = solve(home(START, 12, [device]))
    expected = np.repeat([slot.power_w for slot in half_hours], 2)
    np.testing.assert_allclose(plan.device("pv").power_w, -expected, atol=1e-9)


def test_a_forecast_with_generation_negative_is_accepted_from_power_slots() -> None:
    from flexcem.model.timeseries import PowerSlot

    slots = [PowerSlot(start=s.start, duration=s.duration, power_w=-s.power_w) for s in pv_forecast(START, 6, 3.0)]
    device = PvDevice.from_power_slots("pv", slots, curtailable=True)
    assert [slot.power_w for slot in device.forecast] == [slot.power_w for slot in pv_forecast(START, 6, 3.0)]
    with pytest.raises(ValueError, match=r"slots\.0 has consumption"):
        PvDevice.from_power_slots("pv", [slots[0].model_copy(update={"power_w": 10.0})], curtailable=True)
