"""Property: for any prices (import and export, hour by hour) a home with PV and a battery gets a plan whose
energy balances hold — the battery's stored energy is its planned power stepped by the physics, inside its
band and back to its initial energy; the PV produces between 0 and its forecast; the site is the sum of
everything; the cost is the site's power at the prices."""

from __future__ import annotations

import numpy as np
from home_data import HOUR, PARAMETERS, battery, day_start, home, pv, pv_forecast
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flexcem.model.tariff import PriceSlot
from flexcem.physics import battery_step_coefficients, step
from flexcem.planner import solve

HOURS = 12


@st.composite
def hourly(draw: st.DrawFn, low: float, high: float) -> list[float]:
    return draw(st.lists(st.floats(low, high, allow_nan=False), min_size=HOURS, max_size=HOURS))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    day=st.integers(0, 60),
    first_hour=st.sampled_from([0, 6, 12]),
    price=hourly(0.0, 0.6),
    export=hourly(0.0, 0.3),
    soc=st.floats(0.1, 0.95),
    kw=st.floats(0.0, 10.0),
    curtailable=st.booleans(),
    export_limit=st.none() | st.floats(500.0, 5000.0),
)
def test_energy_balances_hold_for_any_prices(
    day: int,
    first_hour: int,
    price: list[float],
    export: list[float],
    soc: float,
    kw: float,
    curtailable: bool,
    export_limit: float | None,
) -> None:
    start = day_start(day, first_hour)
    problem = home(
        start, HOURS, [pv(start, HOURS, kw, curtailable=curtailable), battery(soc)], export_limit_w=export_limit
    )
    problem = problem.model_copy(
        update={
            "prices": tuple(
                PriceSlot(start=start + h * HOUR, duration=HOUR, price_per_kwh=p) for h, p in enumerate(price)
            ),
            "export_prices": tuple(
                PriceSlot(start=start + h * HOUR, duration=HOUR, price_per_kwh=p) for h, p in enumerate(export)
            ),
        }
    )
    plan = solve(problem)
    hours = 0.25
    initial = soc * PARAMETERS.capacity_wh

    # Battery: exact step of its power, inside the band, back to its initial energy.
    battery_plan = plan.device("battery")
    stored = np.array(battery_plan.state)
    charge = np.array(battery_plan.charge_power_w)
    discharge = np.array(battery_plan.discharge_power_w)
    np.testing.assert_allclose(charge - discharge, battery_plan.power_w, atol=1e-3)
    converted = PARAMETERS.charge_efficiency * charge - discharge / PARAMETERS.discharge_efficiency
    expected = step(initial, converted, battery_step_coefficients(PARAMETERS.self_discharge_per_h, hours))
    np.testing.assert_allclose(stored, expected, atol=1e-3)
    assert np.all(stored >= 1000.0 - 1e-3) and np.all(stored <= 9500.0 + 1e-3)
    assert stored[-1] >= min(initial, 9500.0) - 1e-3

    # PV: between 0 and the forecast (exactly the forecast when not curtailable).
    forecast = np.repeat([slot.power_w for slot in pv_forecast(start, HOURS, kw)], 4)
    generation = -np.array(plan.device("pv").power_w)
    assert np.all(generation >= -1e-9) and np.all(generation <= forecast + 1e-6)
    if not curtailable:
        np.testing.assert_allclose(generation, forecast, atol=1e-6)
    curtailed = plan.device("pv").curtailed_energy_wh
    assert curtailed is not None and abs(curtailed - np.sum(forecast - generation) * hours) < 1e-3

    # Site: committed load + battery − PV; the cost is its imports and exports at the prices.
    site = np.array(plan.committed_power_w) + np.array(battery_plan.power_w) - generation
    np.testing.assert_allclose(plan.site_power_w, site, atol=1e-6)
    price_slot = np.repeat(price, 4)
    export_slot = np.repeat(export, 4)
    cost = np.sum(np.maximum(site, 0) * price_slot - np.maximum(-site, 0) * export_slot) * hours / 1000.0
    assert abs(plan.total_cost - cost) < 1e-9 + 1e-9 * abs(cost)

    # Export limit: met unless the fixed PV exceeds it with the battery full (then named per slot).
    if export_limit is not None and curtailable:
        assert min(plan.site_power_w) >= -export_limit - 1e-3
        assert plan.violations == ()
