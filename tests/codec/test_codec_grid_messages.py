"""The grid signals refuse bad input with an error naming the field, in the model and on the wire.

Round trips of every new type through XML (schema-valid) and JSON are in test_codec_roundtrip.py via
grid_strategies.py.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest

from flexcem.codec import InvalidMessage, decode_json, decode_xml, encode_json, encode_xml
from flexcem.model import (
    AdjustmentAction,
    AliveStatus,
    EmergencySignal,
    Envelope,
    HeatPumpShutOffProfile,
    LoadAdjustmentFeedback,
    LoadCurveRequest,
    LoadManagementRequest,
    LoadManagementResponse,
    OverloadWarning,
    PowerSeries,
    PowerSlot,
    ResponseStatus,
    TimeDifferenceAlarm,
    TimeWindow,
    TrafficLight,
    ValidationError,
    VarModeInformation,
    VoltageSupportRequest,
    message_types,
)

T0 = datetime(2021, 7, 15, 17, tzinfo=UTC)
HOUR = timedelta(hours=1)
REQUEST = {"event_id": "e1", "action": "reduce", "amount_w": 300.0, "start": T0 + HOUR, "end": T0 + 3 * HOUR,
           "response_deadline": T0}


def _locations(error: ValidationError) -> list[str]:
    return [".".join(str(part) for part in item["loc"]) for item in error.errors()]


def test_every_grid_message_type_is_registered() -> None:
    expected = {
        "TrafficLight", "LoadManagementRequest", "LoadManagementResponse", "LoadAdjustmentEnd",
        "LoadAdjustmentFeedback", "EmergencySignal", "EmergencyEnd", "EmergencyConfirmation", "EnergySavingRequest",
        "EnergySavingResponse", "HeatPumpShutOffProfile", "StoreHeatRequest", "VarModeInformation",
        "VoltageSupportRequest", "BatteryDispatch", "DirectControlResult", "MeterReading", "LoadCurveRequest",
        "LoadCurve", "OverloadWarning", "TimeRequest", "TimeSyncParameters", "TimeDifferenceAlarm",
        "ActiveTariffNotification", "AliveRequest", "AliveStatus",
    }
    assert expected <= set(message_types())


def test_load_management_requests_refuse_impossible_windows_negative_and_double_amounts() -> None:
    with pytest.raises(ValidationError) as negative:
        LoadManagementRequest.model_validate({**REQUEST, "amount_w": -1.0})
    assert _locations(negative.value) == ["amount_w"]
    with pytest.raises(ValidationError, match=re.escape("amount_percent")) as percent:
        LoadManagementRequest.model_validate({**REQUEST, "amount_w": None, "amount_percent": 120.0})
    assert _locations(percent.value) == ["amount_percent"]
    with pytest.raises(ValidationError, match=r"exactly one of amount_w .* and amount_percent"):
        LoadManagementRequest.model_validate({**REQUEST, "amount_percent": 10.0})
    with pytest.raises(ValidationError, match=r"end .* is not after start"):
        LoadManagementRequest.model_validate({**REQUEST, "end": T0 + HOUR})
    with pytest.raises(ValidationError, match=r"response_deadline .* is not before end"):
        LoadManagementRequest.model_validate({**REQUEST, "response_deadline": T0 + 3 * HOUR})
    with pytest.raises(ValidationError, match=r"ramp_up 3:00:00 is longer than the window"):
        LoadManagementRequest.model_validate({**REQUEST, "ramp_up": 3 * HOUR})
    assert LoadManagementRequest.model_validate(REQUEST).action is AdjustmentAction.REDUCE


def test_answers_must_say_what_they_can_do_and_why_not() -> None:
    with pytest.raises(ValidationError, match=r"not_sufficient response must give expected_change_w"):
        LoadManagementResponse(event_id="e1", status=ResponseStatus.NOT_SUFFICIENT)
    with pytest.raises(ValidationError, match=r"reject response must give a reason"):
        LoadManagementResponse(event_id="e1", status=ResponseStatus.REJECT)
    assert LoadManagementResponse(event_id="e1", status=ResponseStatus.ACCEPT).expected_change_w is None  # will comply
    short = PowerSeries(slots=(PowerSlot(start=T0 + HOUR, duration=HOUR, power_w=500.0),))
    with pytest.raises(ValidationError, match=r"load_curve covers .* not the period"):
        LoadAdjustmentFeedback(event_id="e1", start=T0 + HOUR, end=T0 + 3 * HOUR, achieved_change_w=100.0,
                               load_curve=short)


def test_other_signals_refuse_inconsistent_values_naming_the_field() -> None:
    with pytest.raises(ValidationError, match=r"valid_until .* is not after valid_from"):
        TrafficLight(signal_id="s", area="a", state="red", valid_from=T0, valid_until=T0)
    with pytest.raises(ValidationError) as blackout:
        EmergencySignal.model_validate({"emergency_id": "x", "start": T0, "blackout": {"start": T0, "end": T0}})
    assert _locations(blackout.value) == ["blackout"]
    with pytest.raises(ValidationError) as duration:
        EmergencySignal(emergency_id="x", start=T0, duration=timedelta(0))
    assert _locations(duration.value) == ["duration"]
    with pytest.raises(ValidationError, match=r"block 1 starts before block 0 ends"):
        HeatPumpShutOffProfile(profile_id="p", blocks=(TimeWindow(start=T0, end=T0 + 2 * HOUR),
                                                       TimeWindow(start=T0 + HOUR, end=T0 + 3 * HOUR)))
    with pytest.raises(ValidationError, match=r"power_factor is required"):
        VarModeInformation(control_id="v", mode="fixed_power_factor", valid_from=T0)
    with pytest.raises(ValidationError, match=r"high_v 210.0 is not above low_v 220.0"):
        VoltageSupportRequest(request_id="r", start=T0, end=T0 + HOUR, low_v=220.0, high_v=210.0)
    with pytest.raises(ValidationError, match=r"at most 1000"):
        LoadCurveRequest(request_id="r", start=T0, end=T0 + 30 * 24 * HOUR, resolution=timedelta(minutes=15))
    with pytest.raises(ValidationError, match=r"power_w 900.0 is not above the upper limit_w 1000.0"):
        OverloadWarning(warning_id="w", origin_id="m", at=T0, power_w=900.0, limit_w=1000.0)
    with pytest.raises(ValidationError, match=r"is not beyond threshold"):
        TimeDifferenceAlarm(alarm_id="a", meter_id="m", at=T0, difference=timedelta(seconds=-3),
                            threshold=timedelta(seconds=5))
    with pytest.raises(ValidationError, match=r"devices_online 3 exceeds devices_total 2"):
        AliveStatus(cem_id="c", at=T0, devices_online=3, devices_total=2)


def test_a_negative_amount_on_the_wire_is_refused_naming_the_field_in_xml_and_json() -> None:
    envelope = Envelope(sender="grid/dso", to="grid/grp/area-feeder-7", created=T0,  # type: ignore[call-arg]
                        body=LoadManagementRequest.model_validate(REQUEST))
    assert decode_xml(encode_xml(envelope)) == envelope
    bad_xml = encode_xml(envelope).decode().replace("<amount_w>300.0</amount_w>", "<amount_w>-300.0</amount_w>")
    with pytest.raises(InvalidMessage) as xml_error:
        decode_xml(bad_xml.encode())
    assert xml_error.value.field == "body.LoadManagementRequest.amount_w"
    document = json.loads(encode_json(envelope))
    document["body"]["end"] = document["body"]["start"]
    with pytest.raises(InvalidMessage) as json_error:
        decode_json(json.dumps(document).encode())
    assert "is not after start" in str(json_error.value)
