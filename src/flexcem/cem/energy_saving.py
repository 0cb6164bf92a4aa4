"""Energy-saving requests (story JWG19, JWG21 branch b): "use less from 1 PM to 5 PM, as possible".

The CEM takes the request from a sender with the role (else refused naming ``from``; a window that has passed
naming ``end``), plans around the window — an import limit there of the usual use minus the target
(``target_w``, or ``target_percent`` of the planned use; without a target as little as possible: 0 W, soft) —
and answers with the saving its new plan expects against the plan before the request: ``accept`` when it
reaches the target (or saves anything without one), ``not_sufficient`` with what it saves, ``reject`` with the
reason when it can save nothing. The limit is released when the window ends.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from flexcem.bus import Endpoint
from flexcem.cem.grid_signals import Refused, check_source, check_window, plan_window, refuse
from flexcem.model import EnergySavingRequest, EnergySavingResponse, Envelope, PowerFlow, ResponseStatus

if TYPE_CHECKING:
    from flexcem.cem.manager import CustomerEnergyManager

__all__ = ["EnergySaving"]


class EnergySaving:
    """The CEM's side of energy-saving requests."""

    def __init__(self, cem: CustomerEnergyManager, endpoint: Endpoint) -> None:
        self._cem = cem
        self.answers: dict[str, EnergySavingResponse] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        endpoint.on(EnergySavingRequest, self._on_request)

    async def _on_request(self, request: EnergySavingRequest, envelope: Envelope) -> EnergySavingResponse:
        cem = self._cem

        def reject(reason: str) -> EnergySavingResponse:
            return EnergySavingResponse(
                request_id=request.request_id, status=ResponseStatus.REJECT, reason=reason[:256]
            )

        try:
            check_source(cem, envelope, "energy-saving requests")
            check_window(request.start, request.end, cem.clock.now())
        except Refused as refusal:
            return refuse(cem, envelope, refusal, reject)
        if request.request_id in self.answers:
            return self.answers[request.request_id]
        if cem.emergency.disaster.active:
            await cem.emergency.disaster.on_saving()  # story JWG21 (b)
        await cem.settled()
        try:
            baseline = plan_window(cem.plan, request.start, request.end)
        except Refused as refusal:
            return reject(refusal.reason)
        if request.target_w is not None:
            targets = [w - request.target_w for w in baseline.site_w]
        elif request.target_percent is not None:
            targets = [w * (1.0 - request.target_percent / 100.0) for w in baseline.site_w]
        else:
            targets = [0.0] * len(baseline.site_w)
        key = f"energy saving {request.request_id}"
        cem.reductions.hold(key, PowerFlow.IMPORT, baseline.limits(targets))
        cem.note(
            f"energy saving {request.request_id} from {envelope.sender}: "
            f"{cem.settings.clock_time(request.start)}–{cem.settings.clock_time(request.end)}"
        )
        cem.request_replan(key)
        await cem.settled()
        try:
            planned = plan_window(cem.plan, request.start, request.end)
        except Refused as refusal:
            return reject(refusal.reason)
        saving = max(0.0, baseline.mean_w - planned.mean_w)
        hours = (request.end - request.start).total_seconds() / 3600.0
        asked = sum(b - t for b, t in zip(baseline.site_w, targets, strict=True)) / len(targets)
        wanted = request.target_w is not None or request.target_percent is not None
        if saving <= 1.0:
            answer = reject("the plan cannot use less in the window: nothing movable runs there")
        elif wanted and saving < asked - 5.0:
            answer = EnergySavingResponse(
                request_id=request.request_id,
                status=ResponseStatus.NOT_SUFFICIENT,
                expected_saving_w=round(saving, 3),
                expected_saving_wh=round(saving * hours, 3),
                reason=f"{saving:.0f} W of the {asked:.0f} W asked",
            )
        else:
            answer = EnergySavingResponse(
                request_id=request.request_id,
                status=ResponseStatus.ACCEPT,
                expected_saving_w=round(saving, 3),
                expected_saving_wh=round(saving * hours, 3),
            )
        self.answers[request.request_id] = answer
        task = asyncio.create_task(self._release_at(key, request))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        cem.note(f"energy saving {request.request_id}: {answer.status.value}, {saving:.0f} W expected")
        return answer

    async def _release_at(self, key: str, request: EnergySavingRequest) -> None:
        await self._cem.clock.sleep_until(request.end)
        self._cem.reductions.release(key)
