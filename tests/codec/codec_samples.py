"""A realistic sample message shared by the codec tests and checked against docs/wire-format.md."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from flexcem.model import (
    EnergyShare,
    EnergySource,
    Envelope,
    FlexibleStartOffer,
    IncentiveProgram,
    PowerProfile,
    PowerSequence,
    ProfileSlot,
)

CEST = timezone(timedelta(hours=2))


def washer_offer() -> FlexibleStartOffer:
    """Cotton 40 with an eco and a quick alternative; start 08:00-14:00, done by 16:00 (CEST)."""
    eco = PowerSequence(
        sequence_id="eco",
        label="Cotton 40 eco",
        slots=(
            ProfileSlot(duration=timedelta(minutes=20), power_w=2000.0, max_power_w=2200.0, label="heating"),
            ProfileSlot(duration=timedelta(minutes=50), power_w=150.0, label="washing"),
            ProfileSlot(
                duration=timedelta(minutes=10),
                power_w=600.5,
                label="spinning",
                energy_sources=(EnergyShare(source=EnergySource.HOT_WATER, share=0.25),),
            ),
        ),
    )
    quick = PowerSequence(
        sequence_id="quick",
        label="Cotton 40 quick",
        confidence=0.9,
        slots=(ProfileSlot(duration=timedelta(minutes=45), power_w=1850.25, label="all-in-one"),),
    )
    earliest = datetime(2024, 5, 1, 8, 0, tzinfo=CEST)
    return FlexibleStartOffer(
        offer_id="job-2024-05-01-1",
        device_id="washer-1",
        earliest_start=earliest,
        latest_start=earliest + timedelta(hours=6),
        latest_end=earliest + timedelta(hours=8),
        incentive=IncentiveProgram.CHEAPEST,
        programme_duration=eco.duration,
        profile=PowerProfile(alternatives=(eco, quick)),
        programme="Cotton 40",
    )


def washer_envelope() -> Envelope:
    """The offer in an envelope from the washer to its CEM, asking for an acknowledgement."""
    return Envelope(  # type: ignore[call-arg]  # the type is taken from the body
        id="msg-0001",
        sender="home-42/washer-1",
        to="home-42/cem",
        created=datetime(2024, 5, 1, 7, 58, 12, 250000, tzinfo=CEST),
        expires=datetime(2024, 5, 1, 8, 58, 12, tzinfo=CEST),
        reply_to="home-42/washer-1",
        ack_requested=True,
        body=washer_offer(),
    )
