"""From a whole-home plan to each device's power set-point schedules, and when a new one is worth sending.

Per device kind (powers in W per planning slot, consumption positive, generation negative):

* battery — ``main``: its power at the site connection, its own consumption (standby) included, as the
  plan reports it (charge − discharge + standby; docs/home-physics.md);
* PV — ``main``: only when the plan curtails: the limit −L in curtailed slots, −(its rated power) elsewhere
  (no limit); a plan that curtails nothing sends nothing;
* heat pump — ``hot_water`` and, when it serves a room, ``space`` (one schedule per circuit);
* water heater, air conditioner — ``main``: the electric power;
* fuel cell — ``main``: its output, negative.

Adjacent slots with the same power are merged. **Stability**: a new schedule that differs from the confirmed
one by at most ``tolerance_w`` wherever both are defined, while the confirmed one still reaches far enough
ahead, is negligible (:func:`negligible`): it is not sent and the device keeps the confirmed one.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from flexcem.cem.home_book import HomeBook
from flexcem.model import (
    Circuit,
    GenerationForecast,
    PowerSeries,
    PowerSetpointSchedule,
    PowerSlot,
    RoomClimateDescription,
    StorageDescription,
    ThermalStorageDescription,
)
from flexcem.model.timeseries import trusted, utc
from flexcem.planner import Plan, PlanningProblem
from flexcem.planner.devices import PvDevice

__all__ = ["negligible", "setpoint_schedules"]

_CURTAILED_W = 1.0
"""A PV slot counts as curtailed when the plan is this far below the forecast [W]."""


def _series(plan: Plan, powers: Sequence[float]) -> PowerSeries:
    """``powers`` (one per plan slot) rounded to 0.1 W, adjacent equal slots merged.

    Built without validating each slot (:func:`~flexcem.model.timeseries.trusted`): the slots are contiguous
    runs of the plan's slots (starts in UTC, positive lengths) and the powers finite floats from the plan.
    """
    slot_starts = plan.slot_starts
    if len(powers) != len(slot_starts):
        raise ValueError(f"{len(powers)} powers for {len(slot_starts)} plan slots")
    starts: list[datetime] = []
    counts: list[int] = []  # slots in each run of equal powers
    values: list[float] = []
    previous = None
    for index, power in enumerate(powers):
        value = float(round(power, 1) + 0.0)
        if value == previous:
            counts[-1] += 1
        else:
            starts.append(slot_starts[index])
            counts.append(1)
            values.append(value)
            previous = value
    step = plan.slot_duration
    if not values or step <= timedelta(0) or not all(map(math.isfinite, values)):
        return PowerSeries(  # validation refuses it, as before
            slots=tuple(
                PowerSlot(start=start, duration=count * step, power_w=value)
                for start, count, value in zip(starts, counts, values, strict=True)
            )
        )
    return trusted(
        PowerSeries,
        slots=tuple(
            trusted(PowerSlot, start=utc(start), duration=count * step, power_w=value)
            for start, count, value in zip(starts, counts, values, strict=True)
        ),
    )


def _clip(powers: Sequence[float], low: float, high: float) -> list[float]:
    return [min(high, max(low, power)) for power in powers]


def setpoint_schedules(
    plan: Plan,
    problem: PlanningProblem,
    book: HomeBook,
    device_ids: Sequence[str],
    rated_power_w: Callable[[str], float | None],
    tag: str,
) -> list[PowerSetpointSchedule]:
    """The schedules that carry out ``plan`` for the described devices ``device_ids``; ids end in ``tag``."""
    schedules: list[PowerSetpointSchedule] = []

    def add(device_id: str, circuit: Circuit, powers: Sequence[float]) -> None:
        schedules.append(
            PowerSetpointSchedule(
                device_id=device_id,
                schedule_id=f"{device_id}-{circuit.value}-{tag}",
                circuit=circuit,
                schedule=_series(plan, powers),
            )
        )

    for device_id in device_ids:
        description = book.get(device_id)
        device_plan = plan.device(device_id)
        power = device_plan.power_w
        if isinstance(description, StorageDescription):
            p = description.parameters
            low, high = p.standby_w - p.discharge_power_max_w, p.standby_w + p.charge_power_max_w
            add(device_id, Circuit.MAIN, _clip(power, low, high))
        elif isinstance(description, GenerationForecast):
            if (device_plan.curtailed_energy_wh or 0.0) <= 1.0:
                continue
            device = problem.device(device_id)
            assert isinstance(device, PvDevice)
            forecast = [slot.power_w for slot in device.forecast]  # one slot per planning slot (home_planning)
            free = -(rated_power_w(device_id) or max(forecast) * 2.0 + 1000.0)
            limits = [
                min(0.0, w) if -w < available - _CURTAILED_W else free
                for w, available in zip(power, forecast, strict=True)
            ]
            add(device_id, Circuit.MAIN, limits)
        elif isinstance(description, ThermalStorageDescription):
            top = description.heater_power_max_w
            if description.heat_pump is not None:
                top = description.heat_pump.power_max_w
                hot = device_plan.hot_water_power_w or tuple(0.0 for _ in power)
                add(device_id, Circuit.HOT_WATER, _clip(hot, 0.0, top))
                if description.room is not None:
                    add(device_id, Circuit.SPACE, _clip([w - h for w, h in zip(power, hot, strict=True)], 0.0, top))
            elif description.fuel_cell is not None:
                add(device_id, Circuit.MAIN, _clip(power, -description.fuel_cell.power_max_w, 0.0))
            else:
                add(device_id, Circuit.MAIN, _clip(power, 0.0, top))
        elif isinstance(description, RoomClimateDescription):
            # the plan's power holds the fan's as well as the compressor's
            add(device_id, Circuit.MAIN, _clip(power, 0.0, description.unit.power_max_w + description.fan_power_w))
    return schedules


def _power_at(series: PowerSeries, instant: datetime) -> float | None:
    slot = series.slot_at(instant)
    return None if slot is None else slot.power_w


def negligible(
    confirmed: PowerSetpointSchedule, new: PowerSetpointSchedule, now: datetime, tolerance_w: float, cover: timedelta
) -> bool:
    """Whether sending ``new`` instead of the ``confirmed`` schedule would change nothing that matters.

    True when both are for the same circuit, the confirmed one reaches at least ``min(new end, now + cover)``
    and from ``now`` on their powers differ by at most ``tolerance_w`` [W] wherever both are defined.
    """
    old_series, new_series = confirmed.schedule, new.schedule
    if confirmed.circuit is not new.circuit or old_series.end < min(new_series.end, now + cover):
        return False
    low = max(now, new_series.start, old_series.start)
    high = min(new_series.end, old_series.end)
    points = {low} | {
        slot.start for series in (old_series, new_series) for slot in series.slots if low < slot.start < high
    }
    for instant in points:
        if instant >= high:
            continue
        old, fresh = _power_at(old_series, instant), _power_at(new_series, instant)
        if old is None or fresh is None or abs(old - fresh) > tolerance_w:
            return False
    return True
