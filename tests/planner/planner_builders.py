"""Small builders for planner tests: times, prices, programmes, devices, problems."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from flexcem.model.flexibility import ChargeCurvePoint, IncentiveProgram
from flexcem.model.power_profile import Direction, PowerSequence, ProfileSlot
from flexcem.model.tariff import PriceSlot
from flexcem.model.timeseries import PowerSlot
from flexcem.planner import ChargingSessionDevice, FlexibleStartDevice, PlanningProblem, SiteLimits

T0 = datetime(2024, 3, 4, 12, 0, tzinfo=timezone(timedelta(hours=1)))
"""A Monday noon in Central European Time."""


def at(hours: float = 0.0, minutes: float = 0.0) -> datetime:
    """``T0`` plus an offset."""
    return T0 + timedelta(hours=hours, minutes=minutes)


def minutes(value: float) -> timedelta:
    """A duration in minutes."""
    return timedelta(minutes=value)


def prices(
    values: Sequence[float],
    co2: Sequence[float] | None = None,
    *,
    start: datetime = T0,
    slot: timedelta = timedelta(hours=1),
) -> tuple[PriceSlot, ...]:
    """Contiguous price slots from ``start``."""
    return tuple(
        PriceSlot(
            start=start + index * slot,
            duration=slot,
            price_per_kwh=value,
            co2_g_per_kwh=None if co2 is None else co2[index],
        )
        for index, value in enumerate(values)
    )


def sequence(
    sequence_id: str, *phases: tuple[float, float], direction: Direction = Direction.CONSUMPTION
) -> PowerSequence:
    """A power sequence from (minutes, watts) phases."""
    return PowerSequence(
        sequence_id=sequence_id,
        direction=direction,
        slots=tuple(ProfileSlot(duration=minutes(m), power_w=w) for m, w in phases),
    )


def flexible(
    device_id: str,
    earliest: datetime,
    latest_start: datetime,
    latest_end: datetime,
    *alternatives: PowerSequence,
    **extra: Any,
) -> FlexibleStartDevice:
    """A flexible-start device."""
    return FlexibleStartDevice(
        device_id=device_id,
        earliest_start=earliest,
        latest_start=latest_start,
        latest_end=latest_end,
        alternatives=alternatives,
        **extra,
    )


def ev(
    earliest: datetime,
    latest_end: datetime,
    energy_wh: float,
    *,
    max_power_w: float = 11_000.0,
    min_power_w: float = 0.0,
    curve: Sequence[tuple[float, float]] = (),
    device_id: str = "ev",
    incentive: IncentiveProgram = IncentiveProgram.CHEAPEST,
) -> ChargingSessionDevice:
    """A charging session; ``curve`` as (energy_wh, max_power_w) points."""
    return ChargingSessionDevice(
        device_id=device_id,
        earliest_start=earliest,
        latest_end=latest_end,
        energy_wh=energy_wh,
        max_power_w=max_power_w,
        min_power_w=min_power_w,
        power_curve=tuple(ChargeCurvePoint(energy_wh=e, max_power_w=p) for e, p in curve),
        incentive=incentive,
    )


def committed(*slots: tuple[datetime, float, float]) -> tuple[PowerSlot, ...]:
    """Committed load from (start, minutes, watts)."""
    return tuple(PowerSlot(start=start, duration=minutes(m), power_w=w) for start, m, w in slots)


def problem(
    devices: Sequence[Any],
    price_slots: tuple[PriceSlot, ...],
    *,
    import_limit_w: float | None = None,
    export_limit_w: float | None = None,
    committed_load: tuple[PowerSlot, ...] = (),
    **extra: Any,
) -> PlanningProblem:
    """A planning problem from ``T0``."""
    return PlanningProblem(
        start=extra.pop("start", T0),
        devices=tuple(devices),
        prices=price_slots,
        site=SiteLimits(import_limit_w=import_limit_w, export_limit_w=export_limit_w, committed_load=committed_load),
        **extra,
    )


WASHER_ECO = sequence("eco", (20, 2000.0), (50, 150.0), (10, 600.0))
WASHER_QUICK = sequence("quick", (10, 2200.0), (30, 300.0))
DISHWASHER = sequence("normal", (20, 1900.0), (40, 100.0), (15, 1800.0), (30, 40.0))
