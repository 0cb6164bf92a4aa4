"""Story JWG4 — power limitation to own PV: warn, and let the user postpone or overrule.

"The user caps consumption at local production (PV). Options: time of day, exempt devices. … A starting device
sends its load profile. If the cap would be exceeded, the CEM may warn the device and a display. The user may
postpone or overrule." Tests (digest): predicted load > PV in the window → warning; an exempt device or a run
outside the window → none; an overruled run goes ahead; a postponed run is rescheduled.

After every plan, :class:`ConsumptionCap` looks at each job (flexible start or charging session) that runs in
the day's cap window: where the plan has the site import (consumption beyond the home's own generation and
storage) while the job draws power, the job's device gets a :class:`~flexcem.model.ConsumptionCapWarning` and
the user's display a warning. The user then either overrules (the run goes ahead as planned, no more warnings)
or postpones it (it may not start before the window ends: the CEM re-plans and moves it).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any, Self
from zoneinfo import ZoneInfo

import numpy as np
from pydantic import Field, model_validator

from flexcem.bus import DeliveryTimeout, Endpoint, LinkClosed, MessageRefused, PeerUnsupported
from flexcem.cem.jobs import JobBook, JobRecord
from flexcem.model import ConsumptionCapWarning, FlexibleStartOffer, FlexModel, Identifier
from flexcem.planner import Plan

__all__ = ["CapRule", "CapWarning", "ConsumptionCap"]

_IMPORT_W = 1.0
"""Site import below this [W] is solver noise, not consumption beyond own generation."""


class CapRule(FlexModel):
    """The user's cap: consumption at most own generation between two local times every day."""

    start: time = Field(description="Local time the cap starts (HH:MM).")
    end: time = Field(description="Local time the cap ends (HH:MM); after start.")
    exempt: tuple[Identifier, ...] = Field(default=(), description="Devices the cap does not apply to.")

    @model_validator(mode="after")
    def _order(self) -> Self:
        if self.end <= self.start:
            raise ValueError(f"end {self.end.isoformat()} is not after start {self.start.isoformat()}")
        return self


@dataclass(frozen=True)
class CapWarning:
    """A warning shown to the user: which job, when, and how much it would take from the grid."""

    at: datetime
    device_id: str
    offer_id: str
    window: tuple[datetime, datetime]
    excess_w: float
    excess_wh: float


class ConsumptionCap:
    """Checks every plan against the user's cap, warns, and carries out the user's postpone or overrule."""

    def __init__(
        self,
        endpoint: Endpoint,
        jobs: JobBook,
        rule: Callable[[], CapRule | None],
        zone: Callable[[], ZoneInfo],
        request_replan: Callable[[str], None],
        note: Callable[[str], None],
    ) -> None:
        self._endpoint = endpoint
        self._jobs = jobs
        self._rule = rule
        self._zone = zone
        self._request_replan = request_replan
        self._note = note
        self._warned: set[str] = set()
        self._overruled: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.warnings: list[CapWarning] = []

    def window_of(self, instant: datetime) -> tuple[datetime, datetime] | None:
        """The cap window of the local day of ``instant``; None without a cap."""
        rule = self._rule()
        if rule is None:
            return None
        zone = self._zone()
        day = instant.astimezone(zone).date()
        return datetime.combine(day, rule.start, zone), datetime.combine(day, rule.end, zone)

    def check(self, plan: Plan) -> list[CapWarning]:
        """Warn about every job ``plan`` runs beyond own generation in a cap window (once per job)."""
        rule = self._rule()
        if rule is None:
            return []
        found: list[CapWarning] = []
        site = np.array(plan.site_power_w)
        starts = plan.slot_starts
        hours = plan.slot_duration.total_seconds() / 3600.0
        for job in self._jobs.all():
            if job.phase.closed or job.device_id in rule.exempt or job.offer_id in self._overruled:
                continue
            if job.offer_id in self._warned or job.device_id not in {d.device_id for d in plan.devices}:
                continue
            power = np.array(plan.device(job.device_id).power_w)
            for window in {w for k, at in enumerate(starts) if power[k] > 0.0 and (w := self.window_of(at))}:
                inside = np.array([window[0] <= at < window[1] for at in starts])
                beyond = inside & (power > 0.0) & (site > _IMPORT_W)
                if beyond.any():
                    excess = np.minimum(site[beyond], power[beyond])
                    warning = CapWarning(
                        at=plan.start,
                        device_id=job.device_id,
                        offer_id=job.offer_id,
                        window=window,
                        excess_w=float(excess.max()),
                        excess_wh=float(excess.sum() * hours),
                    )
                    found.append(warning)
                    self._warn(job, warning)
                    break
        return found

    def _warn(self, job: JobRecord, warning: CapWarning) -> None:
        self._warned.add(job.offer_id)
        self.warnings.append(warning)
        self._note(
            f"warning: {job.device_id} would take {warning.excess_wh:.0f} Wh from the grid (up to "
            f"{warning.excess_w:.0f} W) while consumption is capped at own generation; postpone or overrule"
        )
        message = ConsumptionCapWarning(
            device_id=job.device_id,
            offer_id=job.offer_id,
            window_start=warning.window[0],
            window_end=warning.window[1],
            excess_w=warning.excess_w,
            excess_wh=warning.excess_wh,
        )
        self._spawn(self._tell(job.device_address, message))

    async def _tell(self, address: str, message: ConsumptionCapWarning) -> None:
        try:
            await self._endpoint.deliver(address, message)
        except (DeliveryTimeout, MessageRefused, PeerUnsupported, LinkClosed) as error:
            self._note(f"the cap warning did not reach {message.device_id}: {error}")

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _warned_job(self, device_id: str) -> JobRecord:
        for job in self._jobs.all():
            if job.device_id == device_id and job.offer_id in self._warned and job.phase.movable:
                return job
        raise ValueError(f"device_id {device_id!r} has no warned job waiting to start")

    def overrule(self, device_id: str) -> None:
        """The user lets the warned run go ahead as planned."""
        job = self._warned_job(device_id)
        self._overruled.add(job.offer_id)
        self._note(f"the user overruled the cap for {device_id}: it runs as planned")

    def postpone(self, device_id: str) -> datetime:
        """The user postpones the warned run past the cap window; the CEM re-plans it. Returns its new earliest
        start. Raises :class:`ValueError` naming ``device_id`` when the run cannot start that late."""
        job = self._warned_job(device_id)
        warning = next(w for w in reversed(self.warnings) if w.offer_id == job.offer_id)
        after = warning.window[1]
        offer = job.offer
        last_start = offer.latest_start if isinstance(offer, FlexibleStartOffer) else offer.latest_end
        if after >= last_start:
            raise ValueError(
                f"device_id {device_id!r} must start by {last_start.isoformat()}: it cannot wait until "
                f"{after.isoformat()}"
            )
        job.not_before = after
        self._warned.discard(job.offer_id)
        self._note(f"the user postponed {device_id} until {after.isoformat()}")
        self._request_replan(f"{device_id} postponed past the cap window")
        return after
