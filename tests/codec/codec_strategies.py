"""Hypothesis strategies that build valid instances of every registered message and of the envelope.

Validators are respected by construction: contiguous slots, unique sequence ids, a flexible-start window
with ``latest_start + programme_duration <= latest_end``, a concave, non-increasing charge curve and a
charging window at least as long as the shortest charge, exactly one of ``start``/``start_in``, and so on.

A message type registered later without an entry in :data:`MESSAGE_STRATEGIES` is covered by
:func:`generic_messages`, which draws data from the type's wire shape and keeps what the model accepts.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import assume
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from flexcem.codec.shapes import Kind, ValueShape, model_shape
from flexcem.model import (
    POWER_COMMANDS,
    Ack,
    ActivationTrigger,
    BindingLevel,
    ChargeCurvePoint,
    ChargingSessionOffer,
    CommandKind,
    CommandResult,
    CostEstimate,
    DeviceCapabilities,
    DeviceFunction,
    DeviceKind,
    DeviceRegistration,
    DeviceState,
    DeviceStatus,
    Direction,
    EnergyShare,
    EnergySource,
    Envelope,
    FlexibilityRequest,
    FlexibleStartOffer,
    FlexModel,
    IncentiveProgram,
    Nack,
    OfferWithdrawal,
    PowerProfile,
    PowerSequence,
    PowerSeries,
    PowerSlot,
    Presence,
    PresenceState,
    PriceEnvironmentProfile,
    PriceSlot,
    ProfileSlot,
    ServiceDescriptor,
    SimpleCommand,
    SlotShift,
    SlotShiftResponse,
    StartTimeAssignment,
    StatusRequest,
    TariffKind,
    TimeSeries,
    Unsupported,
    ValueSlot,
    message_types,
)

# --- scalars ---------------------------------------------------------------------------------------------

identifiers = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,15}", fullmatch=True)
message_ids = st.from_regex(r"[A-Za-z0-9_.:\-]{1,40}", fullmatch=True)
currencies = st.from_regex(r"[A-Z]{3}", fullmatch=True)

# Text XML 1.0 can carry: no C0 controls except tab, LF and CR; no surrogates or non-characters.
_characters = st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Cn")) | st.sampled_from("\t\n\r")


def texts(max_size: int, min_size: int = 0) -> st.SearchStrategy[str]:
    """Free text of the given length in characters."""
    return st.text(_characters, min_size=min_size, max_size=max_size)


def optional_texts(max_size: int) -> st.SearchStrategy[str | None]:
    """Free text or ``None``."""
    return st.none() | texts(max_size)


# Fixed offsets only: datetimes in a zone's repeated hour never compare equal across zones (PEP 495).
# Offsets with seconds or beyond ±14:00 have no xs:dateTime form and travel in UTC.
_zones = st.sampled_from(
    [
        UTC,
        timezone(timedelta(hours=2)),
        timezone(timedelta(hours=-5, minutes=-30)),
        timezone(timedelta(hours=14)),
        timezone(timedelta(hours=5, minutes=45, seconds=30)),
        timezone(timedelta(hours=-20)),
    ]
) | st.integers(-14 * 60, 14 * 60).map(lambda minutes: timezone(timedelta(minutes=minutes)))

datetimes = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2090, 1, 1), timezones=_zones)
positive_durations = st.timedeltas(min_value=timedelta(microseconds=1), max_value=timedelta(hours=12))
non_negative_durations = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=3))
shares = st.floats(min_value=0.0, max_value=1.0)


def floats(min_value: float | None = None, max_value: float | None = None, *, exclude_min: bool = False) -> Any:
    """Finite floats in the bounds."""
    return st.floats(
        min_value=min_value,
        max_value=max_value,
        exclude_min=exclude_min,
        allow_nan=False,
        allow_infinity=False,
    )


_domains = identifiers.filter(lambda name: name not in ("all", "grp"))
endpoints = st.builds(lambda domain, name: f"{domain}/{name}", _domains, _domains)
addresses = (
    endpoints
    | st.builds(lambda domain, group: f"{domain}/grp/{group}", _domains, identifiers)
    | _domains.map(lambda domain: f"{domain}/all")
)

# --- series and profiles ---------------------------------------------------------------------------------


@st.composite
def _contiguous(draw: st.DrawFn, slot: type[BaseModel], extra: st.SearchStrategy[dict[str, Any]]) -> Any:
    start = draw(datetimes)
    slots = []
    for duration in draw(st.lists(positive_durations, min_size=1, max_size=5)):
        slots.append(slot(start=start, duration=duration, **draw(extra)))
        start += duration
    return tuple(slots)


power_series = st.builds(PowerSeries, slots=_contiguous(PowerSlot, st.fixed_dictionaries({"power_w": floats()})))
time_series = st.builds(
    TimeSeries,
    slots=_contiguous(ValueSlot, st.fixed_dictionaries({"value": floats()})),
    quantity=texts(64, min_size=1),
    unit=texts(32, min_size=1),
)
price_profiles = st.builds(
    PriceEnvironmentProfile,
    slots=_contiguous(
        PriceSlot,
        st.fixed_dictionaries(
            {
                "price_per_kwh": floats(-10.0, 10.0),
                "co2_g_per_kwh": st.none() | floats(0.0, 2000.0),
                "renewable_share": st.none() | shares,
            }
        ),
    ),
    profile_id=identifiers,
    revision=st.integers(0, 2**70),
    issued_at=datetimes,
    currency=currencies,
    binding=st.sampled_from(BindingLevel),
    kind=st.sampled_from(TariffKind),
    applies_to=st.sampled_from(Direction),
    tariff_name=optional_texts(128),
)


@st.composite
def _energy_sources(draw: st.DrawFn) -> tuple[EnergyShare, ...]:
    count = draw(st.integers(0, 3))
    return tuple(
        EnergyShare(source=draw(st.sampled_from(EnergySource)), share=draw(floats(0.0, 1.0 / count)))
        for _ in range(count)
    )


@st.composite
def profile_slots(draw: st.DrawFn) -> ProfileSlot:
    """A phase whose peak is at least its average and whose energy shares add up to at most 1."""
    power = draw(floats(0.0, 50_000.0))
    peak = draw(st.none() | floats(0.0, 10_000.0).map(lambda extra: power + extra))
    return ProfileSlot(
        duration=draw(positive_durations),
        power_w=power,
        max_power_w=peak,
        label=draw(optional_texts(64)),
        energy_sources=draw(_energy_sources()),
    )


power_sequences = st.builds(
    PowerSequence,
    sequence_id=identifiers,
    label=optional_texts(64),
    direction=st.sampled_from(Direction),
    confidence=shares,
    slots=st.lists(profile_slots(), min_size=1, max_size=4).map(tuple),
)
power_profiles = st.builds(
    PowerProfile,
    alternatives=st.lists(power_sequences, min_size=1, max_size=3, unique_by=lambda s: s.sequence_id).map(tuple),
)

# --- messages --------------------------------------------------------------------------------------------


@st.composite
def flexible_start_offers(draw: st.DrawFn) -> FlexibleStartOffer:
    """An offer whose window fits: latest_start + preferred duration and earliest + longest <= latest_end."""
    profile = draw(power_profiles)
    earliest = draw(datetimes)
    latest_start = earliest + draw(non_negative_durations)
    latest_end = latest_start + profile.longest + draw(non_negative_durations)  # fits every alternative
    return FlexibleStartOffer(
        offer_id=draw(identifiers),
        device_id=draw(identifiers),
        trigger=draw(st.sampled_from(ActivationTrigger)),
        earliest_start=earliest,
        latest_start=latest_start,
        latest_end=latest_end,
        incentive=draw(st.none() | st.sampled_from(IncentiveProgram)),
        programme_duration=profile.alternatives[0].duration,
        profile=profile,
        programme=draw(optional_texts(64)),
    )


@st.composite
def _charge_curve(draw: st.DrawFn, max_power_w: float) -> tuple[ChargeCurvePoint, ...]:
    """Equally spaced points with non-decreasing drops: non-increasing and concave by construction."""
    count = draw(st.integers(0, 4))
    if count == 0:
        return ()
    step = draw(st.integers(100, 20_000))
    first = draw(floats(500.0, max_power_w))
    drops = sorted(draw(st.lists(floats(0.0, first / (2 * count)), min_size=count - 1, max_size=count - 1)))
    points, power = [ChargeCurvePoint(energy_wh=0.0, max_power_w=first)], first
    for index, drop in enumerate(drops, start=1):
        power -= drop
        points.append(ChargeCurvePoint(energy_wh=float(index * step), max_power_w=power))
    return tuple(points)


@st.composite
def charging_session_offers(draw: st.DrawFn) -> ChargingSessionOffer:
    """A charging need whose window holds the shortest possible charge."""
    max_power = draw(floats(1_000.0, 22_000.0))
    fields: dict[str, Any] = {
        "offer_id": draw(identifiers),
        "device_id": draw(identifiers),
        "trigger": draw(st.sampled_from(ActivationTrigger)),
        "incentive": draw(st.none() | st.sampled_from(IncentiveProgram)),
        "energy_wh": draw(floats(100.0, 100_000.0)),
        "max_power_w": max_power,
        "min_power_w": draw(floats(0.0, max_power)),
        "power_curve": draw(_charge_curve(max_power)),
    }
    shortest = ChargingSessionOffer.model_construct(**fields).minimum_duration()
    earliest = draw(datetimes)
    latest_start = earliest + draw(non_negative_durations)
    latest_end = latest_start + shortest + draw(non_negative_durations)
    return ChargingSessionOffer(earliest_start=earliest, latest_start=latest_start, latest_end=latest_end, **fields)


@st.composite
def device_capabilities(draw: st.DrawFn) -> DeviceCapabilities:
    """Capabilities with min_power_w <= max_power_w."""
    max_power = draw(floats(0.0, 1e6, exclude_min=True))
    return DeviceCapabilities(
        device_id=draw(identifiers),
        kind=draw(st.sampled_from(DeviceKind)),
        manufacturer=draw(optional_texts(64)),
        model=draw(optional_texts(64)),
        functions=tuple(draw(st.lists(st.sampled_from(DeviceFunction), min_size=1, max_size=4))),
        commands=tuple(draw(st.lists(st.sampled_from(CommandKind), max_size=3))),
        max_power_w=max_power,
        min_power_w=draw(floats(0.0, max_power)),
        energy_capacity_wh=draw(st.none() | floats(0.0, 1e6, exclude_min=True)),
        failsafe_after=draw(st.none() | positive_durations),
        minimum_lead_time=draw(non_negative_durations),
    )


def _timed_start(draw: st.DrawFn) -> dict[str, Any]:
    absolute = draw(st.booleans())
    return {
        "offer_id": draw(identifiers),
        "device_id": draw(identifiers),
        "start": draw(datetimes) if absolute else None,
        "start_in": None if absolute else draw(non_negative_durations),
        "sequence_id": draw(st.none() | identifiers),
    }


@st.composite
def start_time_assignments(draw: st.DrawFn) -> StartTimeAssignment:
    """Exactly one of start and start_in."""
    return StartTimeAssignment(**_timed_start(draw), power_limits=draw(st.none() | power_series))


@st.composite
def slot_shifts(draw: st.DrawFn) -> SlotShift:
    """Exactly one of start and start_in, with a profile."""
    return SlotShift(**_timed_start(draw), profile=draw(power_series))


@st.composite
def slot_shift_responses(draw: st.DrawFn) -> SlotShiftResponse:
    """Accepted with the confirmed profile, or refused with a reason."""
    accepted = draw(st.booleans())
    return SlotShiftResponse(
        offer_id=draw(identifiers),
        device_id=draw(identifiers),
        accepted=accepted,
        confirmed_profile=draw(power_series if accepted else st.none() | power_series),
        reason=draw(optional_texts(256) if accepted else texts(256, min_size=1)),
    )


@st.composite
def command_results(draw: st.DrawFn) -> CommandResult:
    """Successful, or unsuccessful with a reason."""
    success = draw(st.booleans())
    return CommandResult(
        device_id=draw(identifiers),
        command=draw(st.sampled_from(CommandKind)),
        success=success,
        state=draw(st.sampled_from(DeviceState)),
        reason=draw(optional_texts(256) if success else texts(256, min_size=1)),
    )


MESSAGE_STRATEGIES: dict[str, st.SearchStrategy[Any]] = {
    "Ack": st.builds(Ack, ref=message_ids),
    "Nack": st.builds(Nack, ref=message_ids, reason=texts(1024, min_size=1), field=optional_texts(256)),
    "Unsupported": st.builds(Unsupported, ref=message_ids, message_type=texts(128)),
    "DeviceRegistration": st.builds(DeviceRegistration, capabilities=device_capabilities()),
    "DeviceStatus": st.builds(
        DeviceStatus,
        device_id=identifiers,
        state=st.sampled_from(DeviceState),
        at=datetimes,
        offer_id=st.none() | identifiers,
        programme=optional_texts(64),
        power_w=floats(),
        energy_wh=floats(0.0),
        remaining_time=st.none() | non_negative_durations,
        assigned_start=st.none() | datetimes,
        latest_end=st.none() | datetimes,
        flexible_start=st.booleans(),
        reason=optional_texts(256),
    ),
    "StatusRequest": st.builds(StatusRequest, device_id=identifiers),
    "FlexibleStartOffer": flexible_start_offers(),
    "ChargingSessionOffer": charging_session_offers(),
    "FlexibilityRequest": st.builds(FlexibilityRequest, device_id=identifiers),
    "OfferWithdrawal": st.builds(OfferWithdrawal, offer_id=identifiers, device_id=identifiers, reason=texts(256)),
    "StartTimeAssignment": start_time_assignments(),
    "SlotShift": slot_shifts(),
    "SlotShiftResponse": slot_shift_responses(),
    "CostEstimate": st.builds(
        CostEstimate,
        offer_id=identifiers,
        device_id=identifiers,
        currency=currencies,
        expected_cost=floats(),
        expected_energy_wh=floats(0.0),
        expected_co2_g=st.none() | floats(0.0),
        start=datetimes,
        end=datetimes,
    ),
    "SimpleCommand": st.sampled_from(CommandKind).flatmap(
        lambda command: st.builds(
            SimpleCommand,
            device_id=identifiers,
            command=st.just(command),
            reason=optional_texts(256),
            power_w=floats(0.0, 1e6) if command in POWER_COMMANDS else st.none() | floats(0.0, 1e6),
        )
    ),
    "CommandResult": command_results(),
    "PriceEnvironmentProfile": price_profiles,
    "TimeSeries": time_series,
    "Presence": st.builds(Presence, address=addresses, state=st.sampled_from(PresenceState), since=datetimes),
    "ServiceDescriptor": st.builds(
        ServiceDescriptor,
        name=identifiers,
        address=addresses,
        message_types=st.lists(identifiers, max_size=4).map(tuple),
        schema_version=st.from_regex(r"[0-9]{1,2}\.[0-9]{1,2}", fullmatch=True),
        description=optional_texts(256),
    ),
}

# --- generic fallback ------------------------------------------------------------------------------------


def _generic_value(shape: ValueShape) -> st.SearchStrategy[Any]:
    facets = shape.facets
    if shape.kind is Kind.MODEL:
        assert shape.model is not None
        return generic_data(shape.model)
    if shape.kind is Kind.LIST:
        fewest = facets.min_length or 0
        return st.lists(_generic_value(shape.item_shape), min_size=fewest, max_size=max(fewest, facets.max_length or 3))
    if shape.kind is Kind.ENUM:
        assert shape.enum is not None
        return st.sampled_from(list(shape.enum))
    if shape.kind is Kind.STRING:
        if facets.pattern is not None:
            return st.from_regex(facets.pattern)
        return texts(facets.max_length or 40, facets.min_length or 0)
    if shape.kind is Kind.BOOL:
        return st.booleans()
    low: float | None = facets.ge if facets.ge is not None else facets.gt
    high: float | None = facets.le if facets.le is not None else facets.lt
    if shape.kind is Kind.INT:
        lowest = None if low is None else int(low) + (1 if facets.gt is not None else 0)
        highest = None if high is None else int(high) - (1 if facets.lt is not None else 0)
        return st.integers(lowest, highest)
    if shape.kind is Kind.FLOAT:
        return st.floats(low, high, exclude_min=facets.gt is not None, allow_nan=False, allow_infinity=False)
    if shape.kind is Kind.DATETIME:
        return datetimes
    if shape.kind is Kind.DURATION:
        return positive_durations
    raise AssertionError(f"no generic strategy for {shape.kind}")


def generic_data(model: type[BaseModel]) -> st.SearchStrategy[dict[str, Any]]:
    """Wire data for ``model`` from its shape (optional fields sometimes left out)."""
    required: dict[str, st.SearchStrategy[Any]] = {}
    optional: dict[str, st.SearchStrategy[Any]] = {}
    for field in model_shape(model).fields:
        value = _generic_value(field.value)
        if field.nullable:
            value = st.none() | value
        (required if field.required else optional)[field.wire] = value
    return st.fixed_dictionaries(required, optional=optional)


@st.composite
def generic_messages(draw: st.DrawFn, model: type[BaseModel]) -> Any:
    """An instance of ``model`` built from generic data; draws the model rejects are discarded."""
    data = draw(generic_data(model))
    try:
        return model.model_validate(data)
    except ValidationError:
        assume(False)


def messages(message_type: str) -> st.SearchStrategy[FlexModel]:
    """Valid bodies of ``message_type``."""
    strategy = MESSAGE_STRATEGIES.get(message_type)
    return strategy if strategy is not None else generic_messages(message_types()[message_type])


@st.composite
def envelopes(draw: st.DrawFn, message_type: str | None = None) -> Envelope:
    """A valid envelope with a body of ``message_type`` (any registered type when ``None``)."""
    name = message_type or draw(st.sampled_from(sorted(message_types())))
    created = draw(datetimes)
    return Envelope(  # type: ignore[call-arg]  # the type is taken from the body
        id=draw(message_ids),
        sender=draw(endpoints),
        to=draw(addresses),
        created=created,
        expires=draw(st.none() | positive_durations.map(lambda ttl: created + ttl)),
        correlation_id=draw(st.none() | message_ids),
        reply_to=draw(st.none() | addresses),
        ack_requested=draw(st.booleans()),
        schema_version=draw(st.sampled_from(["1.0", "1.0", "1.4"])),
        body=draw(messages(name)),
    )


# --- home devices (issue 4) ------------------------------------------------------------------------------
# Imported last: the home strategies build on the scalars and series above.
from home_strategies import HOME_STRATEGIES  # noqa: E402

MESSAGE_STRATEGIES.update(HOME_STRATEGIES)

# --- grid signals (issue 5) ------------------------------------------------------------------------------
from grid_strategies import GRID_STRATEGIES  # noqa: E402

MESSAGE_STRATEGIES.update(GRID_STRATEGIES)
