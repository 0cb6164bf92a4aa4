"""Hypothesis strategies for the grid signals and their answers (issue 5).

Valid by construction: windows with end after start, deadlines before the end, ramps inside the window,
exactly one of an absolute and a relative amount, estimates where a not-sufficient answer needs them, a
reason on every refusal, curves covering exactly the reported period, ordered shut-off blocks, warnings
beyond their limit and time differences beyond their alarm threshold.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from codec_strategies import (
    currencies,
    datetimes,
    floats,
    identifiers,
    non_negative_durations,
    optional_texts,
    positive_durations,
    power_series,
    price_profiles,
    texts,
)
from hypothesis import strategies as st

from flexcem.model import (
    AdjustmentAction,
    AlertLevel,
    AliveStatus,
    AncillaryService,
    BatteryDispatch,
    DirectControlResult,
    EmergencySignal,
    EnergySavingRequest,
    EnergySavingResponse,
    GridState,
    HeatPumpShutOffProfile,
    LimitKind,
    LoadAdjustmentFeedback,
    LoadCurve,
    LoadCurveRequest,
    LoadManagementRequest,
    LoadManagementResponse,
    ManagedQuantity,
    OverloadWarning,
    PowerSeries,
    PowerSlot,
    ResponseStatus,
    StoreHeatRequest,
    SyncMode,
    TimeDifferenceAlarm,
    TimeSyncParameters,
    TimeWindow,
    TrafficLight,
    Urgency,
    VarMode,
    VarModeInformation,
    VoltageSupportRequest,
    WarningSource,
)

__all__ = ["GRID_STRATEGIES"]

QUARTER = timedelta(minutes=15)
amounts_w = floats(0.0, 1e7)
percents = floats(0.0, 100.0)
signed_durations = st.timedeltas(min_value=timedelta(days=-3), max_value=timedelta(days=3))


@st.composite
def _window(draw: st.DrawFn, most_quarters: int = 96) -> tuple[datetime, datetime]:
    start = draw(datetimes)
    return start, start + draw(st.integers(1, most_quarters)) * QUARTER


@st.composite
def _curve(draw: st.DrawFn, start: datetime, end: datetime) -> PowerSeries:
    """Contiguous slots covering exactly ``[start, end)`` (a multiple of 15 minutes)."""
    slots, cursor = [], start
    while cursor < end:
        step = min(end - cursor, draw(st.integers(1, 4)) * QUARTER)
        slots.append(PowerSlot(start=cursor, duration=step, power_w=draw(floats(-1e6, 1e6))))
        cursor += step
    return PowerSeries(slots=tuple(slots))


@st.composite
def traffic_lights(draw: st.DrawFn) -> TrafficLight:
    start = draw(datetimes)
    until = draw(st.none() | positive_durations.map(lambda length: start + length))
    return TrafficLight(
        signal_id=draw(identifiers), area=draw(identifiers), state=draw(st.sampled_from(GridState)),
        valid_from=start, valid_until=until, reason=draw(optional_texts(256)),
    )


@st.composite
def load_management_requests(draw: st.DrawFn) -> LoadManagementRequest:
    start, end = draw(_window())
    absolute = draw(st.booleans())
    return LoadManagementRequest(
        event_id=draw(identifiers),
        revision=draw(st.integers(0, 1000)),
        action=draw(st.sampled_from(AdjustmentAction)),
        quantity=draw(st.sampled_from(ManagedQuantity)),
        amount_w=draw(amounts_w) if absolute else None,
        amount_percent=None if absolute else draw(percents),
        start=start,
        end=end,
        ramp_up=draw(st.timedeltas(timedelta(0), end - start)),
        ramp_down=draw(non_negative_durations),
        urgency=draw(st.sampled_from(Urgency)),
        response_deadline=end - draw(st.timedeltas(timedelta(microseconds=1), timedelta(days=2))),
        value_per_kwh=draw(st.none() | floats(0.0, 100.0)),
        currency=draw(currencies),
        incentive_tariff=draw(st.none() | price_profiles),
        reason=draw(optional_texts(256)),
    )


@st.composite
def load_management_responses(draw: st.DrawFn) -> LoadManagementResponse:
    status = draw(st.sampled_from(ResponseStatus))
    change = draw(amounts_w if status is ResponseStatus.NOT_SUFFICIENT else st.none() | amounts_w)
    return LoadManagementResponse(
        event_id=draw(identifiers),
        revision=draw(st.integers(0, 1000)),
        status=status,
        expected_change_w=change,
        expected_peak_w=draw(st.none() | amounts_w),
        expected_curve=draw(st.none() | power_series),
        devices=tuple(draw(st.lists(identifiers, max_size=3))),
        reason=draw(texts(256, min_size=1) if status is ResponseStatus.REJECT else optional_texts(256)),
    )


@st.composite
def load_adjustment_feedbacks(draw: st.DrawFn) -> LoadAdjustmentFeedback:
    start, end = draw(_window())
    return LoadAdjustmentFeedback(
        event_id=draw(identifiers),
        revision=draw(st.integers(0, 1000)),
        start=start,
        end=end,
        achieved_change_w=draw(floats(-1e6, 1e6)),
        load_curve=draw(_curve(start, end)),
        baseline_curve=draw(st.none() | _curve(start, end)),
        devices=tuple(draw(st.lists(identifiers, max_size=3))),
        reason=draw(optional_texts(256)),
    )


@st.composite
def time_windows(draw: st.DrawFn) -> TimeWindow:
    start, end = draw(_window())
    return TimeWindow(start=start, end=end)


@st.composite
def emergency_signals(draw: st.DrawFn) -> EmergencySignal:
    return EmergencySignal(
        emergency_id=draw(identifiers),
        level=draw(st.sampled_from(AlertLevel)),
        start=draw(datetimes),
        duration=draw(st.none() | positive_durations),
        blackout=draw(st.none() | time_windows()),
        confirmation_requested=draw(st.booleans()),
        reason=draw(optional_texts(256)),
    )


@st.composite
def energy_saving_requests(draw: st.DrawFn) -> EnergySavingRequest:
    start, end = draw(_window())
    target = draw(st.sampled_from(["none", "percent", "w"]))
    return EnergySavingRequest(
        request_id=draw(identifiers), start=start, end=end,
        target_percent=draw(percents) if target == "percent" else None,
        target_w=draw(amounts_w) if target == "w" else None,
        reason=draw(optional_texts(256)),
    )


@st.composite
def energy_saving_responses(draw: st.DrawFn) -> EnergySavingResponse:
    status = draw(st.sampled_from(ResponseStatus))
    return EnergySavingResponse(
        request_id=draw(identifiers),
        status=status,
        expected_saving_w=draw(amounts_w if status is ResponseStatus.NOT_SUFFICIENT else st.none() | amounts_w),
        expected_saving_wh=draw(st.none() | amounts_w),
        reason=draw(texts(256, min_size=1) if status is ResponseStatus.REJECT else optional_texts(256)),
    )


@st.composite
def shut_off_profiles(draw: st.DrawFn) -> HeatPumpShutOffProfile:
    cursor, blocks = draw(datetimes), []
    for _ in range(draw(st.integers(1, 4))):
        cursor += draw(st.integers(0, 8)) * QUARTER
        end = cursor + draw(st.integers(1, 8)) * QUARTER
        blocks.append(TimeWindow(start=cursor, end=end))
        cursor = end
    return HeatPumpShutOffProfile(
        profile_id=draw(identifiers), device_id=draw(st.none() | identifiers), blocks=tuple(blocks)
    )


@st.composite
def store_heat_requests(draw: st.DrawFn) -> StoreHeatRequest:
    start, end = draw(_window())
    return StoreHeatRequest(
        request_id=draw(identifiers), device_id=draw(st.none() | identifiers), start=start, end=end,
        energy_wh=draw(st.none() | floats(0.0, 1e6, exclude_min=True)),
        target_c=draw(st.none() | floats(20.0, 95.0)),
        max_power_w=draw(st.none() | floats(0.0, 1e6, exclude_min=True)),
    )


@st.composite
def var_mode_informations(draw: st.DrawFn) -> VarModeInformation:
    mode = draw(st.sampled_from(VarMode))
    start = draw(datetimes)
    return VarModeInformation(
        control_id=draw(identifiers),
        device_id=draw(st.none() | identifiers),
        mode=mode,
        power_factor=draw(floats(0.0, 1.0, exclude_min=True) if mode is VarMode.FIXED_POWER_FACTOR else st.none()),
        absorbing=draw(st.booleans()),
        reactive_power_var=draw(floats(-1e6, 1e6) if mode is VarMode.FIXED_REACTIVE_POWER else st.none()),
        valid_from=start,
        valid_until=draw(st.none() | positive_durations.map(lambda length: start + length)),
    )


@st.composite
def voltage_support_requests(draw: st.DrawFn) -> VoltageSupportRequest:
    start, end = draw(_window())
    low = draw(floats(100.0, 240.0))
    return VoltageSupportRequest(
        request_id=draw(identifiers), start=start, end=end, low_v=low, high_v=low + draw(floats(1.0, 40.0)),
        max_reactive_power_var=draw(st.none() | floats(0.0, 1e6)), active_power_allowed=draw(st.booleans()),
    )


@st.composite
def direct_control_results(draw: st.DrawFn) -> DirectControlResult:
    success = draw(st.booleans())
    return DirectControlResult(
        ref=draw(identifiers), control_type=draw(texts(64, min_size=1)), success=success,
        devices=tuple(draw(st.lists(identifiers, max_size=3))),
        reason=draw(optional_texts(256) if success else texts(256, min_size=1)),
    )


@st.composite
def load_curve_requests(draw: st.DrawFn) -> LoadCurveRequest:
    start, end = draw(_window())
    return LoadCurveRequest(
        request_id=draw(identifiers), meter_id=draw(st.none() | identifiers), start=start, end=end,
        resolution=draw(st.sampled_from([QUARTER, timedelta(minutes=30), timedelta(hours=1)])),
    )


@st.composite
def load_curves(draw: st.DrawFn) -> LoadCurve:
    start, end = draw(_window())
    return LoadCurve(
        meter_id=draw(identifiers), request_id=draw(st.none() | identifiers), actual=draw(st.booleans()),
        curve=draw(_curve(start, end)),
    )


@st.composite
def overload_warnings(draw: st.DrawFn) -> OverloadWarning:
    limit_kind = draw(st.sampled_from(LimitKind))
    limit = draw(floats(1.0, 1e6))
    step = draw(floats(1.0, 1e5))
    at = draw(datetimes)
    return OverloadWarning(
        warning_id=draw(identifiers), source=draw(st.sampled_from(WarningSource)), origin_id=draw(identifiers),
        at=at, since=draw(st.none() | non_negative_durations.map(lambda ago: at - ago)),
        power_w=limit + step if limit_kind is LimitKind.UPPER else limit - step, limit_w=limit, limit=limit_kind,
    )


@st.composite
def time_sync_parameters(draw: st.DrawFn) -> TimeSyncParameters:
    mode = draw(st.sampled_from(SyncMode))
    relative = mode is SyncMode.TARIFF_RELATIVE
    return TimeSyncParameters(
        request_id=draw(st.none() | identifiers),
        meter_id=draw(identifiers),
        mode=mode,
        meter_time=draw(datetimes),
        request_sent_at=draw(st.none() | datetimes),
        tariff_id=draw(identifiers if relative else st.none() | identifiers),
        since_tariff_switch=draw(non_negative_durations if relative else st.none() | non_negative_durations),
        next_switch_in=draw(st.none() | non_negative_durations),
        forced=draw(st.booleans()),
        observed_offset=draw(st.none() | signed_durations),
    )


@st.composite
def time_difference_alarms(draw: st.DrawFn) -> TimeDifferenceAlarm:
    threshold = draw(st.timedeltas(timedelta(milliseconds=1), timedelta(hours=1)))
    beyond = threshold + draw(st.timedeltas(timedelta(microseconds=1), timedelta(days=1)))
    return TimeDifferenceAlarm(
        alarm_id=draw(identifiers), meter_id=draw(identifiers), at=draw(datetimes),
        difference=beyond if draw(st.booleans()) else -beyond, threshold=threshold,
    )


@st.composite
def alive_statuses(draw: st.DrawFn) -> AliveStatus:
    at = draw(datetimes)
    total = draw(st.integers(0, 500))
    return AliveStatus(
        cem_id=draw(identifiers), at=at, alive=draw(st.booleans()),
        up_since=draw(st.none() | non_negative_durations.map(lambda ago: at - ago)),
        devices_online=draw(st.integers(0, total)), devices_total=total,
        next_report_in=draw(st.none() | positive_durations), request_id=draw(st.none() | identifiers),
    )


GRID_STRATEGIES: dict[str, st.SearchStrategy[Any]] = {
    "TrafficLight": traffic_lights(),
    "LoadManagementRequest": load_management_requests(),
    "LoadManagementResponse": load_management_responses(),
    "LoadAdjustmentFeedback": load_adjustment_feedbacks(),
    "EmergencySignal": emergency_signals(),
    "EnergySavingRequest": energy_saving_requests(),
    "EnergySavingResponse": energy_saving_responses(),
    "HeatPumpShutOffProfile": shut_off_profiles(),
    "StoreHeatRequest": store_heat_requests(),
    "VarModeInformation": var_mode_informations(),
    "VoltageSupportRequest": voltage_support_requests(),
    "BatteryDispatch": st.builds(
        BatteryDispatch, dispatch_id=identifiers, device_id=st.none() | identifiers,
        service=st.sampled_from(AncillaryService), schedule=power_series,
        price_per_kwh=st.none() | floats(-10.0, 10.0), currency=currencies,
    ),
    "DirectControlResult": direct_control_results(),
    "LoadCurveRequest": load_curve_requests(),
    "LoadCurve": load_curves(),
    "OverloadWarning": overload_warnings(),
    "TimeSyncParameters": time_sync_parameters(),
    "TimeDifferenceAlarm": time_difference_alarms(),
    "AliveStatus": alive_statuses(),
}
# Generic strategies (codec_strategies.generic_messages) cover the rest: LoadAdjustmentEnd, EmergencyEnd,
# EmergencyConfirmation, MeterReading, TimeRequest, ActiveTariffNotification and AliveRequest.
