"""The protocol agent every smart device shares: registration, offers, start times, slot shifts, commands.

A :class:`DeviceAgent` follows the state machine of uc-home §12. When its operation mode is activated (the
user's button, a CEM request, a timer or an internal state change) it sends its flexibility to the CEM and
negotiates; it then waits for the assigned start, runs its job through the kind-specific physics
(:meth:`DeviceAgent._run`), and reports every transition to the CEM. It keeps the user in control: "start
now" is honoured at once, and when the CEM stays silent the device starts on its own by its latest start
so that the user's deadline is met (the fail-safe of JWG1100). An updated energy profile (JWG1103) is
confirmed when it respects the device's limits and refused — keeping the old schedule — when it does not
or when the job has already started.
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import count
from typing import Any, ClassVar

from flexcem.bus import DeliveryTimeout, Endpoint, LinkClosed, MessageRefused, PeerUnsupported
from flexcem.devices.power_log import PowerLog
from flexcem.devices.state_machine import check_transition
from flexcem.model import (
    ActivationTrigger,
    CommandKind,
    CommandResult,
    ConsumptionCapWarning,
    CostEstimate,
    DeviceCapabilities,
    DeviceKind,
    DeviceRegistration,
    DeviceState,
    DeviceStatus,
    Envelope,
    FlexibilityOffer,
    FlexibilityRequest,
    PowerSeries,
    SimpleCommand,
    SlotShift,
    SlotShiftResponse,
    StartTimeAssignment,
    StatusRequest,
)

__all__ = ["DeviceAgent", "Job", "Notice"]

log = logging.getLogger("flexcem.devices")

START_TOLERANCE = timedelta(seconds=1)
"""How far in the past an assigned start may lie and still be taken as "now" (transport delay)."""


@dataclass(frozen=True)
class Notice:
    """Something the device tells its user (schedule, completion, failure)."""

    at: datetime
    text: str


@dataclass
class Job:
    """One job of the device: its offer and what has been agreed and done for it."""

    offer: FlexibilityOffer
    assigned_start: datetime | None = None
    sequence_id: str | None = None
    profile: PowerSeries | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    elapsed: timedelta = timedelta(0)
    energy_wh: float = 0.0
    cost: CostEstimate | None = None
    started_by: str | None = None
    history: list[str] = field(default_factory=list)


class DeviceAgent(ABC):
    """Base of every smart-device agent. Subclasses give the kind, the capabilities and the physics."""

    kind: ClassVar[DeviceKind]
    standby_power_w: ClassVar[float] = 0.5

    def __init__(
        self,
        endpoint: Endpoint,
        cem_address: str,
        *,
        registration_retry_s: float = 30.0,
    ) -> None:
        self.endpoint = endpoint
        self.clock = endpoint.clock
        self.cem_address = cem_address
        self.device_id = endpoint.address.split("/", 1)[1]
        self.power = PowerLog(self.clock.now())
        self.notices: list[Notice] = []
        self.job: Job | None = None
        self.registered = asyncio.Event()
        self.on_notice: Callable[[Notice], None] | None = None
        self._state = DeviceState.OFF
        self._changed = asyncio.Event()
        self._runner: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[None]] = set()
        self._registration_retry_s = registration_retry_s
        self._offer_numbers = count(1)
        endpoint.on(StartTimeAssignment, self._on_assignment)
        endpoint.on(SlotShift, self._on_slot_shift)
        endpoint.on(SimpleCommand, self._on_command)
        endpoint.on(FlexibilityRequest, self._on_flexibility_request)
        endpoint.on(StatusRequest, self._on_status_request)
        endpoint.on(CostEstimate, self._on_cost_estimate)
        endpoint.on(ConsumptionCapWarning, self._on_cap_warning)

    # ----------------------------------------------------------------------------------------------- kind

    @abstractmethod
    def capabilities(self) -> DeviceCapabilities:
        """What this device declares to the CEM."""

    @abstractmethod
    def _check_schedule(
        self, job: Job, start: datetime, sequence_id: str | None, profile: PowerSeries | None
    ) -> str | None:
        """Why the schedule cannot be followed, or ``None`` when it can (kind-specific limits)."""

    @abstractmethod
    async def _run(self, job: Job) -> None:
        """Run the job's physics from its present progress until it finishes, is paused or aborted."""

    @abstractmethod
    def _remaining_time(self, job: Job) -> timedelta | None:
        """Time until the job is done."""

    # ------------------------------------------------------------------------------------------ lifecycle

    @property
    def state(self) -> DeviceState:
        """The present state."""
        return self._state

    async def power_on(self) -> None:
        """Switch on, start listening and register at the CEM (retrying in the background until it answers)."""
        await self.endpoint.start()
        self._set_state(DeviceState.IDLE)
        self._spawn(self._register())

    async def power_off(self) -> None:
        """Abort any job, stop the background work and leave the bus."""
        if self._state.active:
            self._abort("switched off")
        tasks = [*self._background, *([self._runner] if self._runner else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._state = DeviceState.OFF
        self.power.set(self.clock.now(), 0.0)
        await self.endpoint.close()

    async def _register(self) -> None:
        registration = DeviceRegistration(capabilities=self.capabilities())
        delay = 1.0
        while True:
            try:
                await self.endpoint.deliver(self.cem_address, registration)
            except (DeliveryTimeout, MessageRefused, PeerUnsupported) as error:
                log.warning("%s: registration at %s failed: %s", self.device_id, self.cem_address, error)
                await self.clock.sleep(delay)
                delay = min(delay * 2, self._registration_retry_s)
                continue
            except LinkClosed:
                return
            self.registered.set()
            return

    # -------------------------------------------------------------------------------------- user actions

    def _new_offer_id(self) -> str:
        return f"{self.device_id}-{self.clock.now():%Y%m%dT%H%M%S}-{next(self._offer_numbers)}"

    def _prepare(self, offer_factory: Callable[[ActivationTrigger], FlexibilityOffer]) -> None:
        """Keep the job the user set up; it is offered on activation."""
        if self._state.active:
            raise RuntimeError(f"{self.device_id} is busy ({self._state.value})")
        self._offer_factory = offer_factory
        self._set_state(DeviceState.PROGRAMMED)

    async def activate(self, trigger: ActivationTrigger = ActivationTrigger.USER_BUTTON) -> FlexibilityOffer:
        """Activate the prepared job: offer its flexibility to the CEM and wait for a start (JWG1101)."""
        if self._state is not DeviceState.PROGRAMMED:
            raise RuntimeError(f"{self.device_id} has no prepared job to activate ({self._state.value})")
        offer = self._offer_factory(trigger)
        self.job = Job(offer=offer)
        self._set_state(DeviceState.NEGOTIATING)
        self._runner = asyncio.create_task(self._job_runner(self.job), name=f"job {offer.offer_id}")
        self._spawn(self._send_offer(offer))
        return offer

    def set_timer(self, at: datetime) -> None:
        """Activate the prepared job at ``at`` (the device's own timer, JWG1101 trigger "timer")."""

        async def fire() -> None:
            await self.clock.sleep_until(at)
            if self._state is DeviceState.PROGRAMMED:
                await self.activate(ActivationTrigger.TIMER)

        self._spawn(fire())

    def start_now(self) -> None:
        """The user's override: start at once, whatever the CEM planned (the CEM learns it from the status)."""
        if self._state in {DeviceState.PROGRAMMED, DeviceState.NEGOTIATING, DeviceState.WAITING_FOR_START}:
            if self._state is DeviceState.PROGRAMMED:
                offer = self._offer_factory(ActivationTrigger.USER_BUTTON)
                self.job = Job(offer=offer)
                self._runner = asyncio.create_task(self._job_runner(self.job), name=f"job {offer.offer_id}")
            self._begin_running("user pressed start now")
            return
        raise RuntimeError(f"{self.device_id} cannot start now ({self._state.value})")

    def cancel(self) -> None:
        """The user cancels the job."""
        if not self._state.active:
            raise RuntimeError(f"{self.device_id} has no job to cancel")
        self._abort("cancelled by the user")

    def acknowledge(self) -> None:
        """The user takes out the laundry or unplugs: a finished, aborted or failed job is cleared."""
        if self._state in {DeviceState.FINISHED, DeviceState.ABORTED, DeviceState.FAILED}:
            self._set_state(DeviceState.IDLE)

    # --------------------------------------------------------------------------------------- negotiation

    async def _send_offer(self, offer: FlexibilityOffer) -> None:
        await self.registered.wait()
        try:
            await self.endpoint.deliver(self.cem_address, offer)
        except MessageRefused as refusal:
            self._notify(f"the CEM refused the offer ({refusal}); starting on my own by {offer.latest_start:%H:%M}")
        except (DeliveryTimeout, PeerUnsupported) as error:
            self._notify(f"no answer from the CEM ({error}); starting on my own by {offer.latest_start:%H:%M}")
        except LinkClosed:
            return

    async def _on_flexibility_request(self, request: FlexibilityRequest, envelope: Envelope) -> None:
        if request.device_id != self.device_id:
            raise MessageRefused(f"this is {self.device_id}", "device_id")
        if self._state is DeviceState.PROGRAMMED:
            await self.activate(ActivationTrigger.CEM_REQUEST)
            return
        if self._state in {DeviceState.NEGOTIATING, DeviceState.WAITING_FOR_START} and self.job is not None:
            self._spawn(self._send_offer(self.job.offer))
            return
        raise MessageRefused(f"nothing to offer: the device is {self._state.value}")

    def _schedule_problem(
        self, job: Job, start: datetime, sequence_id: str | None, profile: PowerSeries | None
    ) -> str | None:
        now = self.clock.now()
        offer = job.offer
        if start < now - START_TOLERANCE:
            return f"start {start.isoformat()} is in the past"
        if start < offer.earliest_start - START_TOLERANCE:
            return f"start {start.isoformat()} is before earliest_start {offer.earliest_start.isoformat()}"
        if start > offer.latest_start:
            return f"start {start.isoformat()} is after latest_start {offer.latest_start.isoformat()}"
        return self._check_schedule(job, start, sequence_id, profile)

    async def _on_assignment(self, assignment: StartTimeAssignment, envelope: Envelope) -> None:
        job = self._job_for(assignment.offer_id, assignment.device_id)
        if self._state is not DeviceState.NEGOTIATING:
            raise MessageRefused(f"not waiting for a start time: the device is {self._state.value}")
        start = assignment.start_at(self.clock.now())
        problem = self._schedule_problem(job, start, assignment.sequence_id, assignment.power_limits)
        if problem:
            raise MessageRefused(problem, "start" if "start" in problem else None)
        job.assigned_start = start
        job.sequence_id = assignment.sequence_id
        job.profile = assignment.power_limits
        job.history.append(f"assigned {start.isoformat()}")
        self._set_state(DeviceState.WAITING_FOR_START)
        self._notify(f"scheduled to start at {start:%H:%M} (UTC)")

    async def _on_slot_shift(self, shift: SlotShift, envelope: Envelope) -> SlotShiftResponse:
        def refuse(reason: str) -> SlotShiftResponse:
            return SlotShiftResponse(offer_id=shift.offer_id, device_id=self.device_id, accepted=False, reason=reason)

        job = self.job
        if job is None or job.offer.offer_id != shift.offer_id:
            return refuse(f"no job {shift.offer_id}")
        if self._state.started or job.started_at is not None:
            started = job.started_at.isoformat() if job.started_at else "already"
            return refuse(f"the job has already started ({started}); its schedule can no longer change")
        if self._state not in {DeviceState.NEGOTIATING, DeviceState.WAITING_FOR_START}:
            return refuse(f"the device is {self._state.value}")
        start = shift.start_at(self.clock.now())
        problem = self._schedule_problem(job, start, shift.sequence_id, shift.profile)
        if problem:
            return refuse(problem)
        job.assigned_start = start
        job.sequence_id = shift.sequence_id
        job.profile = shift.profile
        job.history.append(f"shifted to {start.isoformat()}")
        if self._state is DeviceState.NEGOTIATING:
            self._set_state(DeviceState.WAITING_FOR_START)
        else:
            self._changed.set()
            self._report_status()
        self._notify(f"rescheduled to start at {start:%H:%M} (UTC)")
        return SlotShiftResponse(
            offer_id=shift.offer_id, device_id=self.device_id, accepted=True, confirmed_profile=shift.profile
        )

    async def _on_cap_warning(self, warning: ConsumptionCapWarning, envelope: Envelope) -> None:
        """Story JWG4: show the CEM's warning that the run would draw from the grid in the cap window."""
        if warning.device_id != self.device_id:
            raise MessageRefused(f"this is {self.device_id}, not {warning.device_id}", "device_id")
        self._notify(
            f"warning: the run would take {warning.excess_wh:.0f} Wh from the grid (up to {warning.excess_w:.0f} W) "
            "while consumption is capped at own generation"
        )

    async def _on_cost_estimate(self, estimate: CostEstimate, envelope: Envelope) -> None:
        job = self._job_for(estimate.offer_id, estimate.device_id)
        job.cost = estimate
        self._notify(f"expected cost {estimate.expected_cost:.3f} {estimate.currency}")

    def _job_for(self, offer_id: str, device_id: str) -> Job:
        if device_id != self.device_id:
            raise MessageRefused(f"this is {self.device_id}, not {device_id}", "device_id")
        if self.job is None or self.job.offer.offer_id != offer_id:
            raise MessageRefused(f"no job {offer_id}", "offer_id")
        return self.job

    # ------------------------------------------------------------------------------------------ commands

    async def _on_command(self, command: SimpleCommand, envelope: Envelope) -> CommandResult:
        if command.device_id != self.device_id:
            raise MessageRefused(f"this is {self.device_id}", "device_id")
        reason = self._apply_command(command.command)
        return CommandResult(
            device_id=self.device_id,
            command=command.command,
            success=reason is None,
            state=self._state,
            reason=reason,
        )

    def _apply_command(self, command: CommandKind) -> str | None:
        """Carry out a simple command; the reason when it cannot be."""
        state = self._state
        if command is CommandKind.START:
            if state in {DeviceState.PROGRAMMED, DeviceState.NEGOTIATING, DeviceState.WAITING_FOR_START}:
                self.start_now()
                return None
            return f"cannot start: the device is {state.value}"
        if command is CommandKind.PAUSE:
            if state is DeviceState.RUNNING:
                self._set_state(DeviceState.PAUSED)
                return None
            return f"cannot pause: the device is {state.value}"
        if command is CommandKind.RESUME:
            if state is DeviceState.PAUSED:
                self._set_state(DeviceState.RUNNING)
                return None
            return f"cannot resume: the device is {state.value}"
        if command in {CommandKind.ABORT, CommandKind.STOP}:
            if state.active:
                self._abort(f"{command.value} by the CEM")
                return None
            return f"nothing to {command.value}: the device is {state.value}"
        if command is CommandKind.ON:
            return None if state is not DeviceState.OFF else "the device is switched off at the mains"
        if command is CommandKind.OFF:
            if state.active:
                return f"cannot switch off while {state.value}; abort the job first"
            return None
        return f"{command.value} is not supported"

    # --------------------------------------------------------------------------------------------- status

    async def _on_status_request(self, request: StatusRequest, envelope: Envelope) -> DeviceStatus:
        if request.device_id != self.device_id:
            raise MessageRefused(f"this is {self.device_id}", "device_id")
        return self.status()

    def status(self) -> DeviceStatus:
        """The present status."""
        job = self.job if self._state is not DeviceState.IDLE else None
        return DeviceStatus(
            device_id=self.device_id,
            state=self._state,
            at=self.clock.now(),
            offer_id=job.offer.offer_id if job else None,
            programme=self._programme_label(job) if job else None,
            power_w=self.power.power_w,
            energy_wh=max(0.0, job.energy_wh) if job else 0.0,
            remaining_time=self._remaining_time(job) if job and self._state.active else None,
            assigned_start=job.assigned_start if job else None,
            latest_end=job.offer.latest_end if job else None,
            flexible_start=self._state in {DeviceState.NEGOTIATING, DeviceState.WAITING_FOR_START},
            reason=job.history[-1] if job and self._state in {DeviceState.ABORTED, DeviceState.FAILED} else None,
        )

    def _programme_label(self, job: Job) -> str | None:
        return None

    def _report_status(self) -> None:
        status = self.status()
        self._spawn(self._deliver_status(status))

    async def _deliver_status(self, status: DeviceStatus) -> None:
        await self.registered.wait()
        try:
            await self.endpoint.deliver(self.cem_address, status)
        except (DeliveryTimeout, MessageRefused, PeerUnsupported) as error:
            log.info("%s: status not acknowledged: %s", self.device_id, error)
        except LinkClosed:
            return

    # -------------------------------------------------------------------------------------------- running

    def _set_state(self, target: DeviceState) -> None:
        if target is self._state:
            return
        check_transition(self._state, target)
        self._state = target
        self._changed.set()
        if target is not DeviceState.OFF:
            self._report_status()

    def _begin_running(self, why: str) -> None:
        job = self.job
        assert job is not None
        now = self.clock.now()
        if job.started_at is None:
            job.started_at = now
            job.started_by = why
            job.history.append(f"started {now.isoformat()}: {why}")
        self._set_state(DeviceState.RUNNING)

    def _abort(self, why: str) -> None:
        if self.job is not None:
            self.job.history.append(why)
        self.power.set(self.clock.now(), 0.0)
        self._set_state(DeviceState.ABORTED)
        self._notify(f"job aborted: {why}")

    def _finish(self, job: Job) -> None:
        now = self.clock.now()
        job.finished_at = now
        self.power.set(now, self.standby_power_w)
        self._set_state(DeviceState.FINISHED)
        self._notify(f"finished successfully, {job.energy_wh / 1000:.2f} kWh")

    def _fail(self, job: Job, why: str) -> None:
        job.history.append(why)
        self.power.set(self.clock.now(), 0.0)
        self._set_state(DeviceState.FAILED)
        self._notify(f"failed: {why}")

    async def _wait_change(self, until: datetime | None) -> bool:
        """Wait for a state or schedule change, or until ``until``; whether something changed."""
        self._changed.clear()
        if until is None:
            await self._changed.wait()
            return True
        if until <= self.clock.now():
            return False
        # the clock's time, not the event loop's: they differ on a scaled clock (``flexcem up``)
        changed = asyncio.ensure_future(self._changed.wait())
        due = asyncio.ensure_future(self.clock.sleep_until(until))
        try:
            await asyncio.wait((changed, due), return_when=asyncio.FIRST_COMPLETED)
        finally:  # the loser is cancelled and left to finish on its own: the caller goes on at this instant
            for waiter in (changed, due):
                waiter.cancel()
        return changed.done() and not changed.cancelled()

    async def _job_runner(self, job: Job) -> None:
        """Wait for the start (assigned, or the latest start as fail-safe), then run the job."""
        while self._state in {DeviceState.NEGOTIATING, DeviceState.WAITING_FOR_START}:
            if self._state is DeviceState.WAITING_FOR_START and job.assigned_start is not None:
                start_at, why = job.assigned_start, "assigned start time reached"
            else:
                start_at, why = job.offer.latest_start, "no start time from the CEM by the latest start"
            if self.clock.now() >= start_at:
                self._begin_running(why)
                break
            await self._wait_change(start_at)
        if self.job is job and self._state in {DeviceState.RUNNING, DeviceState.PAUSED}:
            await self._run(job)

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _notify(self, text: str) -> None:
        notice = Notice(self.clock.now(), text)
        self.notices.append(notice)
        log.info("%s: %s", self.device_id, text)
        if self.on_notice is not None:
            self.on_notice(notice)
