"""The jobs the CEM plans: every flexibility offer with what was agreed and what the device reports.

A job moves from *offered* (the device is negotiating) to *scheduled* (the device accepted a start) to
*running*, then *finished*, *aborted* or *failed*. Only offered and scheduled jobs are moved by a re-plan; a
running job is committed load. The last schedule a device confirmed is kept apart from the plan's proposal,
so that a refused or unanswered update leaves the plan with what the device will really do (JWG1103).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from flexcem.model import (
    ChargingSessionOffer,
    CostEstimate,
    DeviceState,
    DeviceStatus,
    FlexibleStartOffer,
    PowerSeries,
)

__all__ = ["JobBook", "JobPhase", "JobRecord", "Schedule"]

Offer = FlexibleStartOffer | ChargingSessionOffer


class JobPhase(StrEnum):
    """Where a job stands, as the CEM sees it."""

    OFFERED = "offered"
    SCHEDULED = "scheduled"
    RUNNING = "running"
    FINISHED = "finished"
    ABORTED = "aborted"
    FAILED = "failed"

    @property
    def movable(self) -> bool:
        """Whether a re-plan may still move the job."""
        return self in {JobPhase.OFFERED, JobPhase.SCHEDULED}

    @property
    def closed(self) -> bool:
        """Whether the job is over."""
        return self in {JobPhase.FINISHED, JobPhase.ABORTED, JobPhase.FAILED}


_PHASE_OF_STATE = {
    DeviceState.WAITING_FOR_START: JobPhase.SCHEDULED,
    DeviceState.RUNNING: JobPhase.RUNNING,
    DeviceState.PAUSED: JobPhase.RUNNING,
    DeviceState.FINISHED: JobPhase.FINISHED,
    DeviceState.ABORTED: JobPhase.ABORTED,
    DeviceState.FAILED: JobPhase.FAILED,
}


@dataclass(frozen=True)
class Schedule:
    """A start with the chosen alternative and the power profile the device follows (absolute time)."""

    start: datetime
    sequence_id: str | None
    profile: PowerSeries

    def same_as(self, other: Schedule | None) -> bool:
        """Whether ``other`` asks the device for the same thing."""
        return other is not None and (self.start, self.sequence_id, self.profile) == (
            other.start,
            other.sequence_id,
            other.profile,
        )


@dataclass
class JobRecord:
    """One offered job."""

    offer: Offer
    device_address: str
    received_at: datetime
    phase: JobPhase = JobPhase.OFFERED
    confirmed: Schedule | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    energy_wh: float = 0.0
    expected: CostEstimate | None = None
    not_before: datetime | None = None
    """The user postponed the job: it may not start before this (story JWG4)."""
    log: list[str] = field(default_factory=list)

    @property
    def offer_id(self) -> str:
        """The offer's id."""
        return self.offer.offer_id

    @property
    def device_id(self) -> str:
        """The offering device."""
        return self.offer.device_id

    def went_as_planned(self, tolerance: timedelta) -> bool:
        """Whether the job's last change is what the confirmed schedule foresaw: it started within ``tolerance``
        of the confirmed start or finished within ``tolerance`` of the schedule's end. Such a change leaves the
        plan as it was (the plan counted on it), so it needs no re-plan; an early or late start or end, an
        abort or a failure does."""
        schedule = self.confirmed
        if schedule is None or self.started_at is None or abs(self.started_at - schedule.start) > tolerance:
            return False
        if self.phase is JobPhase.RUNNING:
            return True
        if self.phase is JobPhase.FINISHED and self.finished_at is not None:
            return abs(self.finished_at - schedule.profile.end) <= tolerance
        return False

    def apply_status(self, status: DeviceStatus) -> bool:
        """Take a device status; whether the job's phase changed."""
        phase = _PHASE_OF_STATE.get(status.state)
        self.energy_wh = max(self.energy_wh, status.energy_wh)
        if phase is None or phase is self.phase or self.phase.closed:
            return False
        if phase is JobPhase.SCHEDULED and self.phase is not JobPhase.OFFERED:
            return False
        if phase is JobPhase.RUNNING and self.started_at is None:
            self.started_at = status.at
        if phase.closed:
            self.finished_at = status.at
        self.phase = phase
        self.log.append(f"{status.at.isoformat()} {phase.value}")
        return True


class JobBook:
    """All jobs by offer id, newest offer per device first."""

    def __init__(self) -> None:
        self._jobs: dict[str, JobRecord] = {}

    def add(self, record: JobRecord) -> bool:
        """Add a new job, or keep the existing one for a repeated offer; whether it was new.

        An older open job of the same device is superseded: a device runs one job at a time.
        """
        if record.offer_id in self._jobs:
            return False
        for other in self._jobs.values():
            if other.device_id == record.device_id and other.phase.movable:
                other.phase = JobPhase.ABORTED
                other.log.append(f"superseded by {record.offer_id}")
        self._jobs[record.offer_id] = record
        return True

    def get(self, offer_id: str) -> JobRecord | None:
        """The job with ``offer_id``."""
        return self._jobs.get(offer_id)

    def current(self, device_id: str) -> JobRecord | None:
        """The device's latest job that is not closed."""
        for record in reversed(self._jobs.values()):
            if record.device_id == device_id and not record.phase.closed:
                return record
        return None

    def movable(self) -> list[JobRecord]:
        """Jobs a plan may place or move."""
        return [record for record in self._jobs.values() if record.phase.movable]

    def running(self) -> list[JobRecord]:
        """Jobs under way."""
        return [record for record in self._jobs.values() if record.phase is JobPhase.RUNNING]

    def all(self) -> list[JobRecord]:
        """Every job, oldest first."""
        return list(self._jobs.values())

    def forget_closed_before(self, instant: datetime) -> None:
        """Drop jobs that closed before ``instant``."""
        self._jobs = {
            key: record
            for key, record in self._jobs.items()
            if not (record.phase.closed and record.finished_at is not None and record.finished_at < instant)
        }
