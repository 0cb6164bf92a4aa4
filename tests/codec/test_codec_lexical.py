"""Leaf values have one lexical form in XML and JSON, and it reads back exactly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter

from flexcem.codec.lexical import NotRepresentableError, format_datetime, format_duration

DURATION = TypeAdapter(timedelta)
INSTANT = TypeAdapter(datetime)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (timedelta(0), "PT0S"),
        (timedelta(minutes=15), "PT15M"),
        (timedelta(days=1, hours=2, minutes=30), "P1DT2H30M"),
        (timedelta(days=3), "P3D"),
        (timedelta(seconds=4, microseconds=500), "PT4.0005S"),
        (timedelta(microseconds=1), "PT0.000001S"),
        (-timedelta(seconds=5), "-PT5S"),
        (-timedelta(days=1, microseconds=1), "-P1DT0.000001S"),
    ],
)
def test_duration_forms(value: timedelta, text: str) -> None:
    assert format_duration(value) == text


@settings(deadline=None)
@given(value=st.timedeltas(min_value=timedelta(days=-(10**6)), max_value=timedelta(days=10**6)))
def test_durations_read_back_exactly(value: timedelta) -> None:
    text = format_duration(value)
    assert DURATION.validate_python(text) == value
    assert DURATION.validate_json(f'"{text}"') == value


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (datetime(2024, 5, 1, 8, tzinfo=UTC), "2024-05-01T08:00:00Z"),
        (
            datetime(2024, 5, 1, 8, 0, 0, 250, tzinfo=timezone(timedelta(hours=2))),
            "2024-05-01T08:00:00.000250+02:00",
        ),
        (
            datetime(2024, 5, 1, 8, tzinfo=timezone(-timedelta(hours=3, minutes=30))),
            "2024-05-01T08:00:00-03:30",
        ),
        # Offsets XSD cannot express travel in UTC: the instant is kept.
        (datetime(2024, 5, 1, 8, tzinfo=timezone(timedelta(hours=1, seconds=30))), "2024-05-01T06:59:30Z"),
        (datetime(2024, 5, 1, 8, tzinfo=timezone(timedelta(hours=15))), "2024-04-30T17:00:00Z"),
    ],
)
def test_datetime_forms(value: datetime, text: str) -> None:
    assert format_datetime(value) == text
    assert INSTANT.validate_python(text) == value


def test_naive_datetime_has_no_wire_form() -> None:
    with pytest.raises(NotRepresentableError, match="no timezone"):
        format_datetime(datetime(2024, 5, 1, 8))
