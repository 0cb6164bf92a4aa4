"""JWG2121 — load management beyond reductions: a load increase and a storage request carried out by the
battery the user allows, and ramps (uc-market §2: "increase, reduce or limit the load, generation or stored
energy"; story JWG3 (c)–(d): the CEM charges or discharges the battery pack; the request's ramp up and down).

The home on a hot August day: base load, a battery at half charge (10 kWh, 5 kW) the user allows for load
management for at most 4 h, and for the ramp test an air conditioner whose set point may move by 2 K. A smart
meter meters what the devices draw; the DSO sends the requests at 11:00.
"""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest

from flexcem.cem.grid_settings import FlexPermission
from flexcem.devices.air_conditioner import DEFAULT_AIR_CONDITIONER, AirConditionerModel
from flexcem.devices.room import DEFAULT_ROOM, Room
from flexcem.grid.load_management import FEEDBACK, RESPONSE
from flexcem.model import (
    AcMode,
    AdjustmentAction,
    LoadAdjustmentFeedback,
    LoadManagementResponse,
    ManagedQuantity,
    PowerFlow,
    ResponseStatus,
)
from grid_side import dso, grid_settings, smart_meter
from home_harness import Home, local, run_home, settle
from whole_home import AirConditionerAgent, BatteryAgent, DataForecasts, agent, base_load

START = local(2021, 8, 10, 10)
ASKED_AT = local(2021, 8, 10, 11)
WINDOW = (local(2021, 8, 10, 13), local(2021, 8, 10, 14))
MINUTE = timedelta(minutes=1)
HOURS4 = timedelta(hours=4)


def air_conditioner(endpoint, cem, data):  # type: ignore[no-untyped-def]
    model = AirConditionerModel(DEFAULT_AIR_CONDITIONER, Room(DEFAULT_ROOM, 27.0), on=True)
    model.mode, model.set_point_c = AcMode.COOL, 27.0
    return AirConditionerAgent(endpoint, cem, data, model)


def test_a_load_increase_with_a_ramp_is_met_by_charging_the_battery_and_reported() -> None:
    async def scenario(home: Home) -> dict[str, object]:
        load = await base_load(home)
        battery = await agent(home, BatteryAgent, "battery")
        await smart_meter(home, [battery.power, load.meter(START, START + timedelta(days=1))])
        grid = await dso(home)
        await settle(home)
        await home.clock.sleep_until(ASKED_AT)
        await home.cem.settled()
        record = await grid.load.request(
            "home/cem",
            action=AdjustmentAction.INCREASE,
            amount_w=2000.0,
            start=WINDOW[0],
            end=WINDOW[1],
            ramp_up=30 * MINUTE,
            response_deadline=ASKED_AT + 30 * MINUTE,
            event_id="more-load",
        )
        await settle(home)
        event = home.cem.load_management.events["more-load"]
        baseline = event.baseline.device_w(home.cem.plan, "battery")  # type: ignore[arg-type]
        await home.clock.sleep_until(WINDOW[1] + 5 * MINUTE)
        await settle(home)
        out = {
            "response": [r.body for r in record.answers(RESPONSE)],
            "feedback": [r.body for r in record.answers(FEEDBACK)],
            "setpoints": event.setpoints["battery"],
            "baseline": baseline,
            "held_after": "battery" in home.cem.home.dispatcher.held_until,
        }
        await battery.power_off()
        return out

    allow = FlexPermission(device_id="battery", max_duration=HOURS4)
    out = run_home(scenario, start=START, settings=grid_settings(allow=[allow]), forecasts=DataForecasts())
    (response,) = out["response"]  # type: ignore[misc]
    (feedback,) = out["feedback"]  # type: ignore[misc]
    assert isinstance(response, LoadManagementResponse) and isinstance(feedback, LoadAdjustmentFeedback)
    ramp = [0.25, 0.75, 1.0, 1.0]  # 15-minute slots, the change reached over the first 30 minutes
    assert response.status is ResponseStatus.ACCEPT and response.devices == ("battery",)
    assert response.expected_change_w == pytest.approx(2000.0 * sum(ramp) / 4, abs=1.0), "the ramp asks less"
    extra = [s - b for s, b in zip(out["setpoints"], out["baseline"], strict=True)]  # type: ignore[call-overload]
    assert extra == pytest.approx([2000.0 * r for r in ramp], abs=1.0)
    assert feedback.achieved_change_w == pytest.approx(1500.0, abs=60.0), "metered: the battery charged as asked"
    assert feedback.load_curve.start == WINDOW[0] and feedback.load_curve.end == WINDOW[1]
    assert out["held_after"] is False, "after the window the battery is the plans' again"


def test_a_storage_request_beyond_the_batterys_charge_is_answered_not_sufficient_and_unallowed_ones_rejected() -> None:
    async def scenario(home: Home) -> list[object]:
        await base_load(home)
        battery = await agent(home, BatteryAgent, "battery")
        grid = await dso(home)
        await settle(home)
        await home.clock.sleep_until(ASKED_AT)
        answers = []
        for event_id, quantity, action, amount in (
            ("drain", ManagedQuantity.STORAGE, AdjustmentAction.REDUCE, 5000.0),
            ("cap", ManagedQuantity.STORAGE, AdjustmentAction.LIMIT, 1000.0),
        ):
            record = await grid.load.request(
                "home/cem",
                action=action,
                quantity=quantity,
                amount_w=amount,
                start=WINDOW[0],
                end=WINDOW[0] + 3 * 60 * MINUTE,
                response_deadline=ASKED_AT + 30 * MINUTE,
                event_id=event_id,
            )
            await settle(home)
            answers += [r.body for r in record.answers(RESPONSE)]
        await battery.power_off()
        return answers

    allow = FlexPermission(device_id="battery", max_duration=HOURS4)
    drain, cap = run_home(scenario, start=START, settings=grid_settings(allow=[allow]), forecasts=DataForecasts())
    assert isinstance(drain, LoadManagementResponse) and drain.status is ResponseStatus.NOT_SUFFICIENT
    assert drain.expected_change_w is not None and 500.0 < drain.expected_change_w < 5000.0
    assert drain.reason and "the batteries can discharge" in drain.reason
    # 5 kWh stored, 1 kWh kept (10 %), 96 % efficient: about 3.84 kWh over 3 h, on top of what the plan discharged
    assert drain.expected_change_w < 3840.0 / 3 + 5000.0 / 3
    assert isinstance(cap, LoadManagementResponse) and cap.status is ResponseStatus.REJECT
    assert cap.reason and "limit of storage is not supported" in cap.reason


def test_ramps_shape_the_limits_up_from_the_start_and_down_after_the_end() -> None:
    async def scenario(home: Home) -> dict[str, object]:
        await base_load(home)
        aircon = await agent(home, air_conditioner, "aircon")
        grid = await dso(home)
        await settle(home)
        await home.clock.sleep_until(ASKED_AT)
        await grid.load.request(
            "home/cem",
            action=AdjustmentAction.REDUCE,
            amount_w=400.0,
            start=WINDOW[0],
            end=WINDOW[1],
            ramp_up=60 * MINUTE,
            ramp_down=30 * MINUTE,
            response_deadline=ASKED_AT + 30 * MINUTE,
            event_id="ramped",
        )
        await settle(home)
        event = home.cem.load_management.events["ramped"]
        limits = [(s.start, s.limit_w) for s in home.cem.reductions.limits(home.cem.clock.now(), PowerFlow.IMPORT)]
        base = list(event.baseline.site_w) + list(event.tail.site_w if event.tail else ())
        await home.clock.sleep_until(WINDOW[1] + 10 * MINUTE)
        in_ramp_down = len(home.cem.reductions.limits(home.cem.clock.now(), PowerFlow.IMPORT))
        await home.clock.sleep_until(WINDOW[1] + 35 * MINUTE)
        await settle(home)
        after = len(home.cem.reductions.limits(home.cem.clock.now(), PowerFlow.IMPORT))
        await aircon.power_off()
        return {"limits": limits, "base": base, "in_ramp_down": in_ramp_down, "after": after}

    allow = FlexPermission(device_id="aircon", max_duration=HOURS4, comfort_range_c=2.0)
    out = run_home(scenario, start=START, settings=grid_settings(allow=[allow]), forecasts=DataForecasts())
    limits, base = out["limits"], out["base"]
    assert [at for at, _ in limits] == [WINDOW[0] + 15 * k * MINUTE for k in range(6)]  # type: ignore[union-attr]
    cuts = [b - limit for (_, limit), b in zip(limits, base, strict=True)]  # type: ignore[call-overload]
    ramp_up, ramp_down = cuts[:4], cuts[4:]
    assert all(a < b for a, b in itertools.pairwise(ramp_up)), f"the asked cut grows over the ramp-up: {cuts}"
    assert ramp_down[0] > ramp_down[1] > 0.0, f"and fades after the end: {cuts}"
    assert out["in_ramp_down"] == 2 and out["after"] == 0, "the ramp-down's limits go when it is over"
