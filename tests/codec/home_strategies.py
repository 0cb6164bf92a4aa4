"""Hypothesis strategies for the home devices' messages (descriptions, set points, settings, status, logs).

Valid by construction: parameter bands in order, stored energy within the capacity, generation negative,
comfort bands with low <= set point <= high, exports no more than generation, logs time-ordered with
counters that never decrease.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from codec_strategies import (
    _contiguous,
    datetimes,
    floats,
    generic_data,
    generic_messages,
    identifiers,
    optional_texts,
    power_series,
    texts,
)
from hypothesis import strategies as st

from flexcem.model import (
    AirConditionerLog,
    AirConditionerSettings,
    BatteryLog,
    Circuit,
    ConsumptionCapWarning,
    FuelCellLog,
    GenerationForecast,
    HeaterKind,
    HeatPumpLog,
    LoadForecast,
    LogRequest,
    PowerFlow,
    PowerReductionRequest,
    PowerReductionResponse,
    PowerSeries,
    PowerSetpointSchedule,
    PowerSlot,
    PvLog,
    PvStatus,
    ReductionMeans,
    RoomClimateDescription,
    SettingResult,
    StatusLog,
    StorageDescription,
    TemperatureProfile,
    TemperatureSlot,
    ThermalStorageDescription,
    WaterHeaterLog,
    Zone,
)
from flexcem.model.home_parameters import (
    BatteryParameters,
    FuelCellParameters,
    HeatPumpParameters,
    PvParameters,
    RoomParameters,
    TankParameters,
)

__all__ = ["HOME_STRATEGIES"]

positive = floats(0.0, 1e6, exclude_min=True)
temperatures = floats(-20.0, 120.0)


@st.composite
def battery_parameters(draw: st.DrawFn) -> BatteryParameters:
    low, high = sorted((draw(floats(0.0, 1.0)), draw(floats(0.0, 1.0))))
    return BatteryParameters(
        capacity_wh=draw(positive),
        soc_min=low,
        soc_max=high,
        charge_power_max_w=draw(positive),
        discharge_power_max_w=draw(positive),
        charge_efficiency=draw(floats(0.5, 1.0)),
        discharge_efficiency=draw(floats(0.5, 1.0)),
        self_discharge_per_h=draw(floats(0.0, 0.01)),
        standby_w=draw(floats(0.0, 100.0)),
        nominal_voltage_v=draw(floats(12.0, 800.0)),
    )


@st.composite
def tank_parameters(draw: st.DrawFn) -> TankParameters:
    cold = draw(floats(0.0, 30.0))
    low = cold + draw(floats(1.0, 40.0))
    return TankParameters(
        volume_l=draw(floats(10.0, 1000.0)),
        loss_w_per_k=draw(floats(0.0, 10.0)),
        ambient_c=draw(floats(0.0, 40.0)),
        cold_water_c=cold,
        min_c=low,
        max_c=low + draw(floats(0.0, 40.0)),
    )


@st.composite
def heat_pump_parameters(draw: st.DrawFn) -> HeatPumpParameters:
    high = draw(positive)
    return HeatPumpParameters(
        power_max_w=high,
        power_min_w=draw(floats(0.0, high)),
        carnot_efficiency=draw(floats(0.1, 1.0)),
        cop_max=draw(floats(1.0, 10.0)),
        supply_hot_water_c=draw(floats(35.0, 80.0)),
        supply_space_heating_c=draw(floats(25.0, 55.0)),
        supply_cooling_c=draw(floats(0.0, 18.0)),
    )


@st.composite
def fuel_cell_parameters(draw: st.DrawFn) -> FuelCellParameters:
    high = draw(positive)
    electric = draw(floats(0.1, 0.6))
    return FuelCellParameters(
        power_max_w=high,
        power_min_w=draw(floats(0.0, high)),
        electrical_efficiency=electric,
        thermal_efficiency=draw(floats(0.0, 1.0 - electric)),
        gas_kwh_per_m3=draw(floats(8.0, 15.0)),
        min_on_h=draw(floats(0.0, 4.0)),
        min_off_h=draw(floats(0.0, 4.0)),
    )


rooms = st.builds(RoomParameters, heat_capacity_kwh_per_k=positive, loss_w_per_k=positive)
pv_parameters = st.builds(
    PvParameters,
    nominal_power_w=positive,
    tilt_deg=floats(0.0, 90.0),
    azimuth_deg=floats(0.0, 359.0),
    inverter_ac_max_w=st.none() | positive,
    curtailable=st.booleans(),
)


@st.composite
def storage_descriptions(draw: st.DrawFn) -> StorageDescription:
    parameters = draw(battery_parameters())
    return StorageDescription(
        device_id=draw(identifiers),
        at=draw(datetimes),
        parameters=parameters,
        energy_wh=draw(floats(0.0, parameters.capacity_wh)),
    )


@st.composite
def thermal_storage_descriptions(draw: st.DrawFn) -> ThermalStorageDescription:
    heater = draw(st.sampled_from(HeaterKind))
    with_room = heater is HeaterKind.HEAT_PUMP and draw(st.booleans())
    return ThermalStorageDescription(
        device_id=draw(identifiers),
        at=draw(datetimes),
        heater=heater,
        tank=draw(tank_parameters()),
        temperature_c=draw(temperatures),
        heater_power_max_w=draw(positive),
        heat_pump=draw(heat_pump_parameters()) if heater is HeaterKind.HEAT_PUMP else None,
        fuel_cell=draw(fuel_cell_parameters()) if heater is HeaterKind.FUEL_CELL else None,
        running=draw(st.booleans()),
        running_since=draw(st.none() | datetimes),
        room=draw(rooms) if with_room else None,
        room_temperature_c=draw(floats(-20.0, 60.0)) if with_room else None,
    )


def _signed_series(low: float, high: float) -> st.SearchStrategy[PowerSeries]:
    slots = _contiguous(PowerSlot, st.fixed_dictionaries({"power_w": floats(low, high)}))
    return st.builds(PowerSeries, slots=slots)


@st.composite
def temperature_profiles(draw: st.DrawFn) -> TemperatureProfile:
    @st.composite
    def band(draw: st.DrawFn) -> dict[str, Any]:
        low, high = sorted((draw(temperatures), draw(temperatures)))
        return {"low_c": low, "high_c": high, "set_point_c": draw(st.none() | floats(low, high))}

    return TemperatureProfile(
        device_id=draw(identifiers),
        profile_id=draw(identifiers),
        zone=draw(st.sampled_from(Zone)),
        slots=draw(_contiguous(TemperatureSlot, band())),
    )


@st.composite
def setting_results(draw: st.DrawFn) -> SettingResult:
    success = draw(st.booleans())
    return SettingResult(
        device_id=draw(identifiers),
        ref=draw(identifiers),
        success=success,
        reason=draw(optional_texts(256) if success else texts(256, min_size=1)),
    )


@st.composite
def log_requests(draw: st.DrawFn) -> LogRequest:
    start = draw(st.none() | datetimes)
    later = draw(st.timedeltas(min_value=timedelta(seconds=1), max_value=timedelta(days=30)))
    end = draw(st.none() | st.just(start + later)) if start is not None else draw(st.none() | datetimes)
    return LogRequest(device_id=draw(identifiers), start=start, end=end)


@st.composite
def pv_statuses(draw: st.DrawFn, device_id: str | None = None, at: Any = None) -> PvStatus:
    generated = draw(floats(0.0, 1e5))
    return PvStatus(
        device_id=device_id or draw(identifiers),
        at=at or draw(datetimes),
        generated_power_w=generated,
        exported_power_w=draw(floats(0.0, generated)),
        cumulative_generated_wh=draw(floats(0.0, 1e9)),
        cumulative_exported_wh=draw(floats(0.0, 1e9)),
        limit_w=draw(st.none() | floats(0.0, 1e5)),
    )


def _status(model: type[Any], device_id: str, at: Any) -> st.SearchStrategy[Any]:
    if model is PvStatus:
        return pv_statuses(device_id, at)
    return generic_data(model).map(lambda data: model.model_validate({**data, "device_id": device_id, "at": at}))


@st.composite
def status_logs(draw: st.DrawFn, log: type[StatusLog[Any]]) -> StatusLog[Any]:
    """Entries at increasing times inside the period, counters made cumulative by running maxima."""
    entry_type = log.model_fields["entries"].annotation.__args__[0]  # type: ignore[union-attr]
    device_id, start = draw(identifiers), draw(datetimes)
    at, entries = start, []
    for _ in range(draw(st.integers(0, 4))):
        entry = draw(_status(entry_type, device_id, at))
        if entries:
            raised = {name: max(getattr(entry, name), getattr(entries[-1], name)) for name in log.counters}
            entry = entry.model_copy(update=raised)
        entries.append(entry)
        at += draw(st.timedeltas(min_value=timedelta(seconds=1), max_value=timedelta(hours=2)))
    return log(device_id=device_id, start=start, end=at + timedelta(seconds=1), entries=tuple(entries))


@st.composite
def power_reduction_requests(draw: st.DrawFn) -> PowerReductionRequest:
    start = draw(datetimes)
    return PowerReductionRequest(
        request_id=draw(identifiers),
        flow=draw(st.sampled_from(PowerFlow)),
        limit_w=draw(floats(0.0, 1e6)),
        start=start,
        end=start + draw(st.integers(1, 48 * 4)) * timedelta(minutes=15),
        means=draw(st.sampled_from(ReductionMeans)),
    )


@st.composite
def cap_warnings(draw: st.DrawFn) -> ConsumptionCapWarning:
    start = draw(datetimes)
    return ConsumptionCapWarning(
        device_id=draw(identifiers),
        offer_id=draw(st.none() | identifiers),
        window_start=start,
        window_end=start + draw(st.integers(1, 24 * 4)) * timedelta(minutes=15),
        excess_w=draw(floats(0.0, 1e5, exclude_min=True)),
        excess_wh=draw(floats(0.0, 1e6, exclude_min=True)),
    )


HOME_STRATEGIES: dict[str, st.SearchStrategy[Any]] = {
    "ConsumptionCapWarning": cap_warnings(),
    "PowerReductionRequest": power_reduction_requests(),
    "PowerReductionResponse": st.builds(
        PowerReductionResponse,
        request_id=identifiers,
        accepted=st.booleans(),
        expected_max_w=floats(0.0, 1e6),
        reason=optional_texts(256),
    ),
    "StorageDescription": storage_descriptions(),
    "ThermalStorageDescription": thermal_storage_descriptions(),
    "RoomClimateDescription": st.builds(
        RoomClimateDescription,
        device_id=identifiers,
        at=datetimes,
        unit=heat_pump_parameters(),
        room=rooms,
        room_temperature_c=floats(-20.0, 60.0),
        settings=generic_messages(AirConditionerSettings),
    ),
    "GenerationForecast": st.builds(
        GenerationForecast,
        device_id=identifiers,
        at=datetimes,
        parameters=st.none() | pv_parameters,
        curtailable=st.booleans(),
        forecast=_signed_series(-1e6, 0.0),
    ),
    "LoadForecast": st.builds(LoadForecast, device_id=identifiers, at=datetimes, forecast=_signed_series(0.0, 1e6)),
    "PowerSetpointSchedule": st.builds(
        PowerSetpointSchedule,
        device_id=identifiers,
        schedule_id=identifiers,
        circuit=st.sampled_from(Circuit),
        schedule=power_series,
    ),
    "TemperatureProfile": temperature_profiles(),
    "SettingResult": setting_results(),
    "LogRequest": log_requests(),
    "PvStatus": pv_statuses(),
    **{
        log.__name__: status_logs(log)
        for log in (BatteryLog, HeatPumpLog, FuelCellLog, PvLog, WaterHeaterLog, AirConditionerLog)
    },
}
# Generic strategies (codec_strategies.generic_messages) cover the rest: the settings, the extra-hot-water
# request and the other statuses.
