"""Programme appliances with a flexible start: washing machine, dishwasher, tumble dryer (JWG1100–1103).

The user loads the appliance, picks a programme and the time it must be done by, and presses start; the
appliance offers the start window and the programme's power profile (with its variants) to the CEM, waits
for the assigned start and runs the chosen variant phase by phase. A paused programme holds its progress.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flexcem.bus import Endpoint
from flexcem.devices.agent import DeviceAgent, Job
from flexcem.devices.programmes import DISHWASHER_PROGRAMMES, DRYER_PROGRAMMES, WASHER_PROGRAMMES, Programme
from flexcem.model import (
    ActivationTrigger,
    CommandKind,
    DeviceCapabilities,
    DeviceFunction,
    DeviceKind,
    DeviceState,
    FlexibleStartOffer,
    IncentiveProgram,
    PowerProfile,
    PowerSequence,
    PowerSeries,
)

__all__ = ["Dishwasher", "ProgrammeAppliance", "TumbleDryer", "WashingMachine"]

POWER_TOLERANCE_W = 1.0
"""Slack when comparing a programme's power with the power a profile allows [W]."""


class ProgrammeAppliance(DeviceAgent):
    """An appliance that runs programmes as a whole once started."""

    programmes: dict[str, Programme]
    manufacturer = "flexcem"

    def __init__(self, endpoint: Endpoint, cem_address: str, *, max_power_w: float = 2300.0, **kwargs: float) -> None:
        super().__init__(endpoint, cem_address, **kwargs)
        self.max_power_w = max_power_w
        self.programme: Programme | None = None

    def capabilities(self) -> DeviceCapabilities:
        """Flexible start with slot shifts, simple commands and status."""
        return DeviceCapabilities(
            device_id=self.device_id,
            kind=self.kind,
            manufacturer=self.manufacturer,
            model=f"{self.kind.value}-sim",
            functions=(
                DeviceFunction.FLEXIBLE_START,
                DeviceFunction.SLOT_SHIFT,
                DeviceFunction.SIMPLE_COMMANDS,
                DeviceFunction.STATUS_REPORT,
                DeviceFunction.POWER_MEASUREMENT,
            ),
            commands=(
                CommandKind.START,
                CommandKind.PAUSE,
                CommandKind.RESUME,
                CommandKind.ABORT,
                CommandKind.STOP,
            ),
            max_power_w=self.max_power_w,
        )

    def prepare(
        self,
        programme: str,
        *,
        latest_end: datetime,
        earliest_start: datetime | None = None,
        incentive: IncentiveProgram | None = None,
        variants: tuple[str, ...] | None = None,
    ) -> None:
        """The user loads the appliance, picks ``programme`` and the time it must be done by.

        ``variants`` restricts the variants offered (all of them by default).
        """
        try:
            chosen = self.programmes[programme]
        except KeyError:
            known = ", ".join(sorted(self.programmes))
            raise ValueError(f"unknown programme {programme!r}; this {self.kind.value} knows {known}") from None
        sequences = tuple(
            sequence
            for sequence in chosen.variants
            if variants is None or sequence.sequence_id.split(".", 1)[1] in variants
        )
        if not sequences:
            raise ValueError(f"none of the variants {variants} exists for {programme}")

        def offer(trigger: ActivationTrigger) -> FlexibleStartOffer:
            now = self.clock.now()
            start = max(now, earliest_start or now)
            fitting = tuple(sequence for sequence in sequences if start + sequence.duration <= latest_end)
            if not fitting:
                raise ValueError(f"{chosen.label} cannot be done by {latest_end.isoformat()} any more")
            preferred = fitting[0].duration
            return FlexibleStartOffer(
                offer_id=self._new_offer_id(),
                device_id=self.device_id,
                trigger=trigger,
                earliest_start=start,
                latest_start=latest_end - preferred,
                latest_end=latest_end,
                programme_duration=preferred,
                profile=PowerProfile(alternatives=fitting),
                programme=chosen.label,
                incentive=incentive,
            )

        self.programme = chosen
        self._prepare(offer)

    def _offer(self, job: Job) -> FlexibleStartOffer:
        assert isinstance(job.offer, FlexibleStartOffer)
        return job.offer

    def _sequence(self, job: Job) -> PowerSequence:
        profile = self._offer(job).profile
        if job.sequence_id is None:
            return profile.alternatives[0]
        return profile.sequence(job.sequence_id)

    def _programme_label(self, job: Job) -> str | None:
        return self._sequence(job).label

    def _check_schedule(
        self, job: Job, start: datetime, sequence_id: str | None, profile: PowerSeries | None
    ) -> str | None:
        offer = self._offer(job)
        try:
            sequence = offer.profile.alternatives[0] if sequence_id is None else offer.profile.sequence(sequence_id)
        except KeyError:
            return f"unknown sequence {sequence_id!r}"
        if start + sequence.duration > offer.latest_end:
            return (
                f"{sequence.sequence_id} started at {start.isoformat()} would end after latest_end "
                f"{offer.latest_end.isoformat()}"
            )
        if profile is None:
            return None
        return self._exceeds(sequence.at(start), profile)

    @staticmethod
    def _exceeds(needed: PowerSeries, allowed: PowerSeries) -> str | None:
        """Whether running ``needed`` would exceed the slot power of ``allowed`` somewhere (JWG1103)."""
        for phase in needed.slots:
            cursor = phase.start
            while cursor < phase.end:
                slot = allowed.slot_at(cursor)
                if slot is None:
                    return f"the profile does not cover {cursor.isoformat()}, when the programme still runs"
                if phase.power_w > slot.power_w + POWER_TOLERANCE_W:
                    return (
                        f"the programme needs {phase.power_w:.0f} W at {cursor.isoformat()} but the profile "
                        f"allows {slot.power_w:.0f} W"
                    )
                cursor = min(phase.end, slot.end)
        return None

    def _remaining_time(self, job: Job) -> timedelta | None:
        total = self._sequence(job).duration
        if self.state is DeviceState.WAITING_FOR_START and job.assigned_start is not None:
            return max(timedelta(0), job.assigned_start - self.clock.now()) + total
        if self.state is DeviceState.NEGOTIATING:
            return max(timedelta(0), job.offer.latest_start - self.clock.now()) + total
        return max(timedelta(0), total - job.elapsed)

    async def _run(self, job: Job) -> None:
        sequence = self._sequence(job)
        while True:
            now = self.clock.now()
            if self.state in {DeviceState.ABORTED, DeviceState.FAILED} or self.job is not job:
                return
            if self.state is DeviceState.PAUSED:
                self.power.set(now, self.standby_power_w)
                await self._wait_change(None)
                continue
            offset = timedelta(0)
            phase_end: timedelta | None = None
            power_w = 0.0
            for slot in sequence.slots:
                offset += slot.duration
                if job.elapsed < offset:
                    phase_end, power_w = offset, slot.power_w
                    break
            if phase_end is None:
                self._finish(job)
                return
            self.power.set(now, power_w)
            await self._wait_change(now + (phase_end - job.elapsed))
            later = self.clock.now()
            job.elapsed += later - now
            job.energy_wh += power_w * (later - now).total_seconds() / 3600.0


class WashingMachine(ProgrammeAppliance):
    """A 7 kg washing machine with a 2 kW heater."""

    kind = DeviceKind.WASHING_MACHINE
    programmes = WASHER_PROGRAMMES


class Dishwasher(ProgrammeAppliance):
    """A 13-place dishwasher with a 2 kW heater."""

    kind = DeviceKind.DISHWASHER
    programmes = DISHWASHER_PROGRAMMES


class TumbleDryer(ProgrammeAppliance):
    """A heat-pump tumble dryer."""

    kind = DeviceKind.TUMBLE_DRYER
    programmes = DRYER_PROGRAMMES
