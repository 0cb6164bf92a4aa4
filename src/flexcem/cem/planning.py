"""From what the CEM knows to a planning problem, and from a plan back to each device's schedule.

Movable jobs become planner devices with their windows narrowed to what is still possible (no start
earlier than now plus the minimum lead time, JWG1102). Running jobs and the base-load forecast become
committed load. A scheduled job carries its confirmed start and the shift threshold as move penalty, so a
re-plan moves it only when that saves more than the threshold.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flexcem.cem.jobs import JobPhase, JobRecord, Schedule
from flexcem.cem.price_book import PriceBook
from flexcem.cem.registry import DeviceRegistry
from flexcem.cem.settings import CemSettings
from flexcem.model import (
    ChargingSessionOffer,
    FlexibleStartOffer,
    PowerSeries,
    PowerSlot,
)
from flexcem.planner import (
    ChargingSessionDevice,
    FlexibleStartDevice,
    LimitSlot,
    Plan,
    PlanningProblem,
    SiteLimits,
)

__all__ = ["build_problem", "committed_load", "floor_to_slot", "job_devices", "keep_confirmed", "schedule_for"]

_EPOCH = datetime(2000, 1, 1).astimezone()


def floor_to_slot(instant: datetime, slot: timedelta) -> datetime:
    """The start of the slot of length ``slot`` that holds ``instant`` (slots aligned on local midnights)."""
    return instant - (instant - _EPOCH) % slot


def _lead_time(job: JobRecord, registry: DeviceRegistry, settings: CemSettings) -> timedelta:
    record = registry.get(job.device_id)
    device_lead = record.capabilities.minimum_lead_time if record else timedelta(0)
    return max(settings.minimum_lead_time, device_lead)


def _planner_device(
    job: JobRecord, now: datetime, lead: timedelta, settings: CemSettings
) -> FlexibleStartDevice | ChargingSessionDevice | None:
    offer = job.offer
    incentive = offer.incentive or settings.default_incentive
    earliest = max(offer.earliest_start, now + lead, job.not_before or offer.earliest_start)
    if isinstance(offer, FlexibleStartOffer):
        confirmed = job.confirmed if job.phase is JobPhase.SCHEDULED else None
        if confirmed is not None and now <= confirmed.start < earliest and job.not_before is None:
            earliest = confirmed.start  # keeping a confirmed start needs no notice; moving it does
        if earliest > offer.latest_start:
            return None  # too late to assign: the device starts on its own by its latest start
        alternatives = tuple(
            sequence for sequence in offer.profile.alternatives if earliest + sequence.duration <= offer.latest_end
        )
        if not alternatives:
            return None
        return FlexibleStartDevice(
            device_id=offer.device_id,
            incentive=incentive,
            earliest_start=earliest,
            latest_start=offer.latest_start,
            latest_end=offer.latest_end,
            alternatives=alternatives,
            committed_start=confirmed.start if confirmed and confirmed.start >= earliest else None,
            committed_sequence_id=confirmed.sequence_id if confirmed and confirmed.start >= earliest else None,
            move_penalty=settings.shift_threshold,
        )
    if earliest >= offer.latest_end:
        return None
    remaining = offer.energy_wh - job.energy_wh
    if remaining <= 0:
        return None
    return ChargingSessionDevice(
        device_id=offer.device_id,
        incentive=incentive,
        earliest_start=earliest,
        latest_end=offer.latest_end,
        energy_wh=remaining,
        max_power_w=offer.max_power_w,
        min_power_w=offer.min_power_w,
        power_curve=offer.power_curve,
    )


def committed_load(now: datetime, running: list[JobRecord], base_load: PowerSeries | None) -> list[PowerSlot]:
    """Load already decided from ``now`` [W]: the rest of each running job, and the base-load forecast."""
    slots: list[PowerSlot] = []
    for job in running:
        offer = job.offer
        if job.confirmed is not None:
            profile = job.confirmed.profile
        elif isinstance(offer, FlexibleStartOffer):
            profile = offer.profile.alternatives[0].at(job.started_at or now)
        else:
            remaining = max(0.0, offer.energy_wh - job.energy_wh)
            hours = remaining / offer.max_power_w
            if hours <= 0:
                continue
            profile = PowerSeries(
                slots=(PowerSlot(start=now, duration=timedelta(hours=hours), power_w=offer.max_power_w),)
            )
        slots.extend(slot for slot in profile.slots if slot.end > now)
    if base_load is not None:
        slots.extend(slot for slot in base_load.slots if slot.end > now)
    return slots


def job_devices(
    now: datetime, jobs: list[JobRecord], registry: DeviceRegistry, settings: CemSettings
) -> tuple[list[FlexibleStartDevice | ChargingSessionDevice], list[JobRecord]]:
    """The planner devices of the movable ``jobs`` that can still be placed, and those jobs."""
    devices: list[FlexibleStartDevice | ChargingSessionDevice] = []
    placed: list[JobRecord] = []
    for job in jobs:
        device = _planner_device(job, now, _lead_time(job, registry, settings), settings)
        if device is not None:
            devices.append(device)
            placed.append(job)
    return devices, placed


def build_problem(
    *,
    now: datetime,
    jobs: list[JobRecord],
    running: list[JobRecord],
    prices: PriceBook,
    base_load: PowerSeries | None,
    settings: CemSettings,
    registry: DeviceRegistry,
    import_limits: tuple[LimitSlot, ...] = (),
    export_limits: tuple[LimitSlot, ...] = (),
) -> tuple[PlanningProblem, list[JobRecord]]:
    """The planning problem for ``jobs`` at ``now``, and the jobs it places (some may be past planning);
    ``import_limits`` and ``export_limits`` are the windows of grid requests (JWG120x)."""
    devices, placed = job_devices(now, jobs, registry, settings)
    start = floor_to_slot(now, settings.slot_duration)
    end = start + settings.slot_duration if not devices else max(job.offer.latest_end for job in placed)
    horizon_end = start + -(-(end - start) // settings.slot_duration) * settings.slot_duration
    view = prices.view(start, horizon_end)
    problem = PlanningProblem(
        start=start,
        slot_duration=settings.slot_duration,
        currency=view.currency,
        prices=view.slots,
        site=SiteLimits(
            import_limit_w=settings.site_import_limit_w,
            export_limit_w=settings.site_export_limit_w,
            import_limits=import_limits,
            export_limits=export_limits,
            committed_load=tuple(committed_load(now, running, base_load)),
        ),
        devices=tuple(devices),
        objective=settings.objective,
        weights=settings.objective_weights,
    )
    return problem, placed


def schedule_for(job: JobRecord, plan: Plan) -> Schedule | None:
    """The schedule the plan gives ``job``: start, chosen sequence and the power profile to follow.

    For a charging session the plan's slot averages are turned back into the charging power during the part
    of each slot inside the session's window, which is what the device follows.
    """
    device_plan = plan.device(job.device_id)
    offer = job.offer
    if device_plan.start is None:
        return None
    if isinstance(offer, FlexibleStartOffer):
        sequence = offer.profile.sequence(device_plan.sequence_id or offer.profile.alternatives[0].sequence_id)
        return Schedule(device_plan.start, sequence.sequence_id, sequence.at(device_plan.start))
    powered = [index for index, power in enumerate(device_plan.power_w) if power > 0.5]
    if not powered:
        return None
    slots = []
    for index in range(powered[0], powered[-1] + 1):
        slot_start = plan.start + index * plan.slot_duration
        inside_start = max(slot_start, device_plan.start)
        inside_end = min(slot_start + plan.slot_duration, offer.latest_end)
        if inside_end <= inside_start:
            continue
        fraction = (inside_end - inside_start) / plan.slot_duration
        power = device_plan.power_w[index] / fraction
        slots.append(PowerSlot(start=inside_start, duration=inside_end - inside_start, power_w=power))
    return Schedule(device_plan.start, None, PowerSeries(slots=tuple(slots)))


def _slot_energy_wh(series: PowerSeries, plan: Plan) -> list[float]:
    """Energy of ``series`` in each planning slot of ``plan`` [Wh]."""
    energies = [0.0] * plan.slot_count
    for slot in series.slots:
        first = max(0, int((slot.start - plan.start) // plan.slot_duration))
        for index in range(first, plan.slot_count):
            slot_start = plan.start + index * plan.slot_duration
            if slot_start >= slot.end:
                break
            overlap = min(slot.end, slot_start + plan.slot_duration) - max(slot.start, slot_start)
            if overlap.total_seconds() > 0:
                energies[index] += slot.power_w * overlap.total_seconds() / 3600.0
    return energies


def keep_confirmed(job: JobRecord, schedule: Schedule, plan: Plan, settings: CemSettings) -> bool:
    """Whether a charging session should keep its confirmed profile rather than shift to ``schedule``.

    It keeps it when the new profile saves no more than ``settings.shift_threshold`` under the plan's prices
    and the confirmed one still fits under the site import limit with everything else the plan holds. (For
    flexible starts the planner itself charges the threshold as a move penalty.)
    """
    confirmed = job.confirmed
    if confirmed is None or not isinstance(job.offer, ChargingSessionOffer):
        return False
    old = _slot_energy_wh(confirmed.profile, plan)
    new = _slot_energy_wh(schedule.profile, plan)
    if sum(old) + 1.0 < sum(new):
        return False
    saving = sum((o - n) * price for o, n, price in zip(old, new, plan.price_per_kwh, strict=True)) / 1000.0
    if saving > settings.shift_threshold:
        return False
    if settings.site_import_limit_w is not None:
        hours = plan.slot_duration.total_seconds() / 3600.0
        for site, o, n in zip(plan.site_power_w, old, new, strict=True):
            if site + (o - n) / hours > settings.site_import_limit_w + 1.0 and (o - n) > 0:
                return False
    return True
