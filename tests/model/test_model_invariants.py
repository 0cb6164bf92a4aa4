"""The model's validators enforce the invariants of the report and name the offending field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flexcem.model import (
    ChargeCurvePoint,
    ChargingSessionOffer,
    Envelope,
    FlexibleStartOffer,
    PowerProfile,
    PowerSequence,
    PowerSeries,
    PowerSlot,
    PriceEnvironmentProfile,
    PriceSlot,
    ProfileSlot,
    SlotShiftResponse,
    StartTimeAssignment,
    StatusRequest,
    ValidationError,
    parse_address,
)

T0 = datetime(2026, 6, 1, 12, tzinfo=UTC)


def _sequence(*minutes_and_watts: tuple[int, float], sequence_id: str = "run") -> PowerSequence:
    return PowerSequence(
        sequence_id=sequence_id,
        slots=tuple(ProfileSlot(duration=timedelta(minutes=m), power_w=w) for m, w in minutes_and_watts),
    )


def _offer(**changes: object) -> FlexibleStartOffer:
    sequence = _sequence((20, 2000), (60, 150))
    fields: dict[str, object] = {
        "offer_id": "j1",
        "device_id": "washer",
        "earliest_start": T0,
        "latest_start": T0 + timedelta(hours=4),
        "latest_end": T0 + timedelta(hours=6),
        "programme_duration": sequence.duration,
        "profile": PowerProfile(alternatives=(sequence,)),
    }
    fields.update(changes)
    return FlexibleStartOffer(**fields)  # type: ignore[arg-type]


def _locations(error: pytest.ExceptionInfo[ValidationError]) -> list[str]:
    return [".".join(str(part) for part in item["loc"]) for item in error.value.errors()]


def test_latest_start_plus_duration_must_not_pass_the_latest_end() -> None:
    with pytest.raises(ValidationError, match="is after latest_end"):
        _offer(latest_start=T0 + timedelta(hours=5))


def test_earliest_start_plus_each_alternative_must_fit_before_the_latest_end() -> None:
    long = _sequence((400, 500), sequence_id="long")
    short = _sequence((20, 2000), (60, 150))
    with pytest.raises(ValidationError, match=r"alternatives\[1\] \(long\)"):
        _offer(profile=PowerProfile(alternatives=(short, long)))


def test_latest_start_before_earliest_start_is_refused() -> None:
    with pytest.raises(ValidationError, match="before earliest_start"):
        _offer(latest_start=T0 - timedelta(minutes=1))


def test_naive_datetimes_are_refused_naming_the_field() -> None:
    with pytest.raises(ValidationError) as error:
        _offer(earliest_start=datetime(2026, 6, 1, 12))
    assert _locations(error) == ["earliest_start"]


def test_unknown_fields_are_refused_naming_the_field() -> None:
    with pytest.raises(ValidationError) as error:
        StatusRequest.model_validate({"device_id": "washer", "colour": "blue"})
    assert _locations(error) == ["colour"]


def test_slots_must_be_contiguous() -> None:
    a = PowerSlot(start=T0, duration=timedelta(minutes=15), power_w=1.0)
    gap = PowerSlot(start=T0 + timedelta(minutes=20), duration=timedelta(minutes=15), power_w=1.0)
    with pytest.raises(ValidationError, match="leaves a gap"):
        PowerSeries(slots=(a, gap))
    overlap = PowerSlot(start=T0 + timedelta(minutes=10), duration=timedelta(minutes=15), power_w=1.0)
    with pytest.raises(ValidationError, match="overlaps"):
        PowerSeries(slots=(a, overlap))


@given(st.lists(st.integers(min_value=1, max_value=240), min_size=1, max_size=30), st.integers(0, 10_000))
def test_slot_at_finds_the_slot_containing_an_instant(minutes: list[int], probe: int) -> None:
    slots, cursor = [], T0
    for length in minutes:
        slots.append(PowerSlot(start=cursor, duration=timedelta(minutes=length), power_w=float(length)))
        cursor += timedelta(minutes=length)
    series = PowerSeries(slots=tuple(slots))
    instant = T0 + timedelta(minutes=probe % (sum(minutes) + 10))
    found = series.slot_at(instant)
    expected = next((slot for slot in slots if slot.start <= instant < slot.end), None)
    assert found == expected


def test_durations_must_be_positive_and_powers_non_negative() -> None:
    with pytest.raises(ValidationError) as error:
        ProfileSlot(duration=timedelta(0), power_w=-5.0)
    assert sorted(_locations(error)) == ["duration", "power_w"]


def test_alternative_ids_are_unique() -> None:
    with pytest.raises(ValidationError, match="appears more than once"):
        PowerProfile(alternatives=(_sequence((10, 1)), _sequence((20, 1))))


def test_start_assignment_is_absolute_or_relative_never_both() -> None:
    with pytest.raises(ValidationError, match="exactly one of start"):
        StartTimeAssignment(offer_id="j", device_id="d", start=T0, start_in=timedelta(minutes=5))
    with pytest.raises(ValidationError, match="exactly one of start"):
        StartTimeAssignment(offer_id="j", device_id="d")
    relative = StartTimeAssignment(offer_id="j", device_id="d", start_in=timedelta(minutes=5))
    assert relative.start_at(T0) == T0 + timedelta(minutes=5)


def test_refused_slot_shift_needs_a_reason_and_an_accepted_one_the_profile() -> None:
    with pytest.raises(ValidationError, match="must give a reason"):
        SlotShiftResponse(offer_id="j", device_id="d", accepted=False)
    with pytest.raises(ValidationError, match="confirmed_profile"):
        SlotShiftResponse(offer_id="j", device_id="d", accepted=True)


def test_charging_offer_must_be_achievable_in_its_window() -> None:
    with pytest.raises(ValidationError, match="needs at least"):
        ChargingSessionOffer(
            offer_id="s",
            device_id="ev",
            earliest_start=T0,
            latest_start=T0,
            latest_end=T0 + timedelta(hours=1),
            energy_wh=20_000,
            max_power_w=11_000,
        )


def test_charge_curve_must_be_concave_and_non_increasing() -> None:
    convex = (
        ChargeCurvePoint(energy_wh=0, max_power_w=11_000),
        ChargeCurvePoint(energy_wh=1000, max_power_w=5_000),
        ChargeCurvePoint(energy_wh=2000, max_power_w=4_500),
    )
    with pytest.raises(ValidationError, match="concave"):
        ChargingSessionOffer(
            offer_id="s",
            device_id="ev",
            earliest_start=T0,
            latest_start=T0,
            latest_end=T0 + timedelta(hours=10),
            energy_wh=1500,
            max_power_w=11_000,
            power_curve=convex,
        )


def test_minimum_charging_duration_integrates_the_taper() -> None:
    offer = ChargingSessionOffer(
        offer_id="s",
        device_id="ev",
        earliest_start=T0,
        latest_start=T0,
        latest_end=T0 + timedelta(hours=12),
        energy_wh=30_000,
        max_power_w=10_000,
        power_curve=(
            ChargeCurvePoint(energy_wh=0, max_power_w=10_000),
            ChargeCurvePoint(energy_wh=20_000, max_power_w=10_000),
            ChargeCurvePoint(energy_wh=40_000, max_power_w=2_000),
        ),
    )
    # 2 h flat, then dE/dt = 10000 - 0.4 (E - 20000): 10 kWh more takes ln(10000 / 6000) / 0.4 h.
    import math

    expected = 2.0 + math.log(10_000 / 6_000) / 0.4
    assert offer.minimum_duration().total_seconds() / 3600 == pytest.approx(expected, abs=1 / 3600)
    assert offer.limit_at(30_000) == pytest.approx(6_000)


def test_price_profile_must_be_contiguous_and_carries_its_binding_level() -> None:
    slots = tuple(
        PriceSlot(start=T0 + timedelta(hours=h), duration=timedelta(hours=1), price_per_kwh=0.1 * h) for h in range(3)
    )
    profile = PriceEnvironmentProfile(profile_id="p", issued_at=T0, slots=slots)
    assert profile.binding == "binding" and profile.end == T0 + timedelta(hours=3)
    with pytest.raises(ValidationError):
        PriceEnvironmentProfile(profile_id="p", issued_at=T0, slots=(slots[0], slots[2]))


def test_envelope_types_its_body_and_checks_addresses() -> None:
    envelope = Envelope(sender="home/cem", to="home/grp/heaters", created=T0, body=StatusRequest(device_id="washer"))
    assert envelope.type == "StatusRequest"
    assert envelope.model_dump()["from"] == "home/cem"
    with pytest.raises(ValidationError, match="not an address"):
        Envelope(sender="home cem", to="home/all", created=T0, body=StatusRequest(device_id="w"))
    with pytest.raises(ValidationError, match="expires must be after created"):
        Envelope(sender="home/cem", to="home/all", created=T0, expires=T0, body=StatusRequest(device_id="w"))
    with pytest.raises(ValueError, match="reserved"):
        parse_address("home/grp")
    assert parse_address("home/all").kind == "broadcast"
