"""Hypothesis strategies: small planning problems that the exhaustive search can enumerate."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import strategies as st
from planner_builders import T0

from flexcem.model.flexibility import IncentiveProgram
from flexcem.model.power_profile import Direction, PowerSequence, ProfileSlot
from flexcem.model.tariff import PriceSlot
from flexcem.model.timeseries import PowerSlot
from flexcem.planner import FlexibleStartDevice, PlanningProblem, SiteLimits
from flexcem.planner.devices.flexible_start import candidate_set

HORIZON = timedelta(hours=11)
MAX_COMBINATIONS = 20_000


@st.composite
def sequences(draw: st.DrawFn, sequence_id: str, generation: bool = False) -> PowerSequence:
    """A programme of 1–3 phases of 5–60 minutes."""
    phases = draw(
        st.lists(
            st.tuples(st.integers(5, 60), st.integers(0, 3000)),
            min_size=1,
            max_size=3,
        )
    )
    return PowerSequence(
        sequence_id=sequence_id,
        direction=Direction.GENERATION if generation else Direction.CONSUMPTION,
        slots=tuple(ProfileSlot(duration=timedelta(minutes=m), power_w=float(w)) for m, w in phases),
    )


@st.composite
def flexible_devices(draw: st.DrawFn, index: int, allow_generation: bool) -> FlexibleStartDevice:
    """A flexible-start device with 1–2 alternatives and a window of up to three hours."""
    count = draw(st.integers(1, 2))
    generation = allow_generation and draw(st.booleans())
    alternatives = tuple(draw(sequences(f"p{k}", generation)) for k in range(count))
    longest = max(sequence.duration for sequence in alternatives)
    earliest = T0 + timedelta(minutes=draw(st.integers(-30, 180)))
    slack = timedelta(minutes=draw(st.integers(0, 180)))
    extra = timedelta(minutes=draw(st.integers(0, 60)))
    latest_start = earliest + slack
    committed = draw(st.none() | st.integers(0, 12))
    return FlexibleStartDevice(
        device_id=f"d{index}",
        earliest_start=earliest,
        latest_start=latest_start,
        latest_end=latest_start + longest + extra,
        alternatives=alternatives,
        incentive=draw(st.sampled_from([IncentiveProgram.CHEAPEST, IncentiveProgram.GREENEST])),
        committed_start=None if committed is None else earliest + committed * timedelta(minutes=15),
        committed_sequence_id=None if committed is None else alternatives[0].sequence_id,
        move_penalty=float(draw(st.sampled_from([0.0, 0.05, 0.5]))) if committed is not None else 0.0,
    )


@st.composite
def price_slots(draw: st.DrawFn, minutes: int, co2: bool, low: float = 0.0) -> tuple[PriceSlot, ...]:
    """Contiguous slots of ``minutes`` over the horizon, from 30 minutes before T0."""
    start = T0 - timedelta(minutes=30)
    count = (HORIZON + timedelta(minutes=60)) // timedelta(minutes=minutes) + 1
    values = draw(st.lists(st.integers(int(low * 100), 50), min_size=count, max_size=count))
    intensities = draw(st.lists(st.integers(50, 600), min_size=count, max_size=count))
    return tuple(
        PriceSlot(
            start=start + k * timedelta(minutes=minutes),
            duration=timedelta(minutes=minutes),
            price_per_kwh=values[k] / 100.0,
            co2_g_per_kwh=float(intensities[k]) if co2 else None,
        )
        for k in range(count)
    )


@st.composite
def problems(
    draw: st.DrawFn,
    *,
    max_devices: int = 3,
    allow_generation: bool = True,
    allow_greenest: bool = True,
) -> PlanningProblem:
    """A flexible-start-only problem with at most ``MAX_COMBINATIONS`` candidate combinations."""
    slot = timedelta(minutes=draw(st.sampled_from([10, 15, 20, 30])))
    count = draw(st.integers(1, max_devices))
    devices = [draw(flexible_devices(index, allow_generation)) for index in range(count)]
    if not allow_greenest:
        devices = [device.model_copy(update={"incentive": IncentiveProgram.CHEAPEST}) for device in devices]
    co2 = draw(st.booleans())
    import_prices = draw(price_slots(draw(st.sampled_from([15, 40, 60])), co2))
    export = draw(st.booleans())
    export_prices = draw(price_slots(60, False)) if export else ()
    committed = tuple(
        PowerSlot(start=T0 + timedelta(hours=h), duration=timedelta(hours=1), power_w=float(w))
        for h, w in enumerate(draw(st.lists(st.integers(-1500, 2000), min_size=0, max_size=8)))
    )
    problem = PlanningProblem(
        start=T0,
        slot_duration=slot,
        devices=tuple(devices),
        prices=import_prices,
        export_prices=export_prices,
        site=SiteLimits(
            import_limit_w=draw(st.none() | st.integers(500, 6000).map(float)),
            export_limit_w=draw(st.none() | st.integers(0, 3000).map(float)),
            committed_load=committed,
        ),
        objective=draw(st.sampled_from(["cost", "co2"])) if co2 else "cost",
    )
    grid = problem.grid()
    combinations = 1
    for device in devices:
        combinations *= candidate_set(device, grid).size
    if combinations > MAX_COMBINATIONS:
        # Keep the search small: narrow every window to its earliest start.
        devices = [device.model_copy(update={"latest_start": device.earliest_start}) for device in devices]
        problem = problem.model_copy(update={"devices": tuple(devices)})
    return problem
