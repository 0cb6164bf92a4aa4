"""What every device kind of the planner provides: an input model and a formulation.

A new kind (PV, battery, heat pump with tank, …) is one module in this package with

* a :class:`PlannerDevice` subclass with a ``kind`` literal (the discriminator of the input union), and
* a :class:`DeviceFormulation` subclass that adds the device's columns, rows and objective terms to the
  :class:`~flexcem.planner.builder.ModelBuilder`, writes a feasible starting point, and reads its result
  back from the solution vector,

registered in :mod:`flexcem.planner.devices`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from itertools import pairwise
from typing import ClassVar, Generic, TypeVar

import numpy as np
from pydantic import Field, ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

from flexcem.model.base import FlexModel, Identifier
from flexcem.model.flexibility import IncentiveProgram
from flexcem.model.timeseries import Slot
from flexcem.planner.builder import ModelBuilder
from flexcem.planner.context import PlanningContext
from flexcem.planner.grid import MICROSECOND, FloatArray, IntArray, coverage_gaps, elapsed, later
from flexcem.planner.result import DevicePlan, Violation

__all__ = [
    "DeviceFormulation",
    "FieldPath",
    "PlannerDevice",
    "SiteValue",
    "field_errors",
    "overlap_message",
    "uncovered_message",
]

FieldPath = tuple[str | int, ...]
"""Where a field is, e.g. ``("reserve", 2, "energy_wh")``."""


def field_errors(title: str, errors: Sequence[tuple[FieldPath, str]]) -> ValidationError:
    """A pydantic ``ValidationError`` with one error per (field path, message), located at each field.

    Raised inside a model validator it keeps the locations (prefixed by where the model sits), so bad
    input is reported at the very field, e.g. ``devices.1.forecast``.
    """
    details = [
        InitErrorDetails(
            type=PydanticCustomError("value_error", "{message}", {"message": message}), loc=loc, input=None
        )
        for loc, message in errors
    ]
    return ValidationError.from_exception_data(title, details)


def overlap_message(slots: Sequence[Slot], field: str) -> str | None:
    """Why ``slots`` overlap (naming ``field.i``), or None when they do not."""
    order = sorted(range(len(slots)), key=lambda index: slots[index].start)
    for previous, current in pairwise(order):
        if slots[current].start < later(slots[previous].start, slots[previous].duration):
            return (
                f"{field}.{current} (from {slots[current].start.isoformat()}) overlaps {field}.{previous} "
                f"(until {later(slots[previous].start, slots[previous].duration).isoformat()})"
            )
    return None


def uncovered_message(slots: Sequence[Slot], start: datetime, end: datetime, what: str) -> str | None:
    """Which parts of ``[start, end)`` no slot covers (a sentence about ``what``), or None when all are."""
    origin = start.astimezone(UTC)
    intervals = []
    for slot in slots:
        lo = (slot.start.astimezone(UTC) - origin) // MICROSECOND  # elapsed(start, slot.start) in µs
        intervals.append((lo, lo + slot.duration // MICROSECOND))
    gaps = coverage_gaps(intervals, 0, elapsed(start, end) // MICROSECOND)
    if not gaps:
        return None
    at = [(later(start, lo * MICROSECOND), later(start, hi * MICROSECOND)) for lo, hi in gaps[:3]]
    described = ", ".join(f"[{lo.isoformat()}, {hi.isoformat()})" for lo, hi in at)
    more = f" and {len(gaps) - 3} more" if len(gaps) > 3 else ""
    return f"{what} does not cover the horizon [{start.isoformat()}, {end.isoformat()}): nothing for {described}{more}"


SiteValue = Callable[[FloatArray], FloatArray]
"""Objective value of the site for each row of a (rows × slots) matrix of site power [kW]."""


class PlannerDevice(FlexModel):
    """Fields every device of a planning problem has."""

    device_id: Identifier = Field(description="Identifier of the device, unique in the problem.")
    incentive: IncentiveProgram = Field(
        default=IncentiveProgram.CHEAPEST,
        description="'cheapest' minimises cost; 'greenest' minimises the device's CO2 first, cost breaks ties.",
    )

    windowed: ClassVar[bool] = True
    """Whether the device has a window of its own that ``required_end`` reports; a problem whose devices
    have none (battery, PV, …) must give its ``end``."""

    def required_end(self, plan_start: datetime) -> datetime:
        """The latest instant the horizon must reach for this device when planning from ``plan_start``."""
        raise NotImplementedError

    def horizon_errors(self, start: datetime, end: datetime) -> list[tuple[FieldPath, str]]:
        """What of the device's data does not fit the horizon ``[start, end)`` (e.g. a forecast that ends too
        early), as (field path inside the device, message); empty when all is well."""
        return []


DeviceT = TypeVar("DeviceT", bound=PlannerDevice)


class DeviceFormulation(ABC, Generic[DeviceT]):
    """The MILP part of one device: variables, rows, objective terms, starting point and result."""

    def __init__(self, device: DeviceT, context: PlanningContext) -> None:
        self.device = device
        self.context = context

    @property
    def greenest(self) -> bool:
        """Whether the device's CO2 goes into the CO2 level (incentive greenest, with CO2 data)."""
        return self.device.incentive is IncentiveProgram.GREENEST and self.context.co2 is not None

    @abstractmethod
    def build(self, builder: ModelBuilder) -> None:
        """Add the device's columns, rows, site-balance coefficients and objective terms."""

    @abstractmethod
    def peak_kw(self) -> float:
        """The largest absolute power [kW] the device can have in any slot (a big-M bound)."""

    @abstractmethod
    def initial(self, x: FloatArray) -> None:
        """Write a feasible starting point of the device's columns into ``x``."""

    @abstractmethod
    def power_kw(self, x: FloatArray) -> FloatArray:
        """The device's average power per slot [kW] in solution ``x``."""

    @abstractmethod
    def extract(self, x: FloatArray) -> tuple[DevicePlan, list[Violation]]:
        """The device's plan and violations in solution ``x``."""

    def is_integral(self, x: FloatArray) -> bool:
        """Whether the device's discrete choices are integral in ``x`` (kinds without choices: True)."""
        return True

    def fractional_choice(self, x: FloatArray) -> tuple[IntArray, FloatArray, float] | None:
        """For diving: the columns of a fractional choice, the 0/1 values to fix them at, and how decided
        the relaxation already is about it (0–1); None when the device's choices are integral."""
        return None

    def round(self, x: FloatArray, load_kw: FloatArray, cost: FloatArray, site_value: SiteValue) -> None:
        """Round the device's discrete choices in ``x`` given the rest of the site's load [kW].

        ``site_value`` prices rows of site power per slot [kW] under objective ``cost``; kinds without
        discrete choices do nothing.
        """

    def move_cost(self, x: FloatArray) -> float:
        """Penalty [currency] charged in solution ``x`` for moving the device from its commitment."""
        return 0.0

    # -- helpers shared by kinds -------------------------------------------------------------------
    def energy_cost(self, power_kw: FloatArray) -> float:
        """Energy × import price of a power profile [currency]."""
        return float(np.sum(power_kw * self.context.price) * self.context.slot_hours)

    def energy_co2(self, power_kw: FloatArray) -> float | None:
        """Energy × CO2 intensity of a power profile [g]; None without CO2 data."""
        if self.context.co2 is None:
            return None
        return float(np.sum(power_kw * self.context.co2) * self.context.slot_hours)
