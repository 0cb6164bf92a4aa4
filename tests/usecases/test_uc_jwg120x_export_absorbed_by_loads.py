"""JWG120x — local power managing: an export-reduction request absorbed with loads (TR A.3.10; uc-home §9).

"Energy supplier monitors exported power and requests the EMS to reduce the exported power level; EMS consumes
part of local generation locally" — 1203: "requests HP controller to increase operating power or turn on";
1204: "additionally turning on one or more loads if the HP storage tank is already at capacity". Acceptance:
export ≤ target; generation is not curtailed; a full tank → other loads instead; the CEM answers the supplier.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import numpy as np

from flexcem.cem import CemSettings
from flexcem.devices.heat_pump import DEFAULT_HEAT_PUMP, HeatPumpModel
from flexcem.devices.hot_water import HotWaterTank
from flexcem.model import (
    PowerFlow,
    PowerReductionRequest,
    PowerReductionResponse,
    PowerSetpointSchedule,
    ReductionMeans,
)
from flexcem.model.home_parameters import PvParameters, TankParameters
from flexcem.planner import Plan
from home_harness import DOMAIN, Home, local, run_home, settle
from whole_home import BatteryAgent, DataForecasts, HeatPumpAgent, PvAgent, agent, base_load

START = local(2021, 7, 6, 10)  # Tuesday morning: a sunny July day
WINDOW = (local(2021, 7, 6, 12), local(2021, 7, 6, 14))
LIMIT_W = 800.0
PV_4KW = PvParameters(nominal_power_w=4_000.0, tilt_deg=25.0, azimuth_deg=180.0, inverter_ac_max_w=3_800.0)
TANK = TankParameters(volume_l=300.0, loss_w_per_k=2.0, min_c=40.0, max_c=55.0)
"""A 300 L cylinder: 4.9 kWh of heat between 41 °C and its 55 °C maximum."""
SETTINGS = CemSettings(tariff_sources=(f"{DOMAIN}/retailer",))


@dataclass
class Outcome:
    plan: Plan
    answer: PowerReductionResponse | None
    pv_limits: int
    window: slice
    measured_export_w: list[float]


def run(*, ask: bool, tank_c: float = 41.0, battery: bool = False, limit_w: float = LIMIT_W) -> Outcome:
    async def scenario(home: Home) -> Outcome:
        meter = await base_load(home)
        pv = await agent(home, lambda e, c, d: PvAgent(e, c, d, PV_4KW), "pv")
        model = HeatPumpModel(DEFAULT_HEAT_PUMP, HotWaterTank(TANK, tank_c))
        heat_pump = await agent(home, lambda e, c, d: HeatPumpAgent(e, c, d, model), "heatpump")
        logs = [pv.power, heat_pump.power]
        if battery:
            logs.append((await agent(home, BatteryAgent, "battery")).power)
        await settle(home)
        answer = None
        if ask:
            request = PowerReductionRequest(
                request_id="export-1",
                flow=PowerFlow.EXPORT,
                limit_w=limit_w,
                start=WINDOW[0],
                end=WINDOW[1],
                means=ReductionMeans.ABSORB,
            )
            answer = await home.retailer.endpoint.deliver(
                home.cem_address, request, expect=PowerReductionResponse, timeout_s=30.0
            )
            await settle(home)
        plan = home.cem.plan
        assert plan is not None
        first = int((WINDOW[0] - plan.start) / plan.slot_duration)
        window = slice(first, first + int((WINDOW[1] - WINDOW[0]) / plan.slot_duration))
        limits = sum(1 for e in home.messages(PowerSetpointSchedule) if e.body.device_id == "pv")
        await home.clock.sleep_until(WINDOW[1])
        quarter = timedelta(minutes=15)
        count = int((WINDOW[1] - WINDOW[0]) / quarter)
        meters = [*logs, meter.meter(WINDOW[0], WINDOW[1])]
        site = [sum(w) for w in zip(*(m.average_power_w(WINDOW[0], quarter, count) for m in meters), strict=True)]
        return Outcome(plan, answer, limits, window, [max(-w, 0.0) for w in site])

    return run_home(scenario, start=START, settings=SETTINGS, forecasts=DataForecasts())


def exports_w(plan: Plan, window: slice) -> np.ndarray:
    return np.maximum(-np.array(plan.site_power_w[window]), 0.0)


def test_the_heat_pump_raises_its_power_to_absorb_the_export_and_pv_is_not_curtailed() -> None:
    before = run(ask=False)
    exported = exports_w(before.plan, before.window).max()
    assert exported > 1000.0, "the roof must export in the window to begin with"
    limit = exported - 300.0  # what the tank can take: 300 W less at the top of the afternoon
    after = run(ask=True, limit_w=limit)
    assert after.answer is not None and after.answer.accepted, after.answer
    assert after.answer.expected_max_w <= limit + 1.0
    assert exports_w(after.plan, after.window).max() <= limit + 1.0
    assert max(after.measured_export_w) <= limit + 50.0  # the devices' meters: the plan is carried out
    assert max(before.measured_export_w) > limit + 50.0
    hot_water = after.plan.device("heatpump").hot_water_power_w
    hot_water_before = before.plan.device("heatpump").hot_water_power_w
    assert hot_water is not None and hot_water_before is not None
    assert sum(hot_water[after.window]) > sum(hot_water_before[before.window]) + 100.0  # the pump raises its power
    assert not after.plan.device("pv").curtailed_energy_wh  # generation is not curtailed in JWG120x
    assert after.pv_limits == 0, "no PV limit may be sent for an 'absorb' request"


def test_with_the_tank_at_capacity_other_loads_absorb_the_export() -> None:
    after = run(ask=True, tank_c=TANK.max_c, battery=True)
    assert after.answer is not None and after.answer.accepted, after.answer
    battery = after.plan.device("battery")
    assert battery.charge_power_w is not None and sum(battery.charge_power_w[after.window]) > 1000.0
    assert not after.plan.device("pv").curtailed_energy_wh


def test_a_request_the_loads_cannot_meet_is_answered_not_sufficient_with_the_expected_export() -> None:
    after = run(ask=True, tank_c=TANK.max_c)  # a full tank and no battery: nothing to absorb with
    assert after.answer is not None and not after.answer.accepted
    assert after.answer.expected_max_w > LIMIT_W + 1.0
    assert after.answer.reason and "above the limit" in after.answer.reason
    assert after.answer.expected_max_w == exports_w(after.plan, after.window).max().round(3)
