"""Story JWG14 — Energy consumption management from external (user-stories §1; JWG2121, uc-market §2).

"The customer lets the supplier raise the AC set point within a range. At 11:00 [the supplier] asks the CEM
whether it can cut 300 W from 12:00 to 14:00. The CEM forwards target and timeframe to the AC. At 12:00 the AC
reduces and reports. If it can't meet the target, it reports what it can." Test: "Request forwarded with
timeframe. Set point moves within the user range. Achieved or partial reduction is reported."

A hot August day in the CityLearn building (on the story's 15 July the cost-optimal plan does not run the AC
at noon at all — it pre-cools — so there would be nothing to reduce; on 10 August it plans ~850 W there):
base load and an air conditioner cooling to 27 °C; the user allows the
grid to move the AC's set point by up to 2 K for at most 4 h. The answer's expected change comes from the
CEM's plans (the one before the request against the one after); the feedback's load curve is the smart meter's
for exactly 12:00–14:00, metering what the devices drew.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flexcem.cem.grid_settings import FlexPermission
from flexcem.devices.air_conditioner import DEFAULT_AIR_CONDITIONER, AirConditionerModel
from flexcem.devices.room import DEFAULT_ROOM, Room
from flexcem.grid.load_management import FEEDBACK, RESPONSE
from flexcem.model import (
    AcMode,
    AdjustmentAction,
    FanSpeed,
    LoadAdjustmentFeedback,
    LoadManagementResponse,
    ResponseStatus,
)
from grid_side import dso, grid_settings, smart_meter
from home_harness import Home, local, run_home, settle
from whole_home import AirConditionerAgent, DataForecasts, agent, base_load

START = local(2021, 8, 10, 10)
ASKED_AT = local(2021, 8, 10, 11)
WINDOW = (local(2021, 8, 10, 12), local(2021, 8, 10, 14))
ALLOW = FlexPermission(device_id="aircon", max_duration=timedelta(hours=4), comfort_range_c=2.0)


def air_conditioner(endpoint, cem, data):  # type: ignore[no-untyped-def]
    """Cooling to 27 °C, fan auto, the room at 27 °C."""
    model = AirConditionerModel(DEFAULT_AIR_CONDITIONER, Room(DEFAULT_ROOM, 27.0), on=True)
    model.mode, model.fan, model.set_point_c = AcMode.COOL, FanSpeed.AUTO, 27.0
    return AirConditionerAgent(endpoint, cem, data, model)


@dataclass
class Outcome:
    response: LoadManagementResponse
    feedback: LoadAdjustmentFeedback
    planned_change_w: float
    room_c: list[float]
    window_ac_w: float


def run(amount_w: float) -> Outcome:
    async def scenario(home: Home) -> Outcome:
        meter = await base_load(home)
        aircon = await agent(home, air_conditioner, "aircon")
        await smart_meter(home, [aircon.power, meter.meter(START, START + timedelta(days=1))])
        grid = await dso(home)
        await settle(home)
        await home.clock.sleep_until(ASKED_AT)
        await home.cem.settled()
        before = home.cem.plan
        assert before is not None
        record = await grid.load.request(
            "home/cem",
            action=AdjustmentAction.REDUCE,
            amount_w=amount_w,
            start=WINDOW[0],
            end=WINDOW[1],
            response_deadline=ASKED_AT + timedelta(minutes=30),
            event_id="jwg14",
        )
        await settle(home)
        after = home.cem.plan
        assert after is not None and after is not before
        inside = [k for k, at in enumerate(after.slot_starts) if WINDOW[0] <= at < WINDOW[1]]
        inside_before = [k for k, at in enumerate(before.slot_starts) if WINDOW[0] <= at < WINDOW[1]]
        planned = (
            sum(before.site_power_w[k] for k in inside_before) - sum(after.site_power_w[k] for k in inside)
        ) / len(inside)
        await home.clock.sleep_until(WINDOW[1] + timedelta(minutes=5))
        responses = [r.body for r in record.answers(RESPONSE)]
        feedbacks = [r.body for r in record.answers(FEEDBACK)]
        assert len(responses) == 1 and len(feedbacks) == 1, (responses, feedbacks, record.refusals)
        room = [e.room_c for e in aircon.history if WINDOW[0] <= e.at < WINDOW[1]]
        used = aircon.power.energy_wh(*WINDOW) / 2.0
        await aircon.power_off()
        response, feedback = responses[0], feedbacks[0]
        assert isinstance(response, LoadManagementResponse) and isinstance(feedback, LoadAdjustmentFeedback)
        return Outcome(response, feedback, planned, room, used)

    return run_home(scenario, start=START, settings=grid_settings(allow=[ALLOW]), forecasts=DataForecasts())


def test_300_w_for_noon_to_two_is_answered_from_the_plan_carried_out_by_the_ac_and_reported_with_the_curve() -> None:
    out = run(300.0)
    response, feedback = out.response, out.feedback
    assert response.status in (ResponseStatus.ACCEPT, ResponseStatus.NOT_SUFFICIENT), response
    assert response.devices == ("aircon",)
    assert response.expected_change_w is not None
    assert abs(response.expected_change_w - out.planned_change_w) < 1.0, "the answer is the plans' difference"
    assert response.expected_change_w > 150.0
    # the set point moves within the user's range: the room stays within 27 ± 1 K widened by 2 K
    assert out.room_c and max(out.room_c) <= 27.0 + 1.0 + 2.0 + 0.3, max(out.room_c)
    assert feedback.start == WINDOW[0] and feedback.end == WINDOW[1]
    assert feedback.load_curve.start == WINDOW[0] and feedback.load_curve.end == WINDOW[1]
    assert feedback.achieved_change_w > 150.0, feedback.achieved_change_w
    print(
        f"JWG14: expected {response.expected_change_w:.0f} W ({response.status.value}), achieved "
        f"{feedback.achieved_change_w:.0f} W; AC {out.window_ac_w:.0f} W in the window, room ≤ {max(out.room_c):.1f} °C"
    )


def test_more_than_the_ac_can_give_is_answered_not_sufficient_and_the_partial_reduction_reported() -> None:
    out = run(3000.0)
    response, feedback = out.response, out.feedback
    assert response.status is ResponseStatus.NOT_SUFFICIENT, response
    assert response.expected_change_w is not None and 0.0 < response.expected_change_w < 3000.0
    assert response.reason and "of 3000 W" in response.reason
    assert 0.0 < feedback.achieved_change_w < 3000.0
    assert feedback.reason and "all the allowed devices could do" in feedback.reason
