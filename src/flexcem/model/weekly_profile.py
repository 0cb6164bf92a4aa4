"""Weekly temperature profiles (JWG1110 "weekly profiles with weekday (Mon–Fri)/weekend profile").

A :class:`WeeklyTemperatureProfile` gives one list of pieces for weekdays (Monday–Friday) and one for the weekend
(Saturday, Sunday). A piece holds a set point s [°C] (the band [s − 1, s + 1], as an air conditioner's set point)
or a band [low_c, high_c] over a stretch of the day in the home's local time: ``start`` to ``end``, where an end
of 00:00 is midnight at the end of the day. Pieces of one day type must not overlap; where no piece is in
force the profile says nothing (its user keeps its own band there: the CEM the set point's band or
[room_low_c, room_high_c]).

:meth:`WeeklyTemperatureProfile.resolve` turns it into the concrete slots
(:class:`~flexcem.model.TemperatureSlot`, absolute times) of an interval, day by day in the given time zone
(:mod:`zoneinfo`): local times hold across a daylight-saving change (a 06:00 piece starts at 06:00 local on
both sides of it; the day of the change is 23 or 25 h long). A local time the change skips is read with the
offset before it (02:30 on a spring-forward day is 03:30 after it), one it repeats as its first occurrence.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from itertools import pairwise
from typing import Self
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator, model_validator

from flexcem.model.base import FlexModel
from flexcem.model.home_control import TemperatureSlot

__all__ = ["DayType", "ProfilePiece", "WeeklyTemperatureProfile", "day_type", "uncovered_spans"]

SET_POINT_HALF_BAND_K = 1.0
"""A set point s means the band [s − 1, s + 1] [K], as for an air conditioner's set point."""

_MIDNIGHT = time(0, 0)
_DAY = timedelta(days=1)


class DayType(StrEnum):
    """Which variant of a weekly profile a day takes."""

    WEEKDAY = "weekday"
    WEEKEND = "weekend"


def day_type(day: date) -> DayType:
    """Monday–Friday: :attr:`DayType.WEEKDAY`; Saturday and Sunday: :attr:`DayType.WEEKEND`."""
    return DayType.WEEKEND if day.weekday() >= 5 else DayType.WEEKDAY


class ProfilePiece(FlexModel):
    """A set point or a band over a stretch of the day, in local time."""

    start: time = Field(description="Local time of day the piece begins (HH:MM).")
    end: time = Field(description="Local time of day the piece ends (HH:MM), after start; 00:00: midnight at the end.")
    set_point_c: float | None = Field(
        default=None,
        ge=-19.0,
        le=119.0,
        description="Set point s [°C]: the band [s − 1, s + 1] where low_c / high_c are not given.",
    )
    low_c: float | None = Field(default=None, ge=-20.0, le=120.0, description="Lowest comfortable temperature [°C].")
    high_c: float | None = Field(default=None, ge=-20.0, le=120.0, description="Highest comfortable temperature [°C].")

    @field_validator("start", "end")
    @classmethod
    def _naive(cls, value: time) -> time:
        if value.tzinfo is not None:
            raise ValueError("a local time of day without an offset (the home's time zone applies)")
        return value

    @model_validator(mode="after")
    def _band(self) -> Self:
        if self.end != _MIDNIGHT and self.end <= self.start:
            raise ValueError(f"end {self.end:%H:%M} is not after start {self.start:%H:%M}")
        if self.set_point_c is None and (self.low_c is None or self.high_c is None):
            raise ValueError("a piece needs set_point_c, or low_c and high_c")
        if self.low > self.high:
            raise ValueError(f"low_c {self.low} is above high_c {self.high}")
        if self.set_point_c is not None and not self.low <= self.set_point_c <= self.high:
            raise ValueError(f"set_point_c {self.set_point_c} is outside [{self.low}, {self.high}]")
        return self

    @property
    def low(self) -> float:
        """Lower edge of the band [°C]."""
        if self.low_c is not None:
            return self.low_c
        assert self.set_point_c is not None  # the validator requires one of them
        return self.set_point_c - SET_POINT_HALF_BAND_K

    @property
    def high(self) -> float:
        """Upper edge of the band [°C]."""
        if self.high_c is not None:
            return self.high_c
        assert self.set_point_c is not None  # the validator requires one of them
        return self.set_point_c + SET_POINT_HALF_BAND_K

    def minutes(self) -> tuple[int, int]:
        """Start and end as minutes after local midnight (end 1440 for midnight at the end of the day)."""
        end = 24 * 60 if self.end == _MIDNIGHT else self.end.hour * 60 + self.end.minute
        return self.start.hour * 60 + self.start.minute, end

    def label(self) -> str:
        """``HH:MM–HH:MM`` for messages."""
        return f"{self.start:%H:%M}–{'24:00' if self.end == _MIDNIGHT else f'{self.end:%H:%M}'}"


def _check_pieces(pieces: tuple[ProfilePiece, ...]) -> tuple[ProfilePiece, ...]:
    if not pieces:
        raise ValueError("at least one piece")
    ordered = sorted(enumerate(pieces), key=lambda item: item[1].start)
    for (i, before), (j, after) in pairwise(ordered):
        if after.minutes()[0] < before.minutes()[1]:
            raise ValueError(f"piece {j} ({after.label()}) overlaps piece {i} ({before.label()})")
    return tuple(piece for _, piece in ordered)


class WeeklyTemperatureProfile(FlexModel):
    """A room's set point or band over the week: one day for Monday–Friday, one for Saturday and Sunday."""

    weekday: tuple[ProfilePiece, ...] = Field(description="Pieces of a weekday (Monday–Friday), local time.")
    weekend: tuple[ProfilePiece, ...] = Field(description="Pieces of a weekend day (Saturday, Sunday), local time.")

    @field_validator("weekday", "weekend")
    @classmethod
    def _pieces(cls, pieces: tuple[ProfilePiece, ...]) -> tuple[ProfilePiece, ...]:
        return _check_pieces(pieces)

    def pieces(self, kind: DayType) -> tuple[ProfilePiece, ...]:
        """The pieces of one day type, in time order."""
        return self.weekday if kind is DayType.WEEKDAY else self.weekend

    def piece_at(self, instant: datetime, zone: ZoneInfo) -> ProfilePiece | None:
        """The piece in force at ``instant`` (aware) in the home's ``zone``, or ``None`` where none is."""
        local = instant.astimezone(zone)
        minute = local.hour * 60 + local.minute + local.second / 60.0
        for piece in self.pieces(day_type(local.date())):
            first, last = piece.minutes()
            if first <= minute < last:
                return piece
        return None

    def resolve(self, start: datetime, end: datetime, zone: ZoneInfo) -> tuple[TemperatureSlot, ...]:
        """The slots of ``[start, end)`` (aware) that pieces cover, in time order, in UTC; a piece's set point is
        kept as the slot's ``set_point_c``."""
        if end <= start:
            return ()
        first = start.astimezone(zone).date() - _DAY
        last = end.astimezone(zone).date() + _DAY
        slots: list[TemperatureSlot] = []
        cursor = start
        day = first
        while day <= last:
            for piece in self.pieces(day_type(day)):
                begin = _instant(day, piece.start, zone)
                until = (day + _DAY, _MIDNIGHT) if piece.end == _MIDNIGHT else (day, piece.end)
                finish = _instant(*until, zone)
                begin, finish = max(begin, cursor), min(finish, end)  # a skipped local time may overlap: cut
                if begin < finish:
                    slots.append(
                        TemperatureSlot(
                            start=begin,
                            duration=finish - begin,
                            low_c=piece.low,
                            high_c=piece.high,
                            set_point_c=piece.set_point_c,
                        )
                    )
                    cursor = finish
            day += _DAY
        return tuple(slots)


def _instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    """Local ``day`` ``at`` in ``zone`` as an aware UTC instant (fold 0: see the module)."""
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def uncovered_spans(
    slots: Sequence[TemperatureSlot], start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """The stretches of ``[start, end)`` that ``slots`` (in time order, not overlapping) leave uncovered."""
    gaps: list[tuple[datetime, datetime]] = []
    cursor = start
    for slot in slots:
        if slot.start > cursor:
            gaps.append((cursor, min(slot.start, end)))
        cursor = max(cursor, slot.end)
    if cursor < end:
        gaps.append((cursor, end))
    return [(a, b) for a, b in gaps if a < b]
