"""From what a :class:`~flexcem.cem.CustomerEnergyManager` holds to what the household API shows.

Everything here reads the CEM's public objects (registry, job book, price books, plan, proposal, home book,
journal, metering) and changes nothing. Units as in :mod:`flexcem.web.cem_models`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TypeVar

from flexcem.cem import CustomerEnergyManager
from flexcem.cem.jobs import JobPhase, JobRecord
from flexcem.cem.price_book import PriceBook
from flexcem.cem.registry import DeviceRecord
from flexcem.cem.user_actions import HouseholdActions
from flexcem.model import (
    ChargingSessionOffer,
    CommandKind,
    DeviceStatus,
    FlexibleStartOffer,
    GenerationForecast,
    LoadForecast,
    PowerSeries,
    PowerSlot,
)
from flexcem.planner import Plan
from flexcem.web.cem_models import (
    CostOut,
    DeviceCostOut,
    DeviceOut,
    DevicePlanOut,
    ForecastOut,
    HistoryOut,
    JobOut,
    PlanOut,
    PricePoint,
    PricesOut,
    SeriesPoint,
    SetpointScheduleOut,
    StatusOut,
)

T = TypeVar("T")

__all__ = [
    "cost_out",
    "current_plan",
    "device_out",
    "forecast_out",
    "history_from_memory",
    "job_out",
    "plan_out",
    "prices_out",
    "series_points",
    "uncontrolled_cost",
]


def series_points(
    slots: Iterable[PowerSlot], start: datetime | None = None, end: datetime | None = None
) -> list[SeriesPoint]:
    """Power slots [W] clipped to ``[start, end)`` as points."""
    points = []
    for slot in slots:
        if (end is not None and slot.start >= end) or (start is not None and slot.end <= start):
            continue
        points.append(SeriesPoint(start=slot.start, duration_s=slot.duration.total_seconds(), value=slot.power_w))
    return points


def _planned(cem: CustomerEnergyManager) -> Plan | None:
    proposal = cem.proposal
    if proposal is not None and proposal.committed_at is None:
        return proposal.plan
    return cem.plan


def job_out(cem: CustomerEnergyManager, job: JobRecord) -> JobOut:
    """A job with its planned start (proposal or plan) and what the user asked of it."""
    offer = job.offer
    plan = _planned(cem)
    planned = None
    if plan is not None and job.phase.movable:
        device = next((d for d in plan.devices if d.device_id == job.device_id), None)
        planned = device.start if device is not None else None
    return JobOut(
        offer_id=job.offer_id,
        phase=job.phase.value,
        programme=offer.programme if isinstance(offer, FlexibleStartOffer) else None,
        earliest_start=offer.earliest_start,
        latest_start=offer.latest_start if isinstance(offer, FlexibleStartOffer) else None,
        latest_end=offer.latest_end,
        planned_start=planned,
        confirmed_start=job.confirmed.start if job.confirmed else None,
        not_before=job.not_before,
        started_at=job.started_at,
        finished_at=job.finished_at,
        energy_wh=job.energy_wh,
        expected_cost=job.expected.expected_cost if job.expected else None,
    )


def _latest_job(cem: CustomerEnergyManager, device_id: str) -> JobRecord | None:
    current = cem.jobs.current(device_id)
    if current is not None:
        return current
    return next((job for job in reversed(cem.jobs.all()) if job.device_id == device_id), None)


def device_out(cem: CustomerEnergyManager, actions: HouseholdActions, record: DeviceRecord) -> DeviceOut:
    """One registered device with its status, job and the actions that apply now."""
    status = record.status
    job = _latest_job(cem, record.device_id)
    plan = _planned(cem)
    planned = plan is not None and any(
        d.device_id == record.device_id and any(abs(p) > 0.5 for p in d.power_w) for d in plan.devices
    )
    commands = record.capabilities.commands
    held = actions.held_until(record.device_id)
    available = []
    if job is not None and job.phase.movable:
        if CommandKind.START in commands:
            available.append("start_now")
        available.append("postpone")
        if CommandKind.ABORT in commands:
            available.append("dont_run")
    elif cem.home.book.get(record.device_id) is not None:
        available.append("release" if held else "dont_run")
    latest = cem.grid_side.status.latest.get(record.device_id)
    details = None if latest is None or isinstance(latest, DeviceStatus) else latest.model_dump(mode="json")
    return DeviceOut(
        device_id=record.device_id,
        details=details,
        kind=record.capabilities.kind.value,
        address=record.address,
        functions=[f.value for f in record.capabilities.functions],
        commands=[c.value for c in commands],
        max_power_w=record.capabilities.max_power_w,
        registered_at=record.registered_at,
        last_seen=record.last_seen,
        status=None
        if status is None
        else StatusOut(
            state=status.state.value,
            at=status.at,
            power_w=status.power_w,
            energy_wh=status.energy_wh,
            programme=status.programme,
            offer_id=status.offer_id,
            assigned_start=status.assigned_start,
            latest_end=status.latest_end,
            remaining_time_s=status.remaining_time.total_seconds() if status.remaining_time else None,
        ),
        job=None if job is None else job_out(cem, job),
        planned=planned,
        held_until=held,
        actions=available,
    )


def generation_forecast(cem: CustomerEnergyManager) -> list[PowerSlot]:
    """The generators' latest forecasts [W, negative] (PV and any other described generator)."""
    slots: list[PowerSlot] = []
    for description in cem.home.book.descriptions():
        if isinstance(description, GenerationForecast):
            slots.extend(description.forecast.slots)
    return _summed(slots)


def _summed(slots: list[PowerSlot]) -> list[PowerSlot]:
    """Overlapping slots added up into contiguous pieces."""
    edges = sorted({slot.start for slot in slots} | {slot.end for slot in slots})
    out: list[PowerSlot] = []
    for left, right in itertools.pairwise(edges):
        value = sum(slot.power_w for slot in slots if slot.start <= left < slot.end)
        if any(slot.start <= left < slot.end for slot in slots):
            out.append(PowerSlot(start=left, duration=right - left, power_w=value))
    return out


def current_plan(cem: CustomerEnergyManager) -> tuple[Plan, str] | None:
    """The proposal waiting for the commit, else the adopted plan, with its source name."""
    proposal = cem.proposal
    if proposal is not None and proposal.committed_at is None:
        return proposal.plan, "proposal"
    if cem.plan is not None:
        return cem.plan, "plan"
    return None


def plan_out(cem: CustomerEnergyManager, plan: Plan, source: str) -> PlanOut:
    """A plan with per-device starts, powers and set points, prices and the PV forecast over its horizon."""
    proposal = cem.proposal if source == "proposal" else None
    home = (
        proposal.home
        if proposal is not None
        else cem.home.last
        if cem.home.last and cem.home.last.plan is plan
        else None
    )
    setpoints: dict[str, list[SetpointScheduleOut]] = {}
    for schedule in home.schedules if home is not None else []:
        setpoints.setdefault(schedule.device_id, []).append(
            SetpointScheduleOut(
                schedule_id=schedule.schedule_id,
                circuit=schedule.circuit.value,
                points=series_points(schedule.schedule.slots),
            )
        )
    return PlanOut(
        source="proposal" if source == "proposal" else "plan",
        proposal_id=proposal.proposal_id if proposal else None,
        committed=None if proposal is None else proposal.committed_at is not None,
        start=plan.start,
        end=plan.end,
        slot_duration_s=plan.slot_duration.total_seconds(),
        slot_starts=list(plan.slot_starts),
        currency=plan.currency,
        site_power_w=list(plan.site_power_w),
        price_per_kwh=list(plan.price_per_kwh),
        export_price_per_kwh=list(plan.export_price_per_kwh),
        total_cost=plan.total_cost,
        devices=[
            DevicePlanOut(
                device_id=d.device_id,
                kind=d.kind,
                start=d.start,
                end=d.end,
                sequence_id=d.sequence_id,
                energy_wh=d.energy_wh,
                cost=d.cost,
                power_w=list(d.power_w),
                setpoints=setpoints.get(d.device_id, []),
            )
            for d in plan.devices
        ],
        pv_forecast=series_points(generation_forecast(cem), plan.start, plan.end),
        violations=[v.message for v in plan.violations],
    )


def _price_points(book: PriceBook, start: datetime, end: datetime) -> list[PricePoint]:
    if not book.profiles or end <= start:
        return []
    return [
        PricePoint(start=s.start, end=s.end, price_per_kwh=s.price_per_kwh, co2_g_per_kwh=s.co2_g_per_kwh)
        for s in book.view(start, end).slots
        if book.price_at(s.start) is not None
    ]


def known_price_range(cem: CustomerEnergyManager) -> tuple[datetime, datetime]:
    """The local day of now to the end of the known tariff (at least the end of that day)."""
    now = cem.clock.now()
    zone = cem.settings.zone
    day = now.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)
    end = day + timedelta(days=1)
    if cem.prices.profiles:
        end = max(end, max(profile.end for profile in cem.prices.profiles))
    return day, end


def prices_out(cem: CustomerEnergyManager, start: datetime, end: datetime) -> PricesOut:
    """Known consumption and feed-in prices in ``[start, end)`` (gaps left out, not assumed)."""
    return PricesOut(
        currency=cem.prices.currency,
        start=start,
        end=end,
        slots=_price_points(cem.prices, start, end),
        feed_in=_price_points(cem.home.feed_in, start, end),
    )


def forecast_out(cem: CustomerEnergyManager, start: datetime, end: datetime) -> ForecastOut:
    """PV and base-load forecasts and the planned site power in ``[start, end)``."""
    base: list[PowerSlot] = []
    if cem.base_load_forecast is not None:
        base = list(cem.base_load_forecast.slots)
    else:
        for description in cem.home.book.descriptions():
            if isinstance(description, LoadForecast):
                base.extend(description.forecast.slots)
        base = _summed(base)
    found = current_plan(cem)
    planned: list[PowerSlot] = []
    if found is not None:
        plan = found[0]
        planned = [
            PowerSlot(start=at, duration=plan.slot_duration, power_w=w)
            for at, w in zip(plan.slot_starts, plan.site_power_w, strict=True)
        ]
    return ForecastOut(
        start=start,
        end=end,
        pv_forecast=series_points(generation_forecast(cem), start, end),
        base_load_forecast=series_points(base, start, end),
        planned_site_power=series_points(planned, start, end),
        consumption_forecast=series_points(_consumption_forecast(cem, start, end), start, end),
    )


def _consumption_forecast(cem: CustomerEnergyManager, start: datetime, end: datetime) -> list[PowerSlot]:
    """The CEM's hourly consumption forecast from now to ``end`` (JWG10)."""
    hours = math.ceil((end - max(start, cem.clock.now())).total_seconds() / 3600.0)
    return list(cem.consumption.forecast(hours).slots) if hours > 0 else []


def _cost_of(series: PowerSeries, book: PriceBook) -> float | None:
    """Energy of ``series`` at the book's prices [currency]; None where a price is unknown."""
    total = 0.0
    for slot in series.slots:
        cursor = slot.start
        while cursor < slot.end:
            price = book.price_at(cursor)
            if price is None:
                return None
            stop = min(slot.end, price.end)
            total += slot.power_w * (stop - cursor).total_seconds() / 3600.0 / 1000.0 * price.price_per_kwh
            cursor = stop
    return total


def uncontrolled_cost(job: JobRecord, book: PriceBook, sequence_id: str | None) -> float | None:
    """What ``job`` would cost started at its earliest start without a CEM (the device's own behaviour when the
    user presses start) [currency]; None when the prices of that time are not known."""
    offer = job.offer
    if isinstance(offer, FlexibleStartOffer):
        try:
            sequence = offer.profile.sequence(sequence_id) if sequence_id else offer.profile.alternatives[0]
        except KeyError:
            sequence = offer.profile.alternatives[0]
        return _cost_of(sequence.at(offer.earliest_start), book)
    assert isinstance(offer, ChargingSessionOffer)
    hours = offer.energy_wh / offer.max_power_w
    series = PowerSeries(
        slots=(PowerSlot(start=offer.earliest_start, duration=timedelta(hours=hours), power_w=offer.max_power_w),)
    )
    return _cost_of(series, book)


def cost_out(cem: CustomerEnergyManager) -> CostOut:
    """Each planned device's expected cost, and for planned jobs the saving against starting at once."""
    found = current_plan(cem)
    if found is None:
        return CostOut(
            currency=cem.prices.currency,
            plan_total_cost=None,
            devices=[],
            saving=None,
            saving_basis="no plan yet",
            yearly_cost=cem.consumption.yearly_cost(),
        )
    plan = found[0]
    jobs = {job.device_id: job for job in cem.jobs.all() if job.phase in {JobPhase.OFFERED, JobPhase.SCHEDULED}}
    devices = []
    savings = []
    for d in plan.devices:
        job = jobs.get(d.device_id)
        baseline = uncontrolled_cost(job, cem.prices, d.sequence_id) if job is not None else None
        saving = None if baseline is None else baseline - d.cost
        if saving is not None:
            savings.append(saving)
        devices.append(
            DeviceCostOut(
                device_id=d.device_id,
                planned_cost=d.cost,
                energy_wh=d.energy_wh,
                uncontrolled_cost=baseline,
                saving=saving,
            )
        )
    return CostOut(
        currency=plan.currency,
        plan_total_cost=plan.total_cost,
        devices=devices,
        saving=sum(savings) if savings else None,
        saving_basis="planned jobs against starting each at its earliest start (no control); "
        "devices planned by set points have no known uncontrolled cost",
        yearly_cost=cem.consumption.yearly_cost(),
    )


def _with_next(items: list[T]) -> list[tuple[T, T | None]]:
    """Each item with the one after it (None after the last)."""
    return [(item, items[k + 1] if k + 1 < len(items) else None) for k, item in enumerate(items)]


def history_from_memory(cem: CustomerEnergyManager, start: datetime, end: datetime) -> HistoryOut:
    """What the CEM holds in memory about ``[start, end)``: meter readings, the plans in force, the jobs."""
    readings = [r for r in cem.grid_side.metering.readings if start <= r.at < end]
    site = [
        SeriesPoint(start=r.at, duration_s=(nxt.at - r.at).total_seconds() if nxt else 0.0, value=r.power_w)
        for r, nxt in _with_next(readings)
    ]
    planned: list[SeriesPoint] = []
    adopted = list(cem.plan_history)
    for (at, plan), following in _with_next(adopted):
        until = following[0] if following else end
        for slot_start, w in zip(plan.slot_starts, plan.site_power_w, strict=True):
            slot_end = slot_start + plan.slot_duration
            if slot_end <= max(at, start) or slot_start >= min(until, end):
                continue
            planned.append(SeriesPoint(start=slot_start, duration_s=plan.slot_duration.total_seconds(), value=w))
    jobs = [
        job for job in cem.jobs.all() if (job.finished_at is None or job.finished_at >= start) and job.received_at < end
    ]
    return HistoryOut(
        source="cem-memory",
        start=start,
        end=end,
        site_power=site,
        planned_site_power=planned,
        jobs=[job_out(cem, job) for job in jobs],
        device_ids=[job.device_id for job in jobs],
    )
