"""Carrying a plan out: start times to new jobs, slot shifts to scheduled ones, cost estimates to both.

* an offered job gets a :class:`~flexcem.model.StartTimeAssignment` (JWG1102); once the device acknowledges
  it, the schedule counts as confirmed;
* a scheduled job whose schedule the plan changes gets a :class:`~flexcem.model.SlotShift` (JWG1103). The
  device confirms it or refuses it; on a refusal or a silence the last confirmed schedule stays in force;
* a running job is never sent anything (it is not in the plan as a movable job);
* after an accepted assignment or shift, the device is told the job's expected cost (JWG1100 step 5).

Deliveries to different devices run concurrently; each has the bus's acknowledgement timeout and retries.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from flexcem.bus import DeliveryTimeout, Endpoint, LinkClosed, MessageRefused, PeerUnsupported
from flexcem.cem.jobs import JobPhase, JobRecord, Schedule
from flexcem.cem.planning import keep_confirmed, schedule_for
from flexcem.cem.settings import CemSettings
from flexcem.model import (
    ChargingSessionOffer,
    CostEstimate,
    SlotShift,
    SlotShiftResponse,
    StartTimeAssignment,
)
from flexcem.planner import Plan

__all__ = ["Dispatcher"]

_UNDELIVERED = (DeliveryTimeout, PeerUnsupported, LinkClosed)


class Dispatcher:
    """Sends what a plan asks of each device and records what the devices confirmed."""

    def __init__(self, endpoint: Endpoint, settings: CemSettings, note: Callable[[str], None]) -> None:
        self._endpoint = endpoint
        self._settings = settings
        self._note = note

    async def apply(self, plan: Plan, jobs: list[JobRecord]) -> None:
        """Carry ``plan`` out for ``jobs`` (the movable jobs it placed)."""
        await asyncio.gather(*(self._apply(plan, job) for job in jobs))

    async def _apply(self, plan: Plan, job: JobRecord) -> None:
        schedule = schedule_for(job, plan)
        if schedule is None:
            self._note(f"plan leaves {job.device_id} without a start")
            return
        if job.phase is JobPhase.OFFERED:
            accepted = await self._assign(job, schedule)
        elif job.phase is JobPhase.SCHEDULED and not schedule.same_as(job.confirmed):
            if keep_confirmed(job, schedule, plan, self._settings):
                return
            accepted = await self._shift(job, schedule)
        else:
            accepted = job.phase is JobPhase.SCHEDULED
        if accepted:
            await self._tell_cost(plan, job, schedule)

    async def _assign(self, job: JobRecord, schedule: Schedule) -> bool:
        charging = isinstance(job.offer, ChargingSessionOffer)
        assignment = StartTimeAssignment(
            offer_id=job.offer_id,
            device_id=job.device_id,
            start=schedule.start,
            sequence_id=schedule.sequence_id,
            power_limits=schedule.profile if charging else None,
        )
        try:
            await self._endpoint.deliver(job.device_address, assignment)
        except MessageRefused as refusal:
            self._note(f"{job.device_id} refused start {self._settings.clock_time(schedule.start)}: {refusal}")
            return False
        except _UNDELIVERED as error:
            self._note(f"start time for {job.device_id} not delivered: {error}")
            return False
        job.confirmed = schedule
        if job.phase is JobPhase.OFFERED:
            job.phase = JobPhase.SCHEDULED
        self._note(f"assigned {job.device_id} start {self._settings.clock_time(schedule.start)}" + _variant(schedule))
        return True

    async def _shift(self, job: JobRecord, schedule: Schedule) -> bool:
        shift = SlotShift(
            offer_id=job.offer_id,
            device_id=job.device_id,
            start=schedule.start,
            sequence_id=schedule.sequence_id,
            profile=schedule.profile,
        )
        previous = job.confirmed
        try:
            response = await self._endpoint.deliver(job.device_address, shift, expect=SlotShiftResponse)
        except (MessageRefused, *_UNDELIVERED) as error:
            self._note(f"slot shift for {job.device_id} not delivered: {error}")
            return False
        if not response.accepted:
            kept = f"; keeps {self._settings.clock_time(previous.start)}" if previous else ""
            self._note(f"{job.device_id} refused the slot shift: {response.reason}{kept}")
            return False
        job.confirmed = schedule
        moved_from = f" from {self._settings.clock_time(previous.start)}" if previous else ""
        self._note(
            f"shifted {job.device_id}{moved_from} to {self._settings.clock_time(schedule.start)}" + _variant(schedule)
        )
        return True

    async def _tell_cost(self, plan: Plan, job: JobRecord, schedule: Schedule) -> None:
        device_plan = plan.device(job.device_id)
        end = schedule.profile.end
        estimate = CostEstimate(
            offer_id=job.offer_id,
            device_id=job.device_id,
            currency=plan.currency,
            expected_cost=round(device_plan.cost, 6),
            expected_energy_wh=round(max(0.0, device_plan.energy_wh), 3),
            expected_co2_g=None if device_plan.co2_g is None else round(max(0.0, device_plan.co2_g), 3),
            start=schedule.start,
            end=end,
        )
        if estimate == job.expected:
            return
        job.expected = estimate
        try:
            await self._endpoint.deliver(job.device_address, estimate)
        except (MessageRefused, *_UNDELIVERED) as error:
            self._note(f"cost estimate for {job.device_id} not delivered: {error}")


def _variant(schedule: Schedule) -> str:
    return f" ({schedule.sequence_id})" if schedule.sequence_id else ""
