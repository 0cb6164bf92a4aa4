"""Story JWG19 — Control appliances by an energy-saving signal (user-stories §1; uc-market §2).

"Same settings [as JWG18]. At 7 AM a saving request for 1 PM–5 PM arrives. At 8 AM the CEM plans before, during
and after the window, meeting the request 'as possible'. Confirm, commit, then activate." Test: "Shiftable load
is kept out of 13:00–17:00, deadlines are met, best effort otherwise. Runs only after commit + activate."

A hot August day in the CityLearn building: the base load, a water heater with the building's real hot-water
draws and a washing machine the user wants done by 20:00. The DSO asks at 07:00 for "as much as possible" from
13:00 to 17:00. The answer's expected saving is the difference between the CEM's plan before the request and
the plan after it; the washer's run and the water heater's heating leave the window, and the washer is still
done by 20:00. With ``commit_required`` the plan is only a proposal: nothing reaches a device before the user
commits at 08:00.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flexcem.devices.air_conditioner import DEFAULT_AIR_CONDITIONER, AirConditionerModel
from flexcem.devices.room import DEFAULT_ROOM, Room
from flexcem.grid.energy_saving import RESPONSE
from flexcem.model import (
    AcMode,
    AirConditionerSettings,
    DeviceState,
    EnergySavingResponse,
    FanSpeed,
    PowerSetpointSchedule,
    ResponseStatus,
    StartTimeAssignment,
    WaterHeaterSettings,
)
from flexcem.planner import Plan
from grid_side import CEM, dso, grid_settings
from home_harness import ZONE, Home, local, run_home, settle
from whole_home import AirConditionerAgent, DataForecasts, WaterHeaterAgent, agent, base_load

SEVEN = local(2021, 8, 10, 7)
EIGHT = local(2021, 8, 10, 8)
LUNCH = local(2021, 8, 10, 12, 30)
WINDOW = (local(2021, 8, 10, 13), local(2021, 8, 10, 17))
WASH_BY = local(2021, 8, 10, 20)
CONTROL = (StartTimeAssignment, PowerSetpointSchedule, WaterHeaterSettings, AirConditionerSettings)


def air_conditioner(endpoint, cem, data):  # type: ignore[no-untyped-def]
    """Cooling to 27 °C, fan auto, the room at 27 °C (JWG18's settings)."""
    model = AirConditionerModel(DEFAULT_AIR_CONDITIONER, Room(DEFAULT_ROOM, 27.0), on=True)
    model.mode, model.fan, model.set_point_c = AcMode.COOL, FanSpeed.AUTO, 27.0
    return AirConditionerAgent(endpoint, cem, data, model)


def window_mean_w(plan: Plan) -> float:
    """The plan's average site power in the window [W]."""
    inside = [w for at, w in zip(plan.slot_starts, plan.site_power_w, strict=True) if WINDOW[0] <= at < WINDOW[1]]
    return sum(inside) / len(inside)


def device_wh(plan: Plan, device_id: str, start: datetime, end: datetime) -> float:
    """Energy ``device_id`` is planned to draw in ``[start, end)`` [Wh]."""
    device = plan.device(device_id)
    slot_h = plan.slot_duration.total_seconds() / 3600.0
    return sum(w for at, w in zip(plan.slot_starts, device.power_w, strict=True) if start <= at < end) * slot_h


@dataclass
class Outcome:
    answer: EnergySavingResponse | None
    plan_saving_w: float
    heater_wh_in_window: float
    washer_run: tuple[datetime, datetime] | None
    washer_finished: datetime | None
    control_before_commit: int
    control_after_commit: int


def run(request: bool, commit: bool = False, washer_at: datetime = LUNCH) -> Outcome:
    """The day with or without the request; the user starts the washer at ``washer_at`` (done by 20:00)."""

    async def scenario(home: Home) -> Outcome:
        await base_load(home)
        heater = await agent(home, WaterHeaterAgent, "waterheater")
        aircon = await agent(home, air_conditioner, "aircon")
        washer = await home.washer()
        washer.prepare("cotton_40", latest_end=WASH_BY)
        if washer_at <= SEVEN:
            await washer.activate()
        grid = await dso(home)
        await settle(home)
        before = home.cem.plan
        assert before is not None
        answer = None
        if request:
            record = await grid.saving.request(CEM, *WINDOW, reason="tight supply", request_id="jwg19")
            await settle(home)
            answers = [r.body for r in record.answers(RESPONSE)]
            assert len(answers) == 1, (answers, record.refusals)
            assert isinstance(answers[0], EnergySavingResponse)
            answer = answers[0]
        after = home.cem.plan
        assert after is not None
        control_before = sum(len(home.messages(kind)) for kind in CONTROL)
        if commit:
            await home.clock.sleep_until(EIGHT)
            await home.cem.settled()
            proposal = home.cem.proposal
            assert proposal is not None and proposal.committed_at is None
            after = proposal.plan
            await home.cem.commit(proposal.proposal_id)
            await settle(home)
        control_after = sum(len(home.messages(kind)) for kind in CONTROL)
        saving = window_mean_w(before) - window_mean_w(after)
        heater_wh = device_wh(after, "waterheater", *WINDOW)
        if washer_at > SEVEN:
            await home.clock.sleep_until(washer_at)
            await washer.activate()
            await settle(home)
            after = home.cem.plan
            assert after is not None
        washer_plan = after.device("washer")
        run_window = (washer_plan.start, washer_plan.end) if washer_plan.start and washer_plan.end else None
        await home.clock.sleep_until(WASH_BY + timedelta(minutes=5))
        finished = washer.job.finished_at if washer.state is DeviceState.FINISHED else None
        await heater.power_off()
        await aircon.power_off()
        return Outcome(
            answer,
            saving,
            heater_wh,
            run_window,
            finished,
            control_before,
            control_after,
        )

    settings = grid_settings().model_copy(update={"commit_required": commit})
    return run_home(scenario, start=SEVEN, settings=settings, forecasts=DataForecasts())


def test_saving_request_keeps_shiftable_load_out_of_the_window_and_is_answered_with_the_plans_saving() -> None:
    usual = run(request=False)
    out = run(request=True)
    assert usual.washer_run is not None and usual.washer_run[0] < WINDOW[1] and usual.washer_run[1] > WINDOW[0]
    answer = out.answer
    assert answer is not None
    assert answer.status is ResponseStatus.ACCEPT, answer
    assert answer.expected_saving_w is not None and answer.expected_saving_wh is not None
    assert abs(answer.expected_saving_w - out.plan_saving_w) < 1.0, "the answer is the plans' difference"
    assert answer.expected_saving_w > 0.0
    assert abs(answer.expected_saving_wh - answer.expected_saving_w * 4.0) < 1.0
    # shiftable load is kept out of the window; the deadline is met
    assert out.washer_run is not None
    assert out.washer_run[1] <= WINDOW[0] or out.washer_run[0] >= WINDOW[1], out.washer_run
    assert out.washer_finished is not None and out.washer_finished <= WASH_BY
    assert out.heater_wh_in_window <= usual.heater_wh_in_window + 1.0
    assert out.heater_wh_in_window < 1.0, f"the water heater is planned {out.heater_wh_in_window:.0f} Wh inside"
    run_from, run_to = (at.astimezone(ZONE) for at in out.washer_run)
    print(
        f"JWG19: expected saving {answer.expected_saving_w:.0f} W ({answer.expected_saving_wh:.0f} Wh); washer "
        f"{run_from:%H:%M}–{run_to:%H:%M}; heater {out.heater_wh_in_window:.0f} Wh in the window "
        f"(usual {usual.heater_wh_in_window:.0f} Wh)"
    )


def test_with_commit_required_nothing_runs_before_the_users_commit() -> None:
    out = run(request=True, commit=True, washer_at=SEVEN)
    assert out.answer is not None and out.answer.status is ResponseStatus.ACCEPT, out.answer
    assert out.control_before_commit == 0, "nothing is sent to a device before the commit"
    assert out.control_after_commit > 0
    assert out.washer_run is not None
    assert out.washer_run[1] <= WINDOW[0] or out.washer_run[0] >= WINDOW[1], out.washer_run
    assert out.washer_finished is not None and out.washer_finished <= WASH_BY
