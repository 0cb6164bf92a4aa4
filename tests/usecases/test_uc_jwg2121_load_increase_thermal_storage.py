"""JWG2121 — a load increase carried out by thermal storage: the heat pump's hot-water tank and an electric water
heater the user allows for load management raise their consumption in the window, as much as their tanks can
take (uc-market §2: "increase ... the load"; the answer's expected change comes from the devices, never the
request; the feedback reports the metered achievement).

The home on a hot August day: base load, a heat pump whose 200 L tank is at 50 °C (it heats to 55 °C at most),
a 370 L water heater at 88 °C (set point 90 °C; for the full-tank case at 70 °C with its set point at 60 °C), and
a battery at half charge the user did not allow (allowed, it would go first): the tanks alone take the increase.
A smart meter meters what the devices draw; the DSO asks at 11:00 for 1 kW more from 13:00 to 14:00.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from flexcem.cem.grid_settings import FlexPermission
from flexcem.devices.heat_pump import DEFAULT_HEAT_PUMP, DEFAULT_HEAT_PUMP_TANK, HeatPumpModel
from flexcem.devices.hot_water import HotWaterTank
from flexcem.devices.water_heater import DEFAULT_WATER_HEATER_TANK, WaterHeaterModel
from flexcem.grid.load_management import FEEDBACK, RESPONSE
from flexcem.model import AdjustmentAction, Circuit, LoadAdjustmentFeedback, LoadManagementResponse, ResponseStatus
from flexcem.physics import carnot_cop
from grid_side import dso, grid_settings, smart_meter
from home_harness import Home, local, run_home, settle
from whole_home import BatteryAgent, DataForecasts, HeatPumpAgent, WaterHeaterAgent, agent, base_load

START = local(2021, 8, 10, 10)
ASKED_AT = local(2021, 8, 10, 11)
WINDOW = (local(2021, 8, 10, 13), local(2021, 8, 10, 14))
MINUTE = timedelta(minutes=1)
STALE_K = 0.1
"""The CEM knows a tank from its last report (at most 15 minutes old): within this of the tank now [K]."""
BOILER_WH_PER_K = DEFAULT_WATER_HEATER_TANK.heat_capacity_kwh_per_k * 1000.0
PUMP_WH_PER_K = DEFAULT_HEAT_PUMP_TANK.heat_capacity_kwh_per_k * 1000.0
HOURS4 = timedelta(hours=4)
SLOT_H = 0.25


def heat_pump(endpoint, cem, data):  # type: ignore[no-untyped-def]
    return HeatPumpAgent(
        endpoint, cem, data, HeatPumpModel(DEFAULT_HEAT_PUMP, HotWaterTank(DEFAULT_HEAT_PUMP_TANK, 50.0))
    )


def water_heater(tank_c: float, set_point_c: float = 90.0):  # type: ignore[no-untyped-def]
    def make(endpoint, cem, data):  # type: ignore[no-untyped-def]
        model = WaterHeaterModel(HotWaterTank(DEFAULT_WATER_HEATER_TANK, tank_c), set_point_c=set_point_c)
        return WaterHeaterAgent(endpoint, cem, data, model)

    return make


def tank_room_wh(capacity_kwh_per_k: float, top_c: float, now_c: float) -> float:
    """Heat a tank can still take [Wh thermal]."""
    return max(0.0, capacity_kwh_per_k * 1000.0 * (top_c - now_c))


def heat_pump_cop() -> float:
    """The heat pump's hot-water COP at the window's forecast outdoor temperature (the data's)."""
    outdoor = DataForecasts().outdoor_temperature(*WINDOW)
    span = sum(s.duration.total_seconds() for s in outdoor)
    outdoor_c = sum(s.temperature_c * s.duration.total_seconds() for s in outdoor) / span
    p = DEFAULT_HEAT_PUMP
    return float(carnot_cop(outdoor_c, p.supply_hot_water_c, p.carnot_efficiency, p.cop_max))


def run_increase(water_heater_c: float, amount_w: float, set_point_c: float = 90.0) -> dict[str, object]:
    async def scenario(home: Home) -> dict[str, object]:
        load = await base_load(home)
        pump = await agent(home, heat_pump, "heatpump")
        heater = await agent(home, water_heater(water_heater_c, set_point_c), "waterheater")
        other = await agent(home, BatteryAgent, "battery")
        day = (START, START + timedelta(days=1))
        await smart_meter(home, [pump.power, heater.power, other.power, load.meter(*day)])
        grid = await dso(home)
        await settle(home)
        await home.clock.sleep_until(ASKED_AT)
        await home.cem.settled()
        battery_before = other.schedules.get(Circuit.MAIN)
        tanks_c = {"heatpump": pump.model.tank.temperature_c, "waterheater": heater.model.tank.temperature_c}
        record = await grid.load.request(
            "home/cem",
            action=AdjustmentAction.INCREASE,
            amount_w=amount_w,
            start=WINDOW[0],
            end=WINDOW[1],
            response_deadline=ASKED_AT + 30 * MINUTE,
            event_id="heat-up",
        )
        await settle(home)
        event = home.cem.load_management.events["heat-up"]
        baselines = {d: list(event.device_baselines.get(d, ())) for d in ("heatpump", "waterheater")}
        await home.clock.sleep_until(WINDOW[0] + 5 * MINUTE)
        schedules = {
            "heatpump": pump.schedules.get(Circuit.HOT_WATER),
            "waterheater": heater.schedules.get(Circuit.MAIN),
            "battery": other.schedules.get(Circuit.MAIN),
        }
        await home.clock.sleep_until(WINDOW[1] + 5 * MINUTE)
        await settle(home)
        held = home.cem.home.dispatcher.held_until
        out = {
            "response": [r.body for r in record.answers(RESPONSE)],
            "feedback": [r.body for r in record.answers(FEEDBACK)],
            "setpoints": dict(event.setpoints),
            "baselines": baselines,
            "schedule_ids": {d: s.schedule_id if s else None for d, s in schedules.items()},
            "tanks_c": tanks_c,
            "battery_before": battery_before.schedule_id if battery_before else None,
            "held_after": sorted(d for d in ("heatpump", "waterheater") if d in held),
        }
        for device in (pump, heater, other):
            await device.power_off()
        return out

    allow = [FlexPermission(device_id=d, max_duration=HOURS4) for d in ("heatpump", "waterheater")]
    return run_home(scenario, start=START, settings=grid_settings(allow=allow), forecasts=DataForecasts())


def extra_wh(out: dict[str, object], device_id: str) -> float:
    """Energy the CEM's set points add to the device's planned energy in the window [Wh]."""
    setpoints = out["setpoints"][device_id]  # type: ignore[index]
    base = out["baselines"][device_id]  # type: ignore[index]
    return sum(s - b for s, b in zip(setpoints[:4], base, strict=True)) * SLOT_H


def planned_wh(out: dict[str, object], device_id: str) -> float:
    return sum(out["baselines"][device_id]) * SLOT_H  # type: ignore[index]


def test_a_load_increase_is_met_by_the_water_heater_and_the_heat_pump_up_to_their_tanks_headroom() -> None:
    out = run_increase(88.0, 1000.0)
    (response,) = out["response"]  # type: ignore[misc]
    (feedback,) = out["feedback"]  # type: ignore[misc]
    assert isinstance(response, LoadManagementResponse) and isinstance(feedback, LoadAdjustmentFeedback)
    assert response.status is ResponseStatus.ACCEPT, response.reason
    assert set(response.devices) == {"heatpump", "waterheater"}
    # the water heater first: its tank's 2 K to the set point, heated 1:1 (less what its plan heated already)
    tanks_c = out["tanks_c"]
    boiler_room = tank_room_wh(DEFAULT_WATER_HEATER_TANK.heat_capacity_kwh_per_k, 90.0, tanks_c["waterheater"])  # type: ignore[index]
    assert extra_wh(out, "waterheater") == pytest.approx(
        boiler_room - planned_wh(out, "waterheater"), abs=STALE_K * BOILER_WH_PER_K
    )
    # the heat pump the rest, within its tank's 5 K to 55 °C at its COP
    pump_c = tanks_c["heatpump"]  # type: ignore[index]
    pump_electric = tank_room_wh(DEFAULT_HEAT_PUMP_TANK.heat_capacity_kwh_per_k, 55.0, pump_c) / heat_pump_cop()
    assert extra_wh(out, "heatpump") == pytest.approx(1000.0 - extra_wh(out, "waterheater"), abs=1.0)
    assert extra_wh(out, "heatpump") <= pump_electric - planned_wh(out, "heatpump") + STALE_K * PUMP_WH_PER_K
    assert response.expected_change_w == pytest.approx(
        extra_wh(out, "waterheater") + extra_wh(out, "heatpump"), abs=1.0
    )
    ids = out["schedule_ids"]
    assert ids["heatpump"] == ids["waterheater"] == "heat-up-r0", "both got the CEM's set points in the window"  # type: ignore[index]
    assert ids["battery"] == out["battery_before"], "the battery the user did not allow keeps its schedule"  # type: ignore[index]
    assert "battery" not in out["setpoints"]  # type: ignore[operator]
    assert feedback.achieved_change_w == pytest.approx(response.expected_change_w, rel=0.1), "metered"
    assert out["held_after"] == [], "after the window the heaters are the plans' again"


def test_a_full_tank_takes_nothing_and_the_answer_is_not_sufficient_with_what_the_heat_pump_can_take() -> None:
    out = run_increase(70.0, 1000.0, set_point_c=60.0)  # hotter than its set point: full for its element
    (response,) = out["response"]  # type: ignore[misc]
    (feedback,) = out["feedback"]  # type: ignore[misc]
    assert isinstance(response, LoadManagementResponse) and isinstance(feedback, LoadAdjustmentFeedback)
    assert response.status is ResponseStatus.NOT_SUFFICIENT
    assert response.reason and "the batteries and tanks can charge" in response.reason
    assert extra_wh(out, "waterheater") == pytest.approx(0.0, abs=1.0), "a full tank's part is 0"
    pump_c = out["tanks_c"]["heatpump"]  # type: ignore[index]
    pump_electric = tank_room_wh(DEFAULT_HEAT_PUMP_TANK.heat_capacity_kwh_per_k, 55.0, pump_c) / heat_pump_cop()
    expected = pump_electric - planned_wh(out, "heatpump")  # [Wh] over the 1 h window = [W]
    assert 50.0 < expected < 1000.0
    assert response.expected_change_w == pytest.approx(expected, abs=STALE_K * PUMP_WH_PER_K / heat_pump_cop())
    assert response.devices == ("heatpump",)
    assert feedback.achieved_change_w == pytest.approx(expected, rel=0.15), "metered"
    assert feedback.reason and "all the allowed devices could do" in feedback.reason
