"""Charging sessions: energy delivered, power within [min, curve] or 0, taper, shortfall, partial slots."""

from __future__ import annotations

import os
from datetime import timedelta

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from planner_builders import T0, WASHER_ECO, at, ev, flexible, prices, problem

from flexcem.model.flexibility import ChargingSessionOffer, IncentiveProgram
from flexcem.planner import ChargingSessionDevice, Plan, PlanningProblem, ViolationKind, solve

TAPER = ((0.0, 11_000.0), (20_000.0, 11_000.0), (30_000.0, 3_000.0))


def _charging_power_w(plan: Plan, problem: PlanningProblem, device: ChargingSessionDevice) -> np.ndarray:
    """The power while inside the window (the plan gives slot averages; partial slots scale by the
    fraction inside the window)."""
    grid = problem.grid()
    begin = max(grid.offset_us(device.earliest_start), 0)
    end = min(grid.offset_us(device.latest_end), grid.end_us)
    edges = grid.edges_us
    inside = np.clip(np.minimum(edges[1:], end) - np.maximum(edges[:-1], begin), 0, None) / grid.slot_us
    average = np.array(plan.device(device.device_id).power_w)
    power = np.zeros_like(average)
    np.divide(average, inside, out=power, where=inside > 0)
    assert np.all(average[inside == 0] == 0.0)
    return power


def _check_limits(plan: Plan, problem: PlanningProblem, device: ChargingSessionDevice) -> None:
    power = _charging_power_w(plan, problem, device)
    slot_h = problem.slot_duration.total_seconds() / 3600.0
    delivered = np.cumsum(np.array(plan.device(device.device_id).power_w) * slot_h)
    for k, p in enumerate(power):
        if p <= 0.01:
            continue
        # Solver tolerances are about 1e-6 kW: allow 0.01 W.
        assert p >= device.min_power_w - 0.01
        assert p <= device.max_power_w + 0.01
        # Conservative taper: the limit at the energy delivered by the END of the slot.
        assert p <= device.limit_at(float(delivered[k])) + 1e-3


def test_energy_delivered_in_the_cheapest_hours() -> None:
    charger = ev(at(0), at(10), 22_000.0)
    plan = solve(problem([charger], prices([0.4, 0.4, 0.1, 0.1, 0.4, 0.4, 0.05, 0.4, 0.4, 0.4])))
    result = plan.device("ev")
    assert result.energy_wh == pytest.approx(22_000.0, abs=1e-3)
    assert result.start == at(2)
    hourly = np.array(result.power_w).reshape(10, 4).mean(axis=1)
    assert hourly[6] == pytest.approx(11_000.0)
    assert hourly[2] + hourly[3] == pytest.approx(11_000.0)
    assert plan.violations == ()


def test_taper_is_respected_conservatively() -> None:
    charger = ev(at(0), at(8), 28_000.0, curve=TAPER, min_power_w=1_400.0)
    p = problem([charger], prices([0.2] * 8))
    plan = solve(p)
    assert plan.device("ev").energy_wh == pytest.approx(28_000.0, abs=1e-3)
    _check_limits(plan, p, charger)
    # A charger drawing min(plan, curve(E)) delivers the plan: simulate it minute by minute.
    power = _charging_power_w(plan, p, charger)
    delivered = 0.0
    for slot_power in power:
        for _ in range(15):
            delivered += min(slot_power, charger.limit_at(delivered)) / 60.0
    assert delivered == pytest.approx(28_000.0, abs=1.0)


def test_minimum_power_is_zero_or_at_least_the_minimum() -> None:
    charger = ev(at(0), at(6), 5_000.0, max_power_w=7_400.0, min_power_w=4_000.0)
    p = problem([charger], prices([0.3, 0.1, 0.3, 0.3, 0.3, 0.3]))
    plan = solve(p)
    power = _charging_power_w(plan, p, charger)
    assert np.all((power == 0.0) | (power >= 4_000.0 - 1e-6))
    assert plan.device("ev").energy_wh == pytest.approx(5_000.0, abs=1e-3)


def test_shortfall_is_a_named_violation() -> None:
    charger = ev(at(0), at(2), 30_000.0, max_power_w=7_400.0)
    plan = solve(problem([charger], prices([0.3, 0.3])))
    shortfall = plan.violations_of(ViolationKind.ENERGY_SHORTFALL)
    assert len(shortfall) == 1
    assert shortfall[0].device_id == "ev"
    assert shortfall[0].unit == "Wh"
    assert shortfall[0].amount == pytest.approx(30_000.0 - 2 * 7_400.0, abs=0.01)
    assert plan.device("ev").energy_wh == pytest.approx(14_800.0, abs=0.01)


def test_session_already_over_delivers_nothing() -> None:
    charger = ev(at(-5), at(-1), 10_000.0)
    washer = flexible("washer", at(0), at(1), at(3), WASHER_ECO)
    plan = solve(problem([charger, washer], prices([0.3] * 3)))
    assert plan.device("ev").energy_wh == 0.0
    assert plan.device("ev").start is None
    assert plan.violations_of(ViolationKind.ENERGY_SHORTFALL)[0].amount == pytest.approx(10_000.0)


def test_partial_first_and_last_slots_scale_the_energy() -> None:
    # Window 12:10–12:50 on a 15-minute grid: 5 + 15 + 15 + 5 minutes inside.
    charger = ev(at(0, 10), at(0, 50), 4_000.0, max_power_w=6_000.0)
    p = problem([charger], prices([0.3]), end=at(1))
    plan = solve(p)
    result = plan.device("ev")
    assert result.energy_wh == pytest.approx(4_000.0, abs=1e-3)
    assert result.start is not None
    assert result.start >= at(0, 10)
    assert result.end is not None
    assert result.end <= at(0, 50)
    power = _charging_power_w(plan, p, charger)
    assert np.all(power <= 6_000.0 + 1e-6)


def test_site_limit_shapes_the_charging_around_a_washer() -> None:
    charger = ev(at(0), at(4), 20_000.0, max_power_w=11_000.0)
    washer = flexible("washer", at(0), at(0), at(2), WASHER_ECO)
    plan = solve(problem([charger, washer], prices([0.2] * 4), import_limit_w=11_500.0))
    assert plan.violations == ()
    assert max(plan.site_power_w) <= 11_500.0 + 1e-6
    assert plan.device("ev").energy_wh == pytest.approx(20_000.0, abs=1e-3)


def test_from_offer() -> None:
    offer = ChargingSessionOffer(
        offer_id="s1",
        device_id="car",
        earliest_start=at(0),
        latest_start=at(1),
        latest_end=at(6),
        energy_wh=20_000.0,
        max_power_w=11_000.0,
        min_power_w=1_400.0,
        incentive=IncentiveProgram.GREENEST,
    )
    device = ChargingSessionDevice.from_offer(offer)
    assert device.device_id == "car"
    assert device.min_power_w == 1_400.0
    assert device.incentive is IncentiveProgram.GREENEST
    assert device.limit_at(5_000.0) == 11_000.0


@st.composite
def sessions(draw: st.DrawFn) -> PlanningProblem:
    arrive = draw(st.integers(-60, 240))
    stay = draw(st.integers(30, 600))
    maximum = float(draw(st.sampled_from([3_700, 7_400, 11_000, 22_000])))
    minimum = float(draw(st.sampled_from([0.0, 1_400.0, 3_700.0])))
    energy = float(draw(st.integers(1_000, 60_000)))
    knee = float(draw(st.integers(1_000, 50_000)))
    curve = draw(st.sampled_from([(), ((0.0, maximum), (knee, maximum), (knee + 15_000.0, maximum / 4))]))
    charger = ev(at(0, arrive), at(0, arrive + stay), energy, max_power_w=maximum, min_power_w=minimum, curve=curve)
    slot = timedelta(minutes=draw(st.sampled_from([10, 15, 30, 60])))
    hours = 16
    values = draw(st.lists(st.integers(0, 60), min_size=hours, max_size=hours))
    limit = draw(st.none() | st.integers(2_000, 25_000).map(float))
    washer = flexible("washer", at(0), at(draw(st.integers(0, 6))), at(9), WASHER_ECO)
    return problem(
        [charger, washer],
        prices([v / 100 for v in values], start=T0 - timedelta(hours=1)),
        import_limit_w=limit,
        slot_duration=slot,
    )


@settings(
    max_examples=int(os.environ.get("FLEXCEM_PLANNER_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(sessions())
def test_charging_invariants(p: PlanningProblem) -> None:
    plan = solve(p)
    charger = p.devices[0]
    assert isinstance(charger, ChargingSessionDevice)
    _check_limits(plan, p, charger)
    result = plan.device("ev")
    shortfall = sum(v.amount for v in plan.violations_of(ViolationKind.ENERGY_SHORTFALL))
    assert result.energy_wh + shortfall == pytest.approx(charger.energy_wh, abs=0.05)
    # Power only inside the window.
    grid = p.grid()
    for k, value in enumerate(result.power_w):
        slot_start = grid.slot_start(k)
        if value > 0:
            assert slot_start + p.slot_duration > charger.earliest_start
            assert slot_start < charger.latest_end
    # Reachable energy is delivered when the site limit allows it: never short while the charger idles in
    # a slot where both it and the site had room (semi-continuous minima aside).
    if shortfall > 0.05 and charger.min_power_w == 0.0 and not charger.power_curve:
        power = _charging_power_w(plan, p, charger)
        limit = p.site.import_limit_w
        site = np.array(plan.site_power_w)
        begin = max(grid.offset_us(charger.earliest_start), 0)
        end = min(grid.offset_us(charger.latest_end), grid.end_us)
        for k in range(grid.count):
            inside = (min((k + 1) * grid.slot_us, end) - max(k * grid.slot_us, begin)) / grid.slot_us
            if inside <= 0:
                continue
            room = np.inf if limit is None else (limit - site[k]) / inside
            assert min(room, charger.max_power_w - power[k]) <= 0.01
