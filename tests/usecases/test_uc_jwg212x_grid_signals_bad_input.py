"""Issue 5, item 4 — bad grid signals at the CEM: refused with a reason the sender receives; the plan stays.

A window that has passed, an answer deadline that has passed, a sender without the role, an unknown area: a
unicast is Nacked naming the field; a send to everyone is answered with a reject response carrying the reason. An
impossible window or a negative amount never becomes a request (the model refuses it, naming the field). In
every case the CEM's current plan object and its schedules are unchanged.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from flexcem.bus import MessageRefused
from flexcem.model import (
    AdjustmentAction,
    GridState,
    LoadManagementRequest,
    LoadManagementResponse,
    ResponseStatus,
    TrafficLight,
    ValidationError,
)
from grid_side import dso, grid_settings
from home_harness import Home, local, run_home, settle
from whole_home import DataForecasts, WaterHeaterAgent, agent, base_load

START = local(2021, 8, 10, 9)


def request(event_id: str, start_h: int, end_h: int, deadline_h: float) -> LoadManagementRequest:
    return LoadManagementRequest(
        event_id=event_id,
        action=AdjustmentAction.REDUCE,
        amount_w=300.0,
        start=START + timedelta(hours=start_h),
        end=START + timedelta(hours=end_h),
        response_deadline=START + timedelta(hours=deadline_h),
    )


def test_bad_signals_are_refused_naming_the_field_and_the_plan_stays_as_it_was() -> None:
    async def scenario(home: Home) -> dict[str, object]:
        await base_load(home)
        heater = await agent(home, WaterHeaterAgent, "waterheater")
        grid = await dso(home)
        await settle(home)
        await home.clock.sleep(3 * 3600)
        await home.cem.settled()
        plan, schedules = home.cem.plan, dict(home.cem.home.dispatcher.confirmed)
        fields = {}
        for body, sender in (
            (request("past", 1, 2, 1.5), grid.load.endpoint),  # the window ended an hour ago
            (request("late", 4, 5, 2.5), grid.load.endpoint),  # the answer deadline has passed
            (
                TrafficLight(signal_id="tl", area="elsewhere", state=GridState.RED, valid_from=home.clock.now()),
                grid.load.endpoint,
            ),
        ):
            with pytest.raises(MessageRefused) as refused:
                await sender.deliver("home/cem", body)
            fields[type(body).__name__ + ":" + getattr(body, "event_id", "")] = refused.value.field
        rogue = await home.endpoint("rogue")
        await rogue.start()
        with pytest.raises(MessageRefused) as refused:
            await rogue.deliver("home/cem", request("rogue", 4, 5, 3.5))
        fields["rogue"] = refused.value.field
        await grid.load.endpoint.send("home/all", request("past-to-all", 1, 2, 1.5))  # no Nack for a broadcast
        await settle(home)
        answers = [e.body for e in home.messages(LoadManagementResponse) if e.to == "home/dso"]
        with pytest.raises(ValidationError, match="amount_w"):
            LoadManagementRequest.model_validate({**request("negative", 4, 5, 3.5).model_dump(), "amount_w": -1.0})
        with pytest.raises(ValidationError, match="end"):
            request("backwards", 5, 4, 3.5)
        unchanged = home.cem.plan is plan and home.cem.home.dispatcher.confirmed == schedules
        await heater.power_off()
        return {"fields": fields, "answers": answers, "unchanged": unchanged, "journal": home.cem.journal}

    out = run_home(scenario, start=START, settings=grid_settings(), forecasts=DataForecasts())
    assert out["fields"] == {
        "LoadManagementRequest:past": "end",
        "LoadManagementRequest:late": "response_deadline",
        "TrafficLight:": "area",
        "rogue": "from",
    }
    answers = out["answers"]
    assert answers and isinstance(answers[0], LoadManagementResponse)  # type: ignore[index]
    assert answers[0].event_id == "past-to-all" and answers[0].status is ResponseStatus.REJECT  # type: ignore[index]
    assert answers[0].reason.startswith("end: the window ended")  # type: ignore[index]
    assert out["unchanged"], "a refused signal changed the CEM's plan or its schedules"
