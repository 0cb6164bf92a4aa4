"""Direct load/generation management from the grid side (JWG2121 / WGSP2121, stories JWG3, JWG14).

:meth:`LoadManagementProgram.request` sends a :class:`~flexcem.model.LoadManagementRequest` (increase,
reduce or limit load, generation or storage; absolute [W] or relative [%]; window, ramps, urgency, answer
deadline, economic value or incentive tariff) to an endpoint, group, area or everyone, and records:

* the :class:`~flexcem.model.LoadManagementResponse` answers (accept / reject / not-sufficient with the
  expected change) until ``response_deadline``; who did not answer by then is in ``missing``;
* after the window, the :class:`~flexcem.model.LoadAdjustmentFeedback` (achieved change and the load curve
  recorded for the window) until the end plus ``feedback_grace``.

:meth:`revise` sends a new revision with another amount (negotiation after not-sufficient answers);
:meth:`end` ends the event early or cancels it before it starts (:class:`~flexcem.model.LoadAdjustmentEnd`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flexcem.bus import Endpoint
from flexcem.grid.program import GridProgram
from flexcem.grid.records import SignalRecord, SignalStore
from flexcem.grid.registry import GridRegistry
from flexcem.model import (
    AdjustmentAction,
    LoadAdjustmentEnd,
    LoadAdjustmentFeedback,
    LoadManagementRequest,
    LoadManagementResponse,
    ManagedQuantity,
    ResponseStatus,
    new_id,
)

__all__ = ["FEEDBACK", "RESPONSE", "EventSummary", "LoadManagementProgram"]

RESPONSE = "LoadManagementResponse"
FEEDBACK = "LoadAdjustmentFeedback"


@dataclass(frozen=True)
class EventSummary:
    """What came back for one event (current revision): counts by status, expected and achieved change [W]."""

    accepted: int
    rejected: int
    not_sufficient: int
    expected_change_w: float
    achieved_change_w: float
    feedbacks: int
    missing_responses: tuple[str, ...]
    missing_feedback: tuple[str, ...]


class LoadManagementProgram(GridProgram):
    """Load/generation management events with response collection and final feedback."""

    name = "load-management"
    response_types = (LoadManagementResponse, LoadAdjustmentFeedback)

    def __init__(
        self,
        endpoint: Endpoint,
        registry: GridRegistry,
        store: SignalStore | None = None,
        *,
        feedback_grace: timedelta = timedelta(hours=1),
    ) -> None:
        super().__init__(endpoint, registry, store)
        self.feedback_grace = feedback_grace

    async def request(
        self,
        target: str,
        *,
        action: AdjustmentAction,
        start: datetime,
        end: datetime,
        response_deadline: datetime,
        amount_w: float | None = None,
        amount_percent: float | None = None,
        quantity: ManagedQuantity = ManagedQuantity.LOAD,
        event_id: str | None = None,
        **options: Any,
    ) -> SignalRecord:
        """Send a new event; ``options`` are further request fields (ramp_up, urgency, value_per_kwh, …).

        A bad request (impossible window, negative amount, a deadline in the past) raises before anything
        is sent: :class:`~flexcem.model.ValidationError` naming the field, or :class:`ValueError`.
        """
        resolved = self.registry.resolve(target)
        body = LoadManagementRequest(
            event_id=event_id or f"lm-{new_id()[:12]}",
            action=action,
            quantity=quantity,
            amount_w=amount_w,
            amount_percent=amount_percent,
            start=start,
            end=end,
            response_deadline=response_deadline,
            **options,
        )
        self._check_deadline(body)
        deadlines = {RESPONSE: body.response_deadline, FEEDBACK: body.end + self.feedback_grace}
        return await self.issue(resolved, body.event_id, body, deadlines=deadlines)

    async def revise(
        self,
        event_id: str,
        *,
        response_deadline: datetime,
        amount_w: float | None = None,
        amount_percent: float | None = None,
    ) -> SignalRecord:
        """Send the event again with another amount as the next revision (amount negotiation)."""
        record = self.record(event_id)
        previous = record.body
        assert isinstance(previous, LoadManagementRequest)
        body = LoadManagementRequest.model_validate(
            {
                **previous.model_dump(),
                "revision": previous.revision + 1,
                "amount_w": amount_w,
                "amount_percent": amount_percent,
                "response_deadline": response_deadline,
            }
        )
        self._check_deadline(body)
        return await self.issue(
            record.to, event_id, body, deadlines={RESPONSE: response_deadline}, revision=body.revision
        )

    async def end(self, event_id: str, *, at: datetime | None = None, reason: str | None = None) -> SignalRecord:
        """End the event at ``at`` (now); before its start this cancels it and no feedback is expected."""
        record = self.record(event_id)
        request = record.body
        assert isinstance(request, LoadManagementRequest)
        instant = at or self.clock.now()
        cancelled = instant <= request.start
        await self.notify(record, LoadAdjustmentEnd(event_id=event_id, at=instant, cancelled=cancelled, reason=reason))
        if cancelled:
            self.drop_deadline(record, FEEDBACK)
        else:
            self.set_deadline(record, FEEDBACK, min(instant, request.end) + self.feedback_grace)
        return record

    def summary(self, event_id: str) -> EventSummary:
        """The answers to the current revision and the feedback so far."""
        record = self.record(event_id)
        responses = [r.body for r in record.latest(RESPONSE).values() if isinstance(r.body, LoadManagementResponse)]
        feedbacks = [
            r.body for r in record.answers(FEEDBACK, current=False) if isinstance(r.body, LoadAdjustmentFeedback)
        ]
        return EventSummary(
            accepted=sum(r.status is ResponseStatus.ACCEPT for r in responses),
            rejected=sum(r.status is ResponseStatus.REJECT for r in responses),
            not_sufficient=sum(r.status is ResponseStatus.NOT_SUFFICIENT for r in responses),
            expected_change_w=sum(
                r.expected_change_w or 0.0 for r in responses if r.status is not ResponseStatus.REJECT
            ),
            achieved_change_w=sum(f.achieved_change_w for f in feedbacks),
            feedbacks=len(feedbacks),
            missing_responses=record.missing.get(RESPONSE, record.outstanding(RESPONSE)),
            missing_feedback=record.missing.get(FEEDBACK, ()),
        )

    def _check_deadline(self, body: LoadManagementRequest) -> None:
        if body.response_deadline <= self.clock.now():
            raise ValueError(f"response_deadline {body.response_deadline.isoformat()} is not in the future")
