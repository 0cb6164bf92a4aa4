"""The home devices' messages refuse bad input with an error naming the field, in the model and on the wire.

DESIGN §5: "Bad input anywhere ... gets a clear error naming the field." The round trip of every new message
type through XML (schema-valid) and JSON is covered by test_codec_roundtrip.py via home_strategies.py.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from flexcem.codec import InvalidMessage, decode_json, decode_xml, encode_json, encode_xml
from flexcem.model import (
    BatteryLog,
    BatteryMode,
    BatteryStatus,
    CommandKind,
    Envelope,
    GenerationForecast,
    LogRequest,
    PowerSeries,
    PowerSlot,
    PvStatus,
    SettingResult,
    SimpleCommand,
    StorageDescription,
    TemperatureProfile,
    TemperatureSlot,
    ThermalStorageDescription,
    ValidationError,
    message_types,
)
from flexcem.model.home_parameters import BatteryParameters, TankParameters

T0 = datetime(2021, 6, 15, 6, tzinfo=UTC)
HOUR = timedelta(hours=1)
BATTERY = BatteryParameters(capacity_wh=10_000.0, charge_power_max_w=5_000.0, discharge_power_max_w=5_000.0)


def _locations(error: ValidationError) -> list[str]:
    return [".".join(str(part) for part in item["loc"]) for item in error.errors()]


def _status(at: datetime, charged: float) -> BatteryStatus:
    return BatteryStatus(
        device_id="battery", at=at, mode=BatteryMode.CHARGING, cumulative_charge_wh=charged,
        cumulative_discharge_wh=0.0, remaining_energy_kwh=5.0, remaining_percent=50.0, power_w=1000.0,
        current_a=19.5, voltage_v=51.2,
    )


def test_every_home_message_type_is_registered() -> None:
    expected = {
        "StorageDescription", "ThermalStorageDescription", "RoomClimateDescription", "GenerationForecast",
        "LoadForecast", "PowerSetpointSchedule", "TemperatureProfile", "AirConditionerSettings",
        "WaterHeaterSettings", "HotWaterRequest", "SettingResult", "LogRequest", "BatteryStatus", "HeatPumpStatus",
        "FuelCellStatus", "PvStatus", "WaterHeaterStatus", "AirConditionerStatus", "BatteryLog", "HeatPumpLog",
        "FuelCellLog", "PvLog", "WaterHeaterLog", "AirConditionerLog",
    }
    assert expected <= set(message_types())


def test_a_comfort_band_with_low_above_high_names_the_slot_and_field() -> None:
    with pytest.raises(ValidationError, match=re.escape("low_c 25.0 is above high_c 22.0")):
        TemperatureSlot(start=T0, duration=HOUR, low_c=25.0, high_c=22.0)
    with pytest.raises(ValidationError, match=re.escape("set_point_c 27.0 is outside")):
        TemperatureSlot(start=T0, duration=HOUR, low_c=22.0, high_c=25.0, set_point_c=27.0)
    with pytest.raises(ValidationError) as caught:
        TemperatureProfile.model_validate(
            {"device_id": "ac", "profile_id": "p", "slots": [{"start": T0, "duration": HOUR, "low_c": 25,
                                                             "high_c": 22}]}
        )
    assert "slots.0" in _locations(caught.value)


def test_negative_capacity_and_overfull_storage_name_the_field() -> None:
    with pytest.raises(ValidationError) as caught:
        BatteryParameters(capacity_wh=-1.0, charge_power_max_w=1.0, discharge_power_max_w=1.0)
    assert _locations(caught.value) == ["capacity_wh"]
    with pytest.raises(ValidationError, match=re.escape("energy_wh 12000.0 exceeds parameters.capacity_wh")):
        StorageDescription(device_id="battery", at=T0, parameters=BATTERY, energy_wh=12_000.0)
    with pytest.raises(ValidationError, match=re.escape("heat_pump parameters are required")):
        ThermalStorageDescription(
            device_id="hp", at=T0, heater="heat_pump", tank=TankParameters(volume_l=200.0), temperature_c=50.0,
            heater_power_max_w=3000.0,
        )


def test_logs_must_be_time_ordered_with_counters_that_never_decrease() -> None:
    ordered = BatteryLog(device_id="battery", start=T0, end=T0 + 2 * HOUR,
                         entries=(_status(T0, 100.0), _status(T0 + HOUR, 900.0)))
    assert [entry.at for entry in ordered.entries] == [T0, T0 + HOUR]
    with pytest.raises(ValidationError, match=r"entries.1.at is not after entries.0.at"):
        BatteryLog(device_id="battery", start=T0, end=T0 + 2 * HOUR,
                   entries=(_status(T0 + HOUR, 100.0), _status(T0, 900.0)))
    with pytest.raises(ValidationError, match=r"entries.1.cumulative_charge_wh decreases"):
        BatteryLog(device_id="battery", start=T0, end=T0 + 2 * HOUR,
                   entries=(_status(T0, 900.0), _status(T0 + HOUR, 100.0)))
    with pytest.raises(ValidationError, match=r"entries.0.at .* is outside \[start, end\)"):
        BatteryLog(device_id="battery", start=T0 + HOUR, end=T0 + 2 * HOUR, entries=(_status(T0, 0.0),))
    with pytest.raises(ValidationError, match=r"end .* is not after start"):
        LogRequest(device_id="battery", start=T0, end=T0)


def test_generation_is_negative_exports_fit_the_generation_and_steps_need_a_power() -> None:
    consuming = PowerSeries(slots=(PowerSlot(start=T0, duration=HOUR, power_w=300.0),))
    with pytest.raises(ValidationError, match=re.escape("slot 0 has power_w 300.0 > 0")):
        GenerationForecast(device_id="pv", at=T0, curtailable=True, forecast=consuming)
    with pytest.raises(ValidationError, match=re.escape("exported_power_w 900.0 exceeds generated_power_w 500.0")):
        PvStatus(device_id="pv", at=T0, generated_power_w=500.0, exported_power_w=900.0,
                 cumulative_generated_wh=0.0, cumulative_exported_wh=0.0)
    with pytest.raises(ValidationError, match=re.escape("power_w is required for increase")):
        SimpleCommand(device_id="fc", command=CommandKind.INCREASE)
    with pytest.raises(ValidationError, match=re.escape("must give a reason")):
        SettingResult(device_id="fc", ref="x", success=False)


def _envelope(body: Any) -> Envelope:
    return Envelope(sender="home/cem", to="home/aircon", created=T0, body=body)  # type: ignore[call-arg]


def test_a_bad_band_on_the_wire_is_refused_naming_the_field_in_xml_and_json() -> None:
    good = TemperatureProfile(
        device_id="aircon", profile_id="evening",
        slots=(TemperatureSlot(start=T0, duration=HOUR, low_c=23.0, high_c=25.0, set_point_c=24.0),),
    )
    envelope = _envelope(good)
    assert decode_xml(encode_xml(envelope)) == envelope
    bad_xml = encode_xml(envelope).decode().replace("<low_c>23.0</low_c>", "<low_c>26.0</low_c>")
    with pytest.raises(InvalidMessage) as xml_error:
        decode_xml(bad_xml.encode())
    assert "low_c 26.0 is above high_c 25.0" in str(xml_error.value)
    assert xml_error.value.field is not None and "slots" in xml_error.value.field
    document = json.loads(encode_json(envelope))
    document["body"]["slots"][0]["low_c"] = 26.0
    with pytest.raises(InvalidMessage) as json_error:
        decode_json(json.dumps(document).encode())
    assert "low_c 26.0 is above high_c 25.0" in str(json_error.value)
