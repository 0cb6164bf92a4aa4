"""Weekly temperature profiles as the planner's comfort band (flexcem.cem.home_planning.weekly_comfort): the
pieces of a weekday and of a weekend day resolved in the home's zone, the default band where no piece is in
force, the whole interval covered without overlaps."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import numpy as np

from flexcem.cem.forecasts import ConstantForecasts
from flexcem.cem.home_book import HomeBook, OperatingConditions
from flexcem.cem.home_planning import Grid, home_devices, weekly_comfort
from flexcem.cem.home_settings import HomeSettings
from flexcem.cem.registry import DeviceRecord
from flexcem.devices.air_conditioner import DEFAULT_AIR_CONDITIONER
from flexcem.devices.heat_pump import DEFAULT_HEAT_PUMP, DEFAULT_HEAT_PUMP_TANK
from flexcem.devices.room import DEFAULT_ROOM
from flexcem.devices.water_heater import DEFAULT_WATER_HEATER_TANK
from flexcem.model import (
    AcMode,
    AirConditionerSettings,
    DeviceCapabilities,
    DeviceFunction,
    DeviceKind,
    HeaterKind,
    RoomClimateDescription,
    ThermalStorageDescription,
    WaterHeaterSettings,
    WeeklyTemperatureProfile,
)
from flexcem.planner.devices import AirConditionerDevice, HeatPumpDevice, WaterHeaterDevice
from flexcem.planner.devices.thermal_inputs import ComfortSlot, comfort_bounds
from flexcem.planner.grid import TimeGrid

ZONE = ZoneInfo("America/Chicago")
PROFILE = WeeklyTemperatureProfile.model_validate(
    {
        "weekday": [{"start": "17:00", "end": "23:00", "set_point_c": 24.0}],
        "weekend": [{"start": "08:00", "end": "23:00", "low_c": 25.0, "high_c": 28.0}],
    }
)


def default(at: datetime, length: timedelta) -> ComfortSlot:
    """The set point band 27 °C where no piece is in force."""
    return ComfortSlot(start=at, duration=length, set_point_c=27.0)


def test_the_planner_band_follows_the_weekday_and_weekend_pieces_and_the_default_elsewhere() -> None:
    start = datetime(2021, 7, 9, 12, tzinfo=ZONE)  # Friday noon, to Saturday noon
    grid = TimeGrid(start, timedelta(hours=1), 24)
    comfort = weekly_comfort(PROFILE, start, grid.end, ZONE, default)
    assert comfort[0].start == start and comfort[-1].end == grid.end
    assert all(a.end == b.start for a, b in pairwise(comfort)), "covering, no overlap"
    lower, upper = comfort_bounds(grid, comfort)
    band = {(start + k * grid.slot).strftime("%a %H"): (lower[k], upper[k]) for k in range(grid.count)}
    assert band["Fri 18"] == (23.0, 25.0), "weekday piece: set point 24 → [23, 25]"
    assert band["Sat 10"] == (25.0, 28.0), "weekend piece: its band"
    assert band["Fri 13"] == band["Sat 03"] == (26.0, 28.0), "no piece: the default set point band"


def test_without_a_profile_the_default_covers_the_interval() -> None:
    start = datetime(2021, 7, 9, 12, tzinfo=ZONE)
    comfort = weekly_comfort(None, start, start + timedelta(hours=5), ZONE, default)
    assert comfort == [default(start, timedelta(hours=5))]
    assert weekly_comfort(PROFILE, start, start, ZONE, default) == []


def test_a_saturday_and_a_tuesday_differ_in_the_resolved_band_across_a_dst_change() -> None:
    start = datetime(2021, 11, 6, 0, tzinfo=ZONE)  # Saturday; clocks go back on Sunday 7 November
    end = datetime(2021, 11, 10, 0, tzinfo=ZONE)  # to Wednesday
    grid = TimeGrid(start, timedelta(minutes=15), int((end - start) / timedelta(minutes=15)) + 4)
    comfort = weekly_comfort(PROFILE, start, grid.end, ZONE, default)
    lower, upper = comfort_bounds(grid, comfort)
    edges = grid.edges_us[:-1]

    def at(local: datetime) -> tuple[float, float]:
        k = int(np.searchsorted(edges, grid.offset_us(local), side="right")) - 1
        return lower[k], upper[k]

    assert at(datetime(2021, 11, 6, 18, tzinfo=ZONE)) == (25.0, 28.0), "Saturday 18:00: weekend band"
    assert at(datetime(2021, 11, 9, 18, tzinfo=ZONE)) == (23.0, 25.0), "Tuesday 18:00: weekday set point"
    assert at(datetime(2021, 11, 8, 16, 45, tzinfo=ZONE)) == (26.0, 28.0), "Monday 16:45 local: not yet"
    assert at(datetime(2021, 11, 8, 17, 0, tzinfo=ZONE)) == (23.0, 25.0), "Monday 17:00 local (after the change)"


FRIDAY_NOON = datetime(2021, 7, 9, 12, tzinfo=ZONE)
HOURS = {"fri 13": (9, 13), "fri 18": (9, 18), "sat 10": (10, 10)}
"""Local day and hour of the slots the test looks at."""


def _record(device_id: str, kind: DeviceKind) -> DeviceRecord:
    capabilities = DeviceCapabilities(
        device_id=device_id, kind=kind, functions=(DeviceFunction.STATUS_REPORT,), max_power_w=5_000.0
    )
    return DeviceRecord(capabilities=capabilities, address=f"home/{device_id}", registered_at=FRIDAY_NOON)


def _book() -> HomeBook:
    """A heat pump serving a room, an air conditioner and a water heater, described at Friday noon."""
    book = HomeBook()
    heat_pump = ThermalStorageDescription(
        device_id="heatpump",
        at=FRIDAY_NOON,
        heater=HeaterKind.HEAT_PUMP,
        tank=DEFAULT_HEAT_PUMP_TANK,
        temperature_c=50.0,
        heater_power_max_w=3_000.0,
        heat_pump=DEFAULT_HEAT_PUMP,
        room=DEFAULT_ROOM,
        room_temperature_c=22.0,
    )
    heater = ThermalStorageDescription(
        device_id="waterheater",
        at=FRIDAY_NOON,
        heater=HeaterKind.RESISTIVE,
        tank=DEFAULT_WATER_HEATER_TANK,
        temperature_c=45.0,
        heater_power_max_w=4_400.0,
    )
    aircon = RoomClimateDescription(
        device_id="aircon",
        at=FRIDAY_NOON,
        unit=DEFAULT_AIR_CONDITIONER,
        room=DEFAULT_ROOM,
        room_temperature_c=26.0,
        settings=AirConditionerSettings(device_id="aircon", on=False),
        fan_power_w=50.0,
    )
    book.take(heat_pump, _record("heatpump", DeviceKind.HEAT_PUMP), FRIDAY_NOON)
    book.take(heater, _record("waterheater", DeviceKind.WATER_HEATER), FRIDAY_NOON)
    book.take(aircon, _record("aircon", DeviceKind.AIR_CONDITIONER), FRIDAY_NOON)
    return book


def test_the_cem_gives_the_planner_the_room_profile_and_the_users_start_times() -> None:
    book = _book()
    start_heating, start_cooling = datetime(2021, 7, 10, 5, tzinfo=ZONE), datetime(2021, 7, 10, 8, tzinfo=ZONE)
    book.conditions["waterheater"] = OperatingConditions(
        device_id="waterheater",
        settings=WaterHeaterSettings(device_id="waterheater", set_point_c=90.0, level_percent=50.0),
        desired_start=start_heating,
        desired_finish=start_heating + timedelta(hours=2),
    )
    book.conditions["aircon"] = OperatingConditions(
        device_id="aircon",
        settings=AirConditionerSettings(device_id="aircon", on=True, mode=AcMode.COOL, set_point_c=27.0),
        desired_start=start_cooling,
        weekly_profile=PROFILE,
    )
    settings = HomeSettings(room_profile=PROFILE)
    grid = Grid(start=FRIDAY_NOON, slot=timedelta(minutes=15), count=96)
    built = home_devices(book, grid, FRIDAY_NOON, ConstantForecasts(settings), settings, set(), zone=ZONE)
    devices = {device.device_id: device for device in built.devices}
    heat_pump, heater, aircon = devices["heatpump"], devices["waterheater"], devices["aircon"]
    assert isinstance(heat_pump, HeatPumpDevice) and heat_pump.room is not None
    assert isinstance(heater, WaterHeaterDevice) and heater.not_before == start_heating
    assert isinstance(aircon, AirConditionerDevice) and aircon.not_before == start_cooling
    planner_grid = TimeGrid(grid.start, grid.slot, grid.count)
    k = {name: int((datetime(2021, 7, *day, tzinfo=ZONE) - FRIDAY_NOON) / grid.slot) for name, day in HOURS.items()}
    low, high = comfort_bounds(planner_grid, heat_pump.room.comfort)
    assert (low[k["fri 18"]], high[k["fri 18"]]) == (23.0, 25.0), "the weekday piece"
    assert (low[k["sat 10"]], high[k["sat 10"]]) == (25.0, 28.0), "the weekend piece"
    assert (low[k["fri 13"]], high[k["fri 13"]]) == (settings.room_low_c, settings.room_high_c), "no piece"
    low, high = comfort_bounds(planner_grid, aircon.room.comfort)
    assert high[k["fri 18"]] > 50.0, "the air conditioner's band is free before its start"
    assert (low[k["sat 10"]], high[k["sat 10"]]) == (25.0, 28.0), "from its start: the weekly profile"
