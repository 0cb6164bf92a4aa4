"""The grid's state as the CEM sees it: the traffic light of TR §3.4.5.1 and time windows (WGSP2112, JWG2122).

The traffic light concept (TR Figure 23, after SG-CG/M490 and the BDEW roadmap) has three states of a grid
area: **green** — no grid problem, the market is free (the CEM optimises for its user); **yellow** — a
grid problem may arise, the grid operator asks for flexibility (load/generation management); **red** — the
grid is endangered, the operator acts directly (emergency). A :class:`TrafficLight` says which state holds in
which area from when until when; the envelope's ``to`` (a group or everyone) says who is told.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Self

from pydantic import Field, model_validator

from flexcem.model.base import FlexModel, Identifier, Instant

__all__ = ["GridState", "ResponseStatus", "TimeWindow", "TrafficLight", "check_window"]


def check_window(start: datetime, end: datetime, *, what: str = "end", after: str = "start") -> None:
    """:class:`ValueError` naming the fields when ``end`` is not after ``start``."""
    if end <= start:
        raise ValueError(f"{what} {end.isoformat()} is not after {after} {start.isoformat()}")


class TimeWindow(FlexModel):
    """The half-open period ``[start, end)`` (TR: "date, time, window")."""

    start: Instant = Field(description="Beginning of the window.")
    end: Instant = Field(description="End of the window (exclusive); after start.")

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        check_window(self.start, self.end)
        return self

    @property
    def duration(self) -> timedelta:
        """Length of the window."""
        return self.end - self.start

    def contains(self, instant: datetime) -> bool:
        """Whether ``instant`` lies in the window."""
        return self.start <= instant < self.end

    def overlaps(self, other: TimeWindow) -> bool:
        """Whether the two windows share an instant."""
        return self.start < other.end and other.start < self.end


class GridState(StrEnum):
    """The three states of the traffic light concept."""

    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"


class ResponseStatus(StrEnum):
    """The CEM's answer to a request for flexibility (JWG212x: "accept or reject or not-sufficient")."""

    ACCEPT = "accept"
    REJECT = "reject"
    NOT_SUFFICIENT = "not_sufficient"


class TrafficLight(FlexModel):
    """The state of grid area ``area`` from ``valid_from`` until ``valid_until`` (open: until the next signal)."""

    signal_id: Identifier = Field(description="Identifier of this signal; a later signal for the area replaces it.")
    area: Identifier = Field(description="The grid area (feeder, substation, control area) the state holds in.")
    state: GridState
    valid_from: Instant = Field(description="From when the state holds.")
    valid_until: Instant | None = Field(default=None, description="Until when; none: until the next signal.")
    reason: str | None = Field(default=None, max_length=256, description="Why, for the user's display.")

    @model_validator(mode="after")
    def _validity(self) -> Self:
        if self.valid_until is not None:
            check_window(self.valid_from, self.valid_until, what="valid_until", after="valid_from")
        return self

    def holds_at(self, instant: datetime) -> bool:
        """Whether the signal is in force at ``instant``."""
        return self.valid_from <= instant and (self.valid_until is None or instant < self.valid_until)
