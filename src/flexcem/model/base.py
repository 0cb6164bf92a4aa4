"""Common building blocks of the neutral information model (TR §3.4).

Every message of flexcem is a frozen pydantic model derived from :class:`FlexModel`. Unknown fields are
refused (``extra="forbid"``) so that a typo in a file or an API call is reported with the field's name;
forward compatibility on the wire is the codec's job (it drops what this version does not know before the
model sees it).

Units are in the field names (``power_w``, ``energy_wh``, ``price_per_kwh``) or stated in the docstring.
All times are timezone-aware instants kept in UTC (:data:`Instant`); durations are
:class:`datetime.timedelta` and travel as ISO 8601 durations.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime, timedelta
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

__all__ = [
    "Currency",
    "FlexModel",
    "Identifier",
    "Instant",
    "MessageId",
    "NonNegativeDuration",
    "Percent",
    "PositiveDuration",
    "Share",
    "ValidationError",
    "new_id",
]

# The one family of validation errors is pydantic's ``ValidationError`` (re-exported here): it names every
# offending field by its location, e.g. ``profile.alternatives.0.slots.2.duration``.


class FlexModel(BaseModel):
    """Base of every flexcem model: immutable, strict about unknown fields, ISO 8601 on the wire."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        populate_by_name=True,
        ser_json_timedelta="iso8601",
        validate_default=True,
        allow_inf_nan=False,
    )


def _positive(value: timedelta) -> timedelta:
    if value <= timedelta(0):
        raise ValueError("duration must be positive")
    return value


def _non_negative(value: timedelta) -> timedelta:
    if value < timedelta(0):
        raise ValueError("duration must not be negative")
    return value


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


Instant = Annotated[AwareDatetime, AfterValidator(_utc)]
"""A timezone-aware instant, kept in UTC: adding durations is then exact across daylight-saving changes
(Python adds to a zone's wall-clock time). A naive datetime is refused."""

PositiveDuration = Annotated[timedelta, AfterValidator(_positive)]
"""A duration greater than zero (ISO 8601 on the wire, e.g. ``PT15M``)."""

NonNegativeDuration = Annotated[timedelta, AfterValidator(_non_negative)]
"""A duration of zero or more."""

_IDENTIFIER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")

Identifier = Annotated[str, Field(pattern=_IDENTIFIER.pattern)]
"""An identifier usable as MQTT topic level, certificate CN and file name: 1–64 of ``[A-Za-z0-9_.-]``."""

MessageId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:\-]{1,64}$")]
"""A message or correlation identifier (a UUID in hex by default)."""

Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
"""An ISO 4217 currency code such as ``EUR`` or ``USD``."""

Share = Annotated[float, Field(ge=0.0, le=1.0)]
"""A fraction between 0 and 1."""

Percent = Annotated[float, Field(ge=0.0, le=100.0)]
"""A percentage between 0 and 100."""


_IDS_PER_DRAW = 256
"""Identifiers drawn from the operating system's random source at once (16 bytes each)."""

_ids: list[str] = []
"""Identifiers drawn and not handed out yet (each one is handed out once: ``list.pop`` is atomic)."""


def _draw_ids() -> None:
    """Draw :data:`_IDS_PER_DRAW` fresh identifiers from ``os.urandom`` (the source ``uuid.uuid4`` uses)."""
    digits = os.urandom(16 * _IDS_PER_DRAW).hex()
    _ids.extend(digits[k : k + 32] for k in range(0, len(digits), 32))


def _forget_ids() -> None:
    """A forked child draws its own identifiers: the parent's undrawn ones are its own to hand out."""
    _ids.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_ids)


def new_id() -> str:
    """A fresh random identifier (32 hex digits).

    128 bits from the operating system's cryptographic random source (as ``uuid.uuid4().hex``, whose 122 random
    bits it had before; every digit is random, so is any prefix such as ``new_id()[:12]``), drawn in bulk: a
    restarted process and each forked child draw their own, so ids stay unique across processes and restarts.
    """
    while True:
        try:
            return _ids.pop()
        except IndexError:
            _draw_ids()
