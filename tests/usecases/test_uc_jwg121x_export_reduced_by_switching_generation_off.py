"""JWG121x — local power managing: an export-reduction request met by switching generation off (TR A.3.11).

"Same supplier-request pattern, but the EMS turns generation off": 1211 the fuel cell, 1212 the PV system, 1213
both. Acceptance: the CEM tells the generators to switch off for the window and they answer successful or not;
after a successful off the exported power drops; a refusal is surfaced, not ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flexcem.cem import CemSettings, HomeSettings
from flexcem.devices import FuelCellAgent
from flexcem.devices.fuel_cell import DEFAULT_FUEL_CELL, DEFAULT_FUEL_CELL_TANK, FuelCellModel
from flexcem.devices.hot_water import HotWaterTank
from flexcem.model import (
    PowerFlow,
    PowerReductionRequest,
    PowerReductionResponse,
    PowerSetpointSchedule,
    ReductionMeans,
    SettingResult,
)
from flexcem.model.home_parameters import PvParameters
from home_harness import DOMAIN, Home, local, run_home, settle
from whole_home import DataForecasts, PvAgent, agent, base_load

START = local(2021, 7, 6, 10)
WINDOW = (local(2021, 7, 6, 12), local(2021, 7, 6, 14))
PV_4KW = PvParameters(nominal_power_w=4_000.0, tilt_deg=25.0, azimuth_deg=180.0, inverter_ac_max_w=3_800.0)
SETTINGS = CemSettings(tariff_sources=(f"{DOMAIN}/retailer",))


@dataclass
class Outcome:
    answer: PowerReductionResponse
    generated_w: list[float]
    exported_w: list[float]
    schedules: list[PowerSetpointSchedule]
    results: list[SettingResult]


def run(*, fuel_cell: bool, pv: bool = True, settings: CemSettings = SETTINGS) -> Outcome:
    async def scenario(home: Home) -> Outcome:
        meter = await base_load(home)
        logs = []
        generators = []
        if pv:
            roof = await agent(home, lambda e, c, d: PvAgent(e, c, d, PV_4KW), "pv")
            logs.append(roof.power)
            generators.append(roof.power)
        if fuel_cell:
            model = FuelCellModel(DEFAULT_FUEL_CELL, HotWaterTank(DEFAULT_FUEL_CELL_TANK, 50.0))
            unit = await agent(home, lambda e, c, d: FuelCellAgent(e, c, d, model), "fuelcell")
            logs.append(unit.power)
            generators.append(unit.power)
        await settle(home)
        request = PowerReductionRequest(
            request_id="export-2",
            flow=PowerFlow.EXPORT,
            limit_w=0.0,
            start=WINDOW[0],
            end=WINDOW[1],
            means=ReductionMeans.CURTAIL,
        )
        answer = await home.retailer.endpoint.deliver(
            home.cem_address, request, expect=PowerReductionResponse, timeout_s=30.0
        )
        await home.clock.sleep_until(WINDOW[1])
        await settle(home)
        quarter = timedelta(minutes=15)
        count = int((WINDOW[1] - WINDOW[0]) / quarter)
        generated = [
            -sum(values)
            for values in zip(*(g.average_power_w(WINDOW[0], quarter, count) for g in generators), strict=True)
        ]
        meters = [*logs, meter.meter(WINDOW[0], WINDOW[1])]
        site = [sum(v) for v in zip(*(m.average_power_w(WINDOW[0], quarter, count) for m in meters), strict=True)]
        return Outcome(
            answer,
            generated,
            [max(-w, 0.0) for w in site],
            [e.body for e in home.messages(PowerSetpointSchedule)],
            [e.body for e in home.messages(SettingResult)],
        )

    return run_home(scenario, start=START, settings=settings, forecasts=DataForecasts())


def off_within_a_step(generated_w: list[float], rated_w: float) -> bool:
    """Whether the generators produced no more in the window than one device step (1 min) at ``rated_w``: a
    device takes up a schedule change at its next step."""
    return sum(generated_w) / 4.0 <= rated_w / 60.0 + 1.0


def test_jwg1212_the_pv_system_is_switched_off_for_the_window_and_the_export_drops() -> None:
    outcome = run(fuel_cell=False)
    assert outcome.answer.accepted and outcome.answer.expected_max_w <= 1.0, outcome.answer
    pv_schedules = [s for s in outcome.schedules if s.device_id == "pv"]
    assert pv_schedules, "the PV system was not told to switch off"
    assert all(r.success for r in outcome.results if r.device_id == "pv")
    assert off_within_a_step(outcome.generated_w, PV_4KW.nominal_power_w)  # measured: nothing in the window
    assert off_within_a_step(outcome.exported_w, PV_4KW.nominal_power_w)


def test_jwg1211_a_running_fuel_cell_is_switched_off_for_the_window() -> None:
    cheap_gas = SETTINGS.model_copy(update={"home": HomeSettings(gas_price_per_m3=0.1)})  # it runs all day
    outcome = run(fuel_cell=True, pv=False, settings=cheap_gas)
    fc_schedules = [s for s in outcome.schedules if s.device_id == "fuelcell"]
    assert fc_schedules, "the fuel cell was not told to switch off"
    assert any(slot.power_w < -100.0 for s in fc_schedules for slot in s.schedule.slots)  # it runs outside
    results = [r for r in outcome.results if r.device_id == "fuelcell"]
    assert results and all(r.success for r in results), results
    assert outcome.answer.accepted, outcome.answer
    assert off_within_a_step(outcome.generated_w, DEFAULT_FUEL_CELL.power_max_w)  # measured: off in the window


def test_jwg1213_both_generators_are_switched_off() -> None:
    cheap_gas = SETTINGS.model_copy(update={"home": HomeSettings(gas_price_per_m3=0.1)})
    outcome = run(fuel_cell=True, pv=True, settings=cheap_gas)
    assert {s.device_id for s in outcome.schedules} >= {"pv", "fuelcell"}
    assert outcome.answer.accepted, outcome.answer
    rated = PV_4KW.nominal_power_w + DEFAULT_FUEL_CELL.power_max_w
    assert off_within_a_step(outcome.generated_w, rated) and off_within_a_step(outcome.exported_w, rated)
