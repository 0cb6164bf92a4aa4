"""Time slots and slot series: the one shape for prices, power profiles, plans and measurements.

A :class:`Slot` is the half-open interval ``[start, start + duration)``. A :class:`SlotSeries` is a non-empty
list of slots that follow each other without gap or overlap (TR §3.4.6: "time slots, actual time, start
time, end time"). Concrete series subclass it with their slot type: :class:`TimeSeries` (one scalar per slot,
with its quantity and unit), :class:`~flexcem.model.tariff.PriceEnvironmentProfile` (price, CO2, renewable
share) and :class:`PowerSeries` (power per slot, used for plans and energy-profile updates).
"""

from __future__ import annotations

from bisect import bisect_right
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field, field_validator

from flexcem.model.base import FlexModel, Instant, PositiveDuration

__all__ = [
    "PowerSeries",
    "PowerSlot",
    "Slot",
    "SlotSeries",
    "TimeSeries",
    "ValueSlot",
    "trusted",
    "utc",
]

ModelT = TypeVar("ModelT", bound=BaseModel)
_set = object.__setattr__
_PLAIN: dict[type[BaseModel], int] = {}
"""Per model class: its number of fields, or -1 when it has private attributes or a post-init hook."""


def trusted(cls: type[ModelT], /, **fields: Any) -> ModelT:
    """A ``cls`` holding ``fields`` as given, **without validation**: for internal paths only.

    Only for values that validation would accept and keep unchanged: every field given (defaults too), floats
    as Python floats, finite and inside their bounds, instants timezone-aware in UTC (see :func:`utc`),
    positive durations, series' slots contiguous, because they come from validated data by construction. The
    planner builds thousands of slots per plan from its own validated inputs; validating each again costs
    ~5 µs, this ~0.5 µs. External input (messages, configuration, HTTP) is always validated.
    """
    count = _PLAIN.get(cls)
    if count is None:
        count = _PLAIN[cls] = -1 if cls.__private_attributes__ or cls.__pydantic_post_init__ else len(cls.model_fields)
    if len(fields) != count:
        return cls.model_construct(**fields)  # defaults left out, or private attributes: pydantic's own way
    model = cls.__new__(cls)
    _set(model, "__dict__", fields)
    _set(model, "__pydantic_fields_set__", set(fields))
    _set(model, "__pydantic_extra__", None)
    _set(model, "__pydantic_private__", None)
    return model


def utc(instant: datetime) -> datetime:
    """``instant`` in UTC, as an :data:`~flexcem.model.base.Instant` field keeps it (the same object when it is)."""
    return instant if instant.tzinfo is UTC else instant.astimezone(UTC)


class Slot(FlexModel):
    """A time slot ``[start, start + duration)``."""

    start: Instant = Field(description="Beginning of the slot (timezone-aware).")
    duration: PositiveDuration = Field(description="Length of the slot (ISO 8601 duration).")

    @property
    def end(self) -> datetime:
        """End of the slot (exclusive)."""
        return self.start + self.duration

    @property
    def hours(self) -> float:
        """Length of the slot in hours."""
        return self.duration.total_seconds() / 3600.0

    def contains(self, instant: datetime) -> bool:
        """Whether ``instant`` lies inside the slot."""
        return self.start <= instant < self.end


SlotT = TypeVar("SlotT", bound=Slot)


class SlotSeries(FlexModel, Generic[SlotT]):
    """Contiguous, non-empty series of slots. Subclasses fix the slot type."""

    slots: tuple[SlotT, ...] = Field(min_length=1, description="Contiguous slots in time order.")

    @field_validator("slots")
    @classmethod
    def _contiguous(cls, slots: tuple[SlotT, ...]) -> tuple[SlotT, ...]:
        for index in range(1, len(slots)):
            previous, current = slots[index - 1], slots[index]
            if current.start != previous.end:
                relation = "overlaps" if current.start < previous.end else "leaves a gap after"
                raise ValueError(
                    f"slot {index} starts at {current.start.isoformat()} and {relation} slot {index - 1}, "
                    f"which ends at {previous.end.isoformat()}; slots must be contiguous"
                )
        return slots

    @property
    def start(self) -> datetime:
        """Start of the first slot."""
        return self.slots[0].start

    @property
    def end(self) -> datetime:
        """End of the last slot (exclusive)."""
        return self.slots[-1].end

    @property
    def duration(self) -> timedelta:
        """Span covered by the series."""
        return self.end - self.start

    def covers(self, start: datetime, end: datetime) -> bool:
        """Whether the series covers the whole interval ``[start, end)``."""
        return self.start <= start and end <= self.end

    def slot_at(self, instant: datetime) -> SlotT | None:
        """The slot that contains ``instant``, or ``None`` outside the series."""
        if not self.start <= instant < self.end:
            return None
        return self.slots[bisect_right(self._starts(), instant) - 1]

    def _starts(self) -> list[datetime]:
        """The slots' starts, computed once per slots tuple (kept beside the fields, like a cached property;
        a copy with other slots computes its own)."""
        cached = self.__dict__.get("_slot_starts")
        if cached is None or cached[0] is not self.slots:
            cached = (self.slots, [slot.start for slot in self.slots])
            self.__dict__["_slot_starts"] = cached
        starts: list[datetime] = cached[1]
        return starts


class ValueSlot(Slot):
    """A slot carrying one scalar value; the unit is the series'."""

    value: float = Field(description="Value for the slot, in the unit of the series.")


class TimeSeries(SlotSeries[ValueSlot]):
    """A scalar time series (metering, forecasts, load curves) with its quantity and unit."""

    quantity: str = Field(min_length=1, max_length=64, description="What is measured, e.g. 'power'.")
    unit: str = Field(min_length=1, max_length=32, description="Unit of every value, e.g. 'W' or 'Wh'.")


class PowerSlot(Slot):
    """A slot with a power [W]: consumption positive, generation negative.

    In an energy-profile update (JWG1103) the power is the most the device may draw in the slot.
    """

    power_w: float = Field(description="Power in the slot [W]; consumption positive, generation negative.")

    @property
    def energy_wh(self) -> float:
        """Energy of the slot [Wh] at constant power."""
        return self.power_w * self.hours


class PowerSeries(SlotSeries[PowerSlot]):
    """Power over contiguous slots: a device's planned power, a site load, an updated energy profile."""

    @property
    def energy_wh(self) -> float:
        """Total energy of the series [Wh]."""
        return sum(slot.energy_wh for slot in self.slots)
