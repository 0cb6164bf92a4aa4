"""Lexical forms of leaf values, the same in XML and JSON.

* datetime → ISO 8601 / ``xs:dateTime`` with its UTC offset (``Z`` for UTC); an offset XSD cannot express
  (seconds, or beyond ±14:00) is converted to UTC — the instant is kept, the offset is not;
* timedelta → ISO 8601 / ``xs:duration`` in days, hours, minutes and seconds (``P1DT2H30M``, ``-PT5S``),
  exact to the microsecond;
* float → ``repr`` (shortest exact round-trip form, valid ``xs:double``); non-finite values have no wire form;
* bool → ``true`` / ``false``; int → decimal; enum → its value; str → itself.

Parsing (:func:`leaf_from_text`) turns XML text into what pydantic validates: bools, ints and floats are
converted here (after XSD validation, so the text is well-formed), datetimes and durations are left to
pydantic, which parses the same strings in JSON.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any

from flexcem.codec.shapes import Kind

__all__ = [
    "NotRepresentableError",
    "format_datetime",
    "format_duration",
    "leaf_from_text",
    "leaf_to_json",
    "leaf_to_text",
]

_MAX_OFFSET = timedelta(hours=14)


class NotRepresentableError(ValueError):
    """A value that has no wire form (a naive datetime, a non-finite float)."""


def format_datetime(value: datetime) -> str:
    """``value`` as an ``xs:dateTime`` with a timezone."""
    offset = value.utcoffset()
    if offset is None:
        raise NotRepresentableError(f"datetime {value.isoformat()} has no timezone")
    if offset % timedelta(minutes=1) or abs(offset) > _MAX_OFFSET:
        value, offset = value.astimezone(UTC), timedelta(0)
    text = value.replace(tzinfo=None).isoformat()
    if not offset:
        return text + "Z"
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(offset) // timedelta(minutes=1)
    return f"{text}{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def format_duration(value: timedelta) -> str:
    """``value`` as an ISO 8601 duration of days, hours, minutes and seconds (``PT0S`` for zero)."""
    sign = "-" if value < timedelta(0) else ""
    value = abs(value)
    days, seconds, micros = value.days, value.seconds, value.microseconds
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    time = ""
    if hours:
        time += f"{hours}H"
    if minutes:
        time += f"{minutes}M"
    if micros:
        time += f"{seconds}.{micros:06d}".rstrip("0") + "S"
    elif seconds or (not days and not time):
        time += f"{seconds}S"
    return f"{sign}P{f'{days}D' if days else ''}{f'T{time}' if time else ''}"


def _format_float(value: float) -> str:
    if not math.isfinite(value):
        raise NotRepresentableError(f"{value!r} is not a finite number")
    return repr(float(value))


def leaf_to_text(kind: Kind, value: Any) -> str:
    """The XML text of a leaf value of ``kind``."""
    if kind is Kind.STRING:
        return str(value)
    if kind is Kind.ENUM:
        return str(value.value if isinstance(value, Enum) else value)
    if kind is Kind.BOOL:
        return "true" if value else "false"
    if kind is Kind.INT:
        return str(int(value))
    if kind is Kind.FLOAT:
        return _format_float(value)
    if kind is Kind.DATETIME:
        return format_datetime(value)
    if kind is Kind.DURATION:
        return format_duration(value)
    raise TypeError(f"{kind.value} is not a leaf kind")


def leaf_to_json(kind: Kind, value: Any) -> Any:
    """The JSON value of a leaf value of ``kind`` (numbers and bools stay numbers and bools)."""
    if kind is Kind.BOOL:
        return bool(value)
    if kind is Kind.INT:
        return int(value)
    if kind is Kind.FLOAT:
        _format_float(value)
        return float(value)
    return leaf_to_text(kind, value)


def leaf_from_text(kind: Kind, text: str) -> Any:
    """The value pydantic validates for XML ``text`` of a leaf of ``kind`` (the text is XSD-valid)."""
    if kind in (Kind.STRING, Kind.ENUM):
        return text
    stripped = text.strip()
    if kind is Kind.BOOL:
        return stripped in ("true", "1")
    if kind is Kind.INT:
        return int(stripped)
    if kind is Kind.FLOAT:
        number = float(stripped)
        if not math.isfinite(number):
            raise NotRepresentableError(f"{stripped} is out of range; a finite number is needed")
        return number
    if kind in (Kind.DATETIME, Kind.DURATION):
        return stripped
    raise TypeError(f"{kind.value} is not a leaf kind")
