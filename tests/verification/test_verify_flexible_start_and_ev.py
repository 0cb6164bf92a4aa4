"""Verification: appliance starts and an EV charging session executed on their physics keep deadlines, limits and cost.

A washing machine (Cotton 40 °C, standard or low-power variant) loaded at 12:00 to be done by 20:00, a
dishwasher (Eco 50 °C, two variants) loaded at 20:00 to be done by 07:00, and an EV (58 kWh, 30 % → 80 %,
11 kW wallbox with a 4.14 kW minimum, taper above 80 %) plugged in at 18:00 and leaving at 07:00 — the offers
the device agents make (:mod:`flexcem.devices.programmes`, :class:`~flexcem.devices.EvBattery`) — with a
non-curtailable 5 kWp PV roof, Building 1's base load and a 7.5 kW import limit, 24 h from noon on Wednesday
14 July 2021. Executed minute by minute: each appliance runs its chosen programme phase by phase from its
planned start; the car draws min(planned slot power, what its battery accepts), nothing below the charger's
minimum (the rules of :class:`~flexcem.devices.ElectricVehicle`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import pytest
from verification_harness import (
    HOUR,
    SUBSTEPS,
    Execution,
    assert_cost,
    assert_site_limits,
    at,
    execute,
    home_data,
    plan_for,
    problem,
)

from flexcem.devices import DEFAULT_PV, DISHWASHER_PROGRAMMES, WASHER_PROGRAMMES, EvBattery, PvGenerator
from flexcem.devices import pv_forecast_series as forecast_series
from flexcem.model import PowerSequence
from flexcem.planner import ChargingSessionDevice, FlexibleStartDevice, Plan
from flexcem.planner.devices.pv import PvDevice

START = at(43, 12)  # Wednesday 14 July 2021, 12:00
HOURS = 24
IMPORT_LIMIT_W = 7_500.0
CHARGER_MAX_W, CHARGER_MIN_W = 11_000.0, 4_140.0
EV_SOC, EV_TARGET = 0.3, 0.8
ARRIVAL, DEPARTURE = at(43, 18), at(44, 7)
FIXED_PV = DEFAULT_PV.model_copy(update={"curtailable": False})
MINUTE_XFAIL = (
    "the planner keeps site limits on quarter-hour averages (planner/site.py, flexible_start.py: a candidate's power "
    "is its slot average), but a programme's phases are shorter than a slot: the dishwasher's 10-minute 2 kW rinse "
    "heating shares a slot with the car charging at the planned average, so the site draws ~9.05 kW for 10 minutes "
    "under a 7.5 kW limit while the slot's average is exactly 7.5 kW"
)
JOBS = {
    "washer": (WASHER_PROGRAMMES["cotton_40"], at(43, 12), at(43, 20)),
    "dishwasher": (DISHWASHER_PROGRAMMES["eco_50"], at(43, 20), at(44, 7)),
}


def _car() -> EvBattery:
    return EvBattery(capacity_wh=58_000.0, soc=EV_SOC)


def _plan() -> Plan:
    devices: list[object] = []
    for name, (programme, earliest, latest_end) in JOBS.items():
        devices.append(
            FlexibleStartDevice(
                device_id=name,
                earliest_start=earliest,
                latest_start=latest_end - programme.variants[0].duration,
                latest_end=latest_end,
                alternatives=programme.variants,
            )
        )
    car = _car()
    devices.append(
        ChargingSessionDevice(
            device_id="ev",
            earliest_start=ARRIVAL,
            latest_end=DEPARTURE,
            energy_wh=car.ac_energy_to(EV_TARGET),
            max_power_w=CHARGER_MAX_W,
            min_power_w=CHARGER_MIN_W,
            power_curve=car.power_curve(CHARGER_MAX_W, CHARGER_MIN_W),
        )
    )
    forecast = forecast_series(FIXED_PV, home_data(), START, START + HOURS * HOUR)
    devices.append(PvDevice.from_power_slots("pv", forecast.slots, curtailable=False))
    return plan_for(problem(START, HOURS, devices, import_limit_w=IMPORT_LIMIT_W))


@dataclass
class Run:
    """Power per device and minute [W], the car's energy drawn [Wh] by departure, its battery, the meter."""

    power_w: dict[str, list[float]] = field(default_factory=lambda: {"washer": [], "dishwasher": [], "ev": []})
    delivered_wh: float = 0.0
    delivered_by_departure_wh: float = 0.0
    car: EvBattery = field(default_factory=_car)
    execution: Execution | None = None


def _sequence(plan: Plan, name: str) -> tuple[PowerSequence, datetime]:
    device = plan.device(name)
    programme = JOBS[name][0]
    chosen = next(v for v in programme.variants if v.sequence_id == device.sequence_id)
    assert device.start is not None
    return chosen, device.start


def _run(plan: Plan) -> Run:
    run = Run()
    pv = PvGenerator(FIXED_PV, home_data())
    programmes = {name: _sequence(plan, name) for name in JOBS}
    ev_plan = plan.device("ev").power_w
    need = _car().ac_energy_to(EV_TARGET)

    def step(k: int, instant: datetime, dt_h: float) -> float:
        total = 0.0
        for name, (sequence, start) in programmes.items():
            power = sequence.power_at(instant - start)
            run.power_w[name].append(power)
            total += power
        accepts = run.car.accepts_w(CHARGER_MAX_W, CHARGER_MIN_W)
        power = min(max(ev_plan[k], 0.0), accepts) if ARRIVAL <= instant < DEPARTURE else 0.0
        if power < CHARGER_MIN_W - 1.0:
            power = 0.0
        power = min(power, max(0.0, need - run.delivered_wh) / dt_h)
        run.car.charge(power * dt_h)
        run.delivered_wh += power * dt_h
        if instant + timedelta(hours=dt_h) <= DEPARTURE:
            run.delivered_by_departure_wh = run.delivered_wh
        run.power_w["ev"].append(power)
        return total + power - pv.advance(instant, dt_h)[0]

    run.execution = execute(plan, step)
    return run


@pytest.fixture(scope="module")
def planned() -> Plan:
    return _plan()


@pytest.fixture(scope="module")
def executed(planned: Plan) -> Run:
    return _run(planned)


def test_the_plan_is_clean(planned: Plan) -> None:
    assert not planned.violations, [v.message for v in planned.violations]


def test_every_job_runs_inside_its_window_and_as_planned(planned: Plan, executed: Run) -> None:
    for name, (_, earliest, latest_end) in JOBS.items():
        sequence, start = _sequence(planned, name)
        assert earliest <= start and start + sequence.duration <= latest_end
        energy = sum(executed.power_w[name]) / 60.0
        assert energy == pytest.approx(sequence.energy_wh, abs=1e-6)
        per_slot = np.asarray(executed.power_w[name]).reshape(-1, SUBSTEPS).mean(axis=1)
        assert np.allclose(per_slot, planned.device(name).power_w, atol=1e-6)


def test_the_car_gets_its_energy_by_departure_with_the_planned_power(planned: Plan, executed: Run) -> None:
    session = planned.device("ev")
    assert executed.delivered_by_departure_wh == pytest.approx(_car().ac_energy_to(EV_TARGET), abs=1e-3)
    assert executed.car.soc == pytest.approx(EV_TARGET, abs=1e-6)
    per_slot = np.asarray(executed.power_w["ev"]).reshape(-1, SUBSTEPS).mean(axis=1)
    assert np.allclose(per_slot, session.power_w, atol=1e-6)  # the taper never cuts the plan
    charging = per_slot[per_slot > 0.0]
    assert charging.min() >= CHARGER_MIN_W - 1e-6


def test_executed_site_keeps_the_import_limit_in_every_quarter_hour(executed: Run) -> None:
    assert executed.execution is not None
    assert_site_limits(executed.execution, IMPORT_LIMIT_W, None, per_minute=False)


@pytest.mark.xfail(reason=MINUTE_XFAIL, strict=True)
def test_executed_site_keeps_the_import_limit_every_minute(executed: Run) -> None:
    assert executed.execution is not None
    assert_site_limits(executed.execution, IMPORT_LIMIT_W, None)


def test_metered_cost_equals_the_plans_cost(planned: Plan, executed: Run) -> None:
    assert executed.execution is not None
    assert_cost(planned, executed.execution)
    # Per-minute metering differs only where a phase ends inside a slot while the site exports part of it.
    assert executed.execution.instantaneous_cost() >= planned.total_cost - 1e-9
