"""Story JWG15 "Manage in-premises battery": "Charge 23:00–05:00 (off-peak), discharge to house loads
10:00–14:00 (peak); the goal is lowest cost. The plan uses the tariff (cheap / expensive), expected load and
remaining charge." Test: with a two-level tariff, charge only in the cheap window and discharge only at the
peak, limited by load and SoC; cost ≤ cost without the battery.

The CityLearn tariff has the same shape (0.03025 USD/kWh, 0.06605 at the 15:00–18:00 peak).
"""

from __future__ import annotations

import numpy as np
import pytest
from home_data import battery, day_start, home

from flexcem.planner import solve


@pytest.mark.parametrize("day", [0, 1, 3, 6])
def test_charges_only_when_cheap_and_discharges_only_at_the_peak_to_the_house_loads(day: int) -> None:
    start = day_start(day)
    without = solve(home(start, 24, []))
    plan = solve(home(start, 24, [battery(0.2)]))
    power = np.array(plan.device("battery").power_w)
    price = np.array(plan.price_per_kwh)
    cheap, peak = price.min(), price.max()
    assert peak > cheap
    assert np.all(price[power > 1e-6] == cheap)
    assert np.all(price[power < -1e-6] == peak)
    assert np.sum(power < -1e-6) > 0  # it does shift
    # Discharge goes to the house: the site never exports, the peak import is the load the battery cannot cover.
    site = np.array(plan.site_power_w)
    assert np.all(site >= -1e-6)
    state = np.array(plan.device("battery").state)
    assert np.all(state >= 1000.0 - 1e-6) and np.all(state <= 9500.0 + 1e-6)
    assert plan.total_cost < without.total_cost


def test_discharge_is_limited_by_the_remaining_charge() -> None:
    start = day_start(1)
    plan = solve(home(start, 18, [battery(0.15, final_energy_wh=1000.0)]))  # up to the end of the peak
    power = np.array(plan.device("battery").power_w)
    price = np.array(plan.price_per_kwh)
    state = np.array(plan.device("battery").state)
    # Charging before the peak costs 0.03025 / 0.9025 per kWh delivered, far below 0.06605: the peak load is
    # covered entirely, from energy charged at night or from the start.
    site = np.array(plan.site_power_w)
    assert np.all(site[price == price.max()] <= 1e-6)
    assert state[-1] == pytest.approx(1000.0, abs=1e-3)
    assert np.all(power[price == price.max()] <= 1e-6)
