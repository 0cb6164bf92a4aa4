"""Power profiles of smart devices (TR §3.4.6.2, Table 2).

A device describes how it will draw (or deliver) power once started as a :class:`PowerSequence`: slots of
a given duration, each with an average power. A washing programme is a sequence such as heating 2 kW for
20 min, washing 150 W for 50 min, spinning 600 W for 10 min. A device may offer several **alternative**
sequences for the same job (an eco and a quick programme; a battery's charge or discharge) in a
:class:`PowerProfile`; the CEM chooses exactly one of them.

Profile slots are relative to the (yet unknown) start; once a start is assigned the sequence is laid out
in absolute time with :meth:`PowerSequence.at`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum

from pydantic import Field, field_validator, model_validator

from flexcem.model.base import FlexModel, Identifier, PositiveDuration, Share
from flexcem.model.timeseries import PowerSeries, PowerSlot

__all__ = [
    "Direction",
    "EnergyShare",
    "EnergySource",
    "PowerProfile",
    "PowerSequence",
    "ProfileSlot",
    "check_unique_sequence_ids",
]


class Direction(StrEnum):
    """Whether a sequence consumes or generates electricity (TR Table 2, consumption/generation flag)."""

    CONSUMPTION = "consumption"
    GENERATION = "generation"


class EnergySource(StrEnum):
    """Energy-source types a slot may draw on (TR Table 2, "energy source types and amount per type")."""

    ELECTRICITY = "electricity"
    NATURAL_GAS = "natural_gas"
    HOT_WATER = "hot_water"
    DISTRICT_HEAT = "district_heat"
    SOLAR_THERMAL = "solar_thermal"
    OTHER = "other"


class EnergyShare(FlexModel):
    """Share of a slot's energy that comes from one source."""

    source: EnergySource = Field(description="The energy source.")
    share: Share = Field(description="Fraction of the slot's energy from this source (0–1).")


class ProfileSlot(FlexModel):
    """One phase of a power sequence: a duration with an average power."""

    duration: PositiveDuration = Field(description="Length of the phase.")
    power_w: float = Field(ge=0.0, description="Average electric power during the phase [W], a magnitude.")
    max_power_w: float | None = Field(
        default=None, ge=0.0, description="Peak power within the phase [W], at least the average."
    )
    label: str | None = Field(default=None, max_length=64, description="Name of the phase, e.g. 'heating'.")
    energy_sources: tuple[EnergyShare, ...] = Field(
        default=(), description="Energy-source shares of the phase; together at most 1."
    )

    @model_validator(mode="after")
    def _consistent(self) -> ProfileSlot:
        if self.max_power_w is not None and self.max_power_w < self.power_w:
            raise ValueError(f"max_power_w {self.max_power_w} is below the average power_w {self.power_w}")
        if sum(share.share for share in self.energy_sources) > 1.0 + 1e-9:
            raise ValueError("energy_sources shares add up to more than 1")
        return self

    @property
    def energy_wh(self) -> float:
        """Energy of the phase [Wh]."""
        return self.power_w * self.duration.total_seconds() / 3600.0

    @property
    def peak_power_w(self) -> float:
        """Highest power of the phase [W]: ``max_power_w`` when given, else the average."""
        return self.power_w if self.max_power_w is None else self.max_power_w


class PowerSequence(FlexModel):
    """A sequence of profile slots that runs as a whole once started."""

    sequence_id: Identifier = Field(description="Identifier of the sequence within its profile.")
    label: str | None = Field(default=None, max_length=64, description="Human name, e.g. 'Cotton 40 °C'.")
    direction: Direction = Field(
        default=Direction.CONSUMPTION, description="Whether the sequence consumes or generates electricity."
    )
    confidence: Share = Field(default=1.0, description="How sure the device is of this profile (0–1).")
    slots: tuple[ProfileSlot, ...] = Field(min_length=1, description="Phases in running order.")

    @property
    def duration(self) -> timedelta:
        """Running time of the whole sequence."""
        return sum((slot.duration for slot in self.slots), timedelta(0))

    @property
    def energy_wh(self) -> float:
        """Energy of the whole sequence [Wh] (a magnitude)."""
        return sum(slot.energy_wh for slot in self.slots)

    @property
    def sign(self) -> float:
        """+1 for consumption, -1 for generation: the site sign convention."""
        return 1.0 if self.direction is Direction.CONSUMPTION else -1.0

    def power_at(self, elapsed: timedelta) -> float:
        """Signed average power [W] of the phase running ``elapsed`` after the start; 0 outside."""
        if elapsed < timedelta(0):
            return 0.0
        offset = timedelta(0)
        for slot in self.slots:
            offset += slot.duration
            if elapsed < offset:
                return self.sign * slot.power_w
        return 0.0

    def at(self, start: datetime) -> PowerSeries:
        """The sequence laid out from ``start``: absolute slots with signed power [W]."""
        slots = []
        cursor = start.astimezone(UTC)
        for slot in self.slots:
            slots.append(PowerSlot(start=cursor, duration=slot.duration, power_w=self.sign * slot.power_w))
            cursor += slot.duration
        return PowerSeries(slots=tuple(slots))


def check_unique_sequence_ids(alternatives: tuple[PowerSequence, ...]) -> tuple[PowerSequence, ...]:
    """``alternatives`` unchanged, or :class:`ValueError` when two share a ``sequence_id``."""
    seen: set[str] = set()
    for sequence in alternatives:
        if sequence.sequence_id in seen:
            raise ValueError(f"sequence_id {sequence.sequence_id!r} appears more than once")
        seen.add(sequence.sequence_id)
    return alternatives


class PowerProfile(FlexModel):
    """Alternative power sequences for one job; the CEM chooses exactly one (TR §3.4.6.2)."""

    alternatives: tuple[PowerSequence, ...] = Field(
        min_length=1, description="Alternative sequences; the first is the device's preference."
    )

    @field_validator("alternatives")
    @classmethod
    def _unique_ids(cls, alternatives: tuple[PowerSequence, ...]) -> tuple[PowerSequence, ...]:
        return check_unique_sequence_ids(alternatives)

    def sequence(self, sequence_id: str) -> PowerSequence:
        """The alternative with the given id; :class:`KeyError` when there is none."""
        for sequence in self.alternatives:
            if sequence.sequence_id == sequence_id:
                return sequence
        raise KeyError(sequence_id)

    @property
    def longest(self) -> timedelta:
        """Running time of the longest alternative."""
        return max(sequence.duration for sequence in self.alternatives)
