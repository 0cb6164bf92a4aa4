"""A supplier's energy-saving program (story JWG19, JWG21 branch b): "use less from 1 PM to 5 PM, as possible".

:meth:`EnergySavingProgram.request` sends an :class:`~flexcem.model.EnergySavingRequest` to an endpoint, a
group, an area or everyone and collects the :class:`~flexcem.model.EnergySavingResponse` answers until the
deadline (by default the start of the window); who did not answer is recorded.
"""

from __future__ import annotations

from datetime import datetime

from flexcem.grid.program import GridProgram
from flexcem.grid.records import SignalRecord
from flexcem.model import EnergySavingRequest, EnergySavingResponse, ResponseStatus, new_id

__all__ = ["EnergySavingProgram"]

RESPONSE = "EnergySavingResponse"


class EnergySavingProgram(GridProgram):
    """Sends energy-saving requests and records the answers."""

    name = "energy-saving"
    response_types = (EnergySavingResponse,)

    async def request(
        self,
        target: str,
        start: datetime,
        end: datetime,
        *,
        target_percent: float | None = None,
        target_w: float | None = None,
        response_deadline: datetime | None = None,
        reason: str | None = None,
        request_id: str | None = None,
    ) -> SignalRecord:
        """Ask ``target`` to save energy in ``[start, end)``; answers are due by ``response_deadline`` (start)."""
        deadline = response_deadline or start
        if deadline <= self.clock.now():
            raise ValueError(f"response_deadline {deadline.isoformat()} is not in the future")
        resolved = self.registry.resolve(target)
        body = EnergySavingRequest(
            request_id=request_id or f"save-{new_id()[:12]}",
            start=start,
            end=end,
            target_percent=target_percent,
            target_w=target_w,
            reason=reason,
        )
        return await self.issue(resolved, body.request_id, body, deadlines={RESPONSE: deadline})

    def expected_saving_w(self, request_id: str) -> float:
        """Sum of the savings [W] the participants expect (accepted or partly)."""
        return sum(
            r.body.expected_saving_w or 0.0
            for r in self.record(request_id).latest(RESPONSE).values()
            if isinstance(r.body, EnergySavingResponse) and r.body.status is not ResponseStatus.REJECT
        )
