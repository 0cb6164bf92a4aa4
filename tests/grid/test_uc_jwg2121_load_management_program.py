"""JWG2121 / WGSP2121, stories JWG3 and JWG14: the grid's load-management events, answers and final feedback.

The report: the operator "actively asks for a change of a specific amount"; the CEM's "response status
... accept or reject or not-sufficient"; "A/B received feedback with the load curve recorded for the
period". Story JWG14: at 11:00 the supplier asks whether the site can cut 300 W from 12:00 to 14:00; "if it
can't meet the target, it reports what it can". The peers here are bare endpoints answering for a CEM.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from flexcem.bus import Endpoint, MessageRefused
from flexcem.data import DATA_CLOCK, CityLearnData
from flexcem.grid import LoadManagementProgram, UnknownTarget
from flexcem.grid.load_management import FEEDBACK, RESPONSE, EventSummary
from flexcem.model import (
    AdjustmentAction,
    Envelope,
    LoadAdjustmentEnd,
    LoadAdjustmentFeedback,
    LoadManagementRequest,
    LoadManagementResponse,
    ResponseStatus,
    Urgency,
    ValidationError,
)
from grid_harness import AREA, Neighbourhood, address, hours, run_grid

START = datetime(2021, 7, 15, 11, 0, tzinfo=DATA_CLOCK)
NOON, TWO = START + hours(1), START + hours(3)
DATA = CityLearnData.embedded()


def answering(endpoint: Endpoint, reply: LoadManagementResponse | None) -> list[LoadManagementRequest]:
    """Make ``endpoint`` answer every request with ``reply`` (the request's revision); returns what it got."""
    got: list[LoadManagementRequest] = []

    async def handle(request: LoadManagementRequest, envelope: Envelope) -> LoadManagementResponse | None:
        got.append(request)
        if reply is None:
            return None
        return reply.model_copy(update={"event_id": request.event_id, "revision": request.revision})

    endpoint.on(LoadManagementRequest, handle)
    return got


async def feedback(endpoint: Endpoint, event_id: str, achieved_w: float) -> None:
    """Send the final feedback with the site's real load curve of 12:00–14:00, less ``achieved_w``."""
    metered = DATA.base_load(NOON, TWO)
    curve = metered.model_copy(
        update={"slots": tuple(s.model_copy(update={"power_w": s.power_w - achieved_w}) for s in metered.slots)}
    )
    body = LoadAdjustmentFeedback(
        event_id=event_id, start=NOON, end=TWO, achieved_change_w=achieved_w, load_curve=curve,
        baseline_curve=metered, devices=("aircon",),
    )
    await endpoint.send(address("dso"), body)


def test_jwg14_300_w_asked_at_11_for_12_to_14_answers_and_feedback_are_recorded() -> None:
    async def scenario(hood: Neighbourhood) -> tuple[EventSummary, object]:
        program = LoadManagementProgram(await hood.endpoint("dso"), hood.registry)
        one, two, three = [await hood.endpoint(name) for name in ("cem-1", "cem-2", "cem-3")]
        got = answering(one, LoadManagementResponse(
            event_id="x", status=ResponseStatus.NOT_SUFFICIENT, expected_change_w=180.0, devices=("aircon",),
            reason="the air conditioner can go up 2 K only"))
        answering(two, LoadManagementResponse(event_id="x", status=ResponseStatus.ACCEPT, expected_change_w=300.0))
        answering(three, None)  # silent: acknowledges nothing, answers nothing
        record = await program.request(
            AREA, action=AdjustmentAction.REDUCE, amount_w=300.0, start=NOON, end=TWO,
            response_deadline=START + hours(0.5), urgency=Urgency.HIGH, value_per_kwh=0.25, currency="USD",
        )
        assert await program.closed(record.signal_id, RESPONSE) == (address("cem-3"),)
        assert got[0].amount_w == 300.0 and got[0].start == NOON and got[0].urgency is Urgency.HIGH
        await hood.clock.sleep_until(TWO + hours(0.1))
        await feedback(one, record.signal_id, 170.0)
        await feedback(two, record.signal_id, 310.0)
        assert await program.closed(record.signal_id, FEEDBACK) == (address("cem-3"),)
        return program.summary(record.signal_id), record

    summary, record = run_grid(scenario, START)
    assert summary == EventSummary(
        accepted=1, rejected=0, not_sufficient=1, expected_change_w=480.0, achieved_change_w=480.0, feedbacks=2,
        missing_responses=(address("cem-3"),), missing_feedback=(address("cem-3"),),
    )
    answer = record.latest(RESPONSE)[address("cem-1")]  # type: ignore[attr-defined]
    assert answer.responder == address("cem-1") and answer.at == START and not answer.late
    assert answer.body.reason == "the air conditioner can go up 2 K only"
    final = record.latest(FEEDBACK)[address("cem-2")].body  # type: ignore[attr-defined]
    assert (final.load_curve.start, final.load_curve.end) == (NOON, TWO)
    assert final.baseline_curve.slots[0].power_w == pytest.approx(DATA.value_at(DATA.base_load_w, NOON))


def test_a_revision_renegotiates_the_amount_and_only_current_answers_count() -> None:
    async def scenario(hood: Neighbourhood) -> EventSummary:
        program = LoadManagementProgram(await hood.endpoint("dso"), hood.registry)
        one = await hood.endpoint("cem-1")
        got = answering(one, LoadManagementResponse(event_id="x", status=ResponseStatus.ACCEPT, expected_change_w=150))
        record = await program.request(address("cem-1"), action=AdjustmentAction.REDUCE, amount_w=300.0, start=NOON,
                                       end=TWO, response_deadline=START + hours(0.5))
        await program.revise(record.signal_id, amount_w=150.0, response_deadline=START + hours(0.75))
        assert [(r.revision, r.amount_w) for r in got] == [(0, 300.0), (1, 150.0)]
        assert len(record.answers(RESPONSE, current=False)) == 2 and record.revision == 1
        return program.summary(record.signal_id)

    summary = run_grid(scenario, START)
    assert summary.accepted == 1 and summary.expected_change_w == 150.0 and summary.missing_responses == ()


def test_ending_early_or_cancelling_is_sent_and_a_cancelled_event_expects_no_feedback() -> None:
    async def scenario(hood: Neighbourhood) -> None:
        program = LoadManagementProgram(await hood.endpoint("dso"), hood.registry)
        for name in ("cem-1", "cem-2", "cem-3"):
            answering(await hood.endpoint(name), None)
        cancelled = await program.request(AREA, action=AdjustmentAction.INCREASE, amount_percent=20.0, start=NOON,
                                          end=TWO, response_deadline=START + hours(0.5))
        await program.end(cancelled.signal_id, reason="forecast improved")
        assert await program.closed(cancelled.signal_id, FEEDBACK) == ()
        ended = await program.request(AREA, action=AdjustmentAction.LIMIT, amount_w=2000.0, start=START + hours(0.5),
                                      end=TWO, response_deadline=START + hours(0.25))
        await hood.clock.sleep_until(NOON)
        await program.end(ended.signal_id)
        assert ended.deadlines[FEEDBACK] == NOON + program.feedback_grace
        await hood.settle()
        ends = [e.body for e in hood.messages(LoadAdjustmentEnd)]
        assert [(e.cancelled, e.at) for e in ends] == [(True, START), (False, NOON)]  # type: ignore[attr-defined]

    run_grid(scenario, START)


def test_a_refusal_is_recorded_with_its_reason_and_field() -> None:
    async def scenario(hood: Neighbourhood) -> None:
        program = LoadManagementProgram(await hood.endpoint("dso"), hood.registry)
        peer = await hood.endpoint("cem-4")

        async def refuse(request: LoadManagementRequest, envelope: Envelope) -> None:
            raise MessageRefused("no contract for generation management", "quantity")

        peer.on(LoadManagementRequest, refuse)
        record = await program.request(address("cem-4"), action=AdjustmentAction.REDUCE, amount_w=500.0, start=NOON,
                                       end=TWO, response_deadline=START + hours(0.5))
        assert [(r.responder, r.reason, r.field) for r in record.refusals] == [
            (address("cem-4"), "no contract for generation management", "quantity")
        ]
        assert await program.closed(record.signal_id, RESPONSE) == ()

    run_grid(scenario, START)


def test_bad_requests_are_refused_before_anything_is_sent() -> None:
    async def scenario(hood: Neighbourhood) -> None:
        program = LoadManagementProgram(await hood.endpoint("dso"), hood.registry)
        good = {"action": AdjustmentAction.REDUCE, "start": NOON, "end": TWO, "response_deadline": START + hours(1)}
        with pytest.raises(UnknownTarget, match=r"unknown area 'feeder-9'"):
            await program.request("feeder-9", amount_w=300.0, **good)  # type: ignore[arg-type]
        with pytest.raises(UnknownTarget, match=r"unknown group 'grid/grp/nobody'"):
            await program.request("grid/grp/nobody", amount_w=300.0, **good)  # type: ignore[arg-type]
        with pytest.raises(ValidationError) as negative:
            await program.request(AREA, amount_w=-300.0, **good)  # type: ignore[arg-type]
        assert negative.value.errors()[0]["loc"] == ("amount_w",)
        with pytest.raises(ValidationError, match=r"end .* is not after start"):
            await program.request(AREA, amount_w=300.0, **{**good, "end": NOON})  # type: ignore[arg-type]
        with pytest.raises(ValueError, match=r"response_deadline .* is not in the future"):
            await program.request(AREA, amount_w=300.0, **{**good, "response_deadline": START})  # type: ignore[arg-type]
        assert program.records() == [] and hood.messages(LoadManagementRequest) == []

    run_grid(scenario, START)
