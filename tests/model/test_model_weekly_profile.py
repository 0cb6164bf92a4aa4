"""Weekly temperature profiles (flexcem.model.weekly_profile; JWG1110 acceptance test 5): weekday and weekend
variants give different set points at the same hour of a Tuesday and a Saturday; local times hold across the
daylight-saving changes of the home's zone; bad input is refused naming the field."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from flexcem.model import DayType, ProfilePiece, WeeklyTemperatureProfile, day_type

ZONE = ZoneInfo("Europe/Berlin")
PROFILE = WeeklyTemperatureProfile.model_validate(
    {
        "weekday": [
            {"start": "00:00", "end": "06:00", "low_c": 16.0, "high_c": 26.0},
            {"start": "06:00", "end": "08:00", "set_point_c": 21.0},
            {"start": "17:00", "end": "00:00", "set_point_c": 22.0},
        ],
        "weekend": [{"start": "08:00", "end": "23:00", "set_point_c": 24.0}],
    }
)


def local(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """A local time in :data:`ZONE`."""
    return datetime(year, month, day, hour, minute, tzinfo=ZONE)


def test_day_types_are_monday_to_friday_and_the_weekend() -> None:
    days = [local(2021, 7, 5, 12) + timedelta(days=k) for k in range(7)]  # Monday 5 July 2021 on
    assert [day_type(d.date()) for d in days] == [DayType.WEEKDAY] * 5 + [DayType.WEEKEND] * 2


def test_a_tuesday_and_a_saturday_at_the_same_hour_get_their_own_set_point() -> None:
    tuesday, saturday = local(2021, 7, 6, 18), local(2021, 7, 10, 18)
    assert tuesday.strftime("%A") == "Tuesday" and saturday.strftime("%A") == "Saturday"
    on_tuesday, on_saturday = PROFILE.piece_at(tuesday, ZONE), PROFILE.piece_at(saturday, ZONE)
    assert on_tuesday is not None and on_saturday is not None
    assert (on_tuesday.set_point_c, on_saturday.set_point_c) == (22.0, 24.0)
    assert (on_tuesday.low, on_tuesday.high) == (21.0, 23.0), "a set point s is the band [s − 1, s + 1]"
    assert PROFILE.piece_at(local(2021, 7, 6, 12), ZONE) is None, "no piece at noon on a weekday"


def test_resolved_slots_follow_the_pieces_day_by_day() -> None:
    slots = PROFILE.resolve(local(2021, 7, 9, 12), local(2021, 7, 10, 12), ZONE)  # Friday noon to Saturday noon
    got = [
        (s.start.astimezone(ZONE).strftime("%a %H:%M"), s.end.astimezone(ZONE).strftime("%H:%M"), s.low_c)
        for s in slots
    ]
    assert got == [("Fri 17:00", "00:00", 21.0), ("Sat 08:00", "12:00", 23.0)]
    assert all(s.start.tzinfo is UTC for s in slots)


@pytest.mark.parametrize(
    ("day", "hours"),
    [((2021, 3, 28), 23), ((2021, 10, 31), 25)],
    ids=["spring-forward", "fall-back"],
)
def test_local_times_hold_across_a_daylight_saving_change(day: tuple[int, int, int], hours: int) -> None:
    before = datetime(*day, tzinfo=ZONE) - timedelta(days=1)
    slots = PROFILE.resolve(before, datetime(*day, tzinfo=ZONE) + timedelta(days=2), ZONE)
    starts = [s.start.astimezone(ZONE) for s in slots]
    assert {(at.hour, at.minute) for at in starts} == {(8, 0), (0, 0), (6, 0), (17, 0)}
    utc_hours = {at.astimezone(UTC).hour for at in starts if (at.hour, at.weekday()) == (8, 6)}
    assert len(utc_hours) == 1
    whole_day = [s for s in slots if s.start.astimezone(ZONE).date() == datetime(*day).date()]
    assert sum((s.duration for s in whole_day), timedelta()) == timedelta(hours=15), "08:00–23:00 local is 15 h"
    midnight = datetime(*day, tzinfo=ZONE)
    length = (midnight + timedelta(days=1)).astimezone(UTC) - midnight.astimezone(UTC)
    assert length == timedelta(hours=hours), "the day of the change is not 24 h long"


def test_a_piece_in_the_skipped_hour_is_cut_not_overlapping() -> None:
    profile = WeeklyTemperatureProfile(
        weekday=(ProfilePiece(start=time(0), end=time(0), set_point_c=20.0),),
        weekend=(
            ProfilePiece(start=time(0), end=time(2, 30), set_point_c=18.0),
            ProfilePiece(start=time(2, 30), end=time(0), set_point_c=22.0),
        ),
    )
    slots = profile.resolve(local(2021, 3, 28, 0), local(2021, 3, 29, 0), ZONE)
    for before, after in pairwise(slots):
        assert before.end <= after.start
    assert sum((s.duration for s in slots), timedelta()) == timedelta(hours=23)


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        (
            {
                "weekday": [
                    {"start": "06:00", "end": "09:00", "set_point_c": 21},
                    {"start": "08:00", "end": "12:00", "set_point_c": 22},
                ],
                "weekend": [{"start": "00:00", "end": "00:00", "set_point_c": 22}],
            },
            "weekday",
            "overlaps",
        ),
        (
            {
                "weekday": [{"start": "00:00", "end": "00:00", "set_point_c": 21}],
                "weekend": [{"start": "00:00", "end": "00:00", "set_point_c": 22}],
                "holiday": [{"start": "00:00", "end": "00:00", "set_point_c": 22}],
            },
            "holiday",
            "Extra inputs",
        ),
        (
            {
                "weekday": [{"start": "09:00", "end": "06:00", "set_point_c": 21}],
                "weekend": [{"start": "00:00", "end": "00:00", "set_point_c": 22}],
            },
            "weekday.0",
            "not after start",
        ),
        (
            {
                "weekday": [{"start": "06:00", "end": "09:00", "low_c": 21}],
                "weekend": [{"start": "00:00", "end": "00:00", "set_point_c": 22}],
            },
            "weekday.0",
            "set_point_c, or low_c and high_c",
        ),
        ({"weekday": [{"start": "06:00", "end": "09:00", "set_point_c": 21}]}, "weekend", "Field required"),
        (
            {"weekday": [], "weekend": [{"start": "00:00", "end": "00:00", "set_point_c": 22}]},
            "weekday",
            "at least one piece",
        ),
    ],
    ids=["overlap", "unknown-day-type", "end-before-start", "no-band", "missing-day-type", "empty"],
)
def test_bad_profiles_are_refused_naming_the_field(data: dict[str, object], field: str, words: str) -> None:
    with pytest.raises(ValidationError) as caught:
        WeeklyTemperatureProfile.model_validate(data)
    errors = caught.value.errors()
    assert any(".".join(str(part) for part in error["loc"]) == field for error in errors), errors
    assert words in str(caught.value)
