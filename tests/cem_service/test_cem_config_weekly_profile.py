"""Weekly temperature profiles in the CEM's configuration (JWG1110 "weekly profiles with weekday (Mon–Fri)/weekend
profile"): ``[preferences.room_profile]`` for the heat pump's room and ``weekly_profile`` of an air conditioner's
``[[devices]]`` entry reach the CEM's settings, the CEM plans with the Tuesday vs the Saturday band, and a bad
profile is refused naming the file, the line and the field."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from pathlib import Path

import pytest

from flexcem.bus import Endpoint
from flexcem.cem import CemSettings, OperatingConditions
from flexcem.cem.config import ConfigError, load_home_config, parse_home_config
from flexcem.cem.forecasts import ConstantForecasts
from flexcem.cem.home_book import HomeBook
from flexcem.cem.home_planning import Grid, home_devices
from flexcem.cem.registry import DeviceRecord
from flexcem.cli.main import main
from flexcem.data.citylearn import CityLearnData
from flexcem.devices.air_conditioner import DEFAULT_AIR_CONDITIONER, AirConditionerModel
from flexcem.devices.heat_pump import DEFAULT_HEAT_PUMP, DEFAULT_HEAT_PUMP_TANK
from flexcem.devices.room import DEFAULT_ROOM, Room
from flexcem.model import (
    AcMode,
    AirConditionerSettings,
    DeviceCapabilities,
    DeviceFunction,
    DeviceKind,
    FanSpeed,
    HeaterKind,
    ProfilePiece,
    RoomClimateDescription,
    TemperatureProfile,
    ThermalStorageDescription,
    WeeklyTemperatureProfile,
)
from flexcem.planner.devices import AirConditionerDevice, HeatPumpDevice
from flexcem.planner.devices.thermal_inputs import comfort_bounds
from flexcem.planner.grid import TimeGrid
from home_harness import DOMAIN, ZONE, Home, local, run_home, settle
from whole_home import AirConditionerAgent, DataForecasts, agent, base_load

HOME_TOML = """\
[identity]
domain = "home"

[site]
timezone = "America/Chicago"
tariff_sources = ["home/retailer"]

[preferences]
room_low_c = 19.0
room_high_c = 25.0

[preferences.room_profile]
weekday = [
  { start = "06:00", end = "08:00", low_c = 20.0, high_c = 22.0 },
  { start = "17:00", end = "23:00", low_c = 21.0, high_c = 23.0 },
]

[[preferences.room_profile.weekend]]
start = 08:00:00
end = 23:00:00
low_c = 22.0
high_c = 24.0

[[devices]]
id = "heatpump"
kind = "heat_pump"

[[devices]]
id = "aircon"
kind = "air_conditioner"

[devices.weekly_profile]
weekday = [{ start = "17:00", end = "23:00", set_point_c = 24.0 }]
weekend = [{ start = "08:00", end = "23:00", low_c = 25.0, high_c = 28.0 }]
"""
"""A home whose heat pump's room and air conditioner each have a weekly profile (line numbers matter below)."""

TUESDAY_NOON = local(2021, 7, 6, 12)
TUESDAY_EVENING, SATURDAY_EVENING = local(2021, 7, 6, 18), local(2021, 7, 10, 18)
WEDNESDAY_NOON = local(2021, 7, 7, 12)
HORIZON = timedelta(hours=108)
"""Tuesday noon to Saturday midnight: one plan sees both day types."""


def _settings(text: str = HOME_TOML, horizon: timedelta | None = None) -> CemSettings:
    settings = parse_home_config(text, "home.toml").cem_settings()
    if horizon is None:
        return settings
    home = settings.home.model_copy(update={"horizon_min": horizon, "horizon_max": horizon})
    return settings.model_copy(update={"home": home})


def _refusal(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        parse_home_config(text, "home.toml")
    return caught.value


def test_the_configured_profiles_become_the_cems_home_settings() -> None:
    home = _settings().home
    assert (home.room_low_c, home.room_high_c) == (19.0, 25.0)
    assert home.room_profile is not None
    assert [(p.start, p.end, p.low, p.high) for p in home.room_profile.weekend] == [(time(8), time(23), 22.0, 24.0)], (
        "an array of tables with TOML local times"
    )
    assert [p.label() for p in home.room_profile.weekday] == ["06:00–08:00", "17:00–23:00"]
    assert set(home.air_conditioner_profiles) == {"aircon"}, "only the device that has one"
    aircon = home.air_conditioner_profiles["aircon"]
    assert aircon.weekday == (ProfilePiece(start=time(17), end=time(23), set_point_c=24.0),)


def test_without_profiles_the_settings_keep_their_defaults() -> None:
    text = HOME_TOML.split("[preferences]")[0]
    home = _settings(text).home
    assert home.room_profile is None and home.air_conditioner_profiles == {}
    assert (home.room_low_c, home.room_high_c) == (20.0, 26.0)


# ----------------------------------------------------------------------------------- what the CEM plans with


def _record(device_id: str, kind: DeviceKind, at: datetime) -> DeviceRecord:
    capabilities = DeviceCapabilities(
        device_id=device_id, kind=kind, functions=(DeviceFunction.STATUS_REPORT,), max_power_w=5_000.0
    )
    return DeviceRecord(capabilities=capabilities, address=f"home/{device_id}", registered_at=at)


def _book(at: datetime) -> HomeBook:
    """A heat pump serving a room and an air conditioner cooling to 27 °C on its own settings, described ``at``."""
    book = HomeBook()
    heat_pump = ThermalStorageDescription(
        device_id="heatpump",
        at=at,
        heater=HeaterKind.HEAT_PUMP,
        tank=DEFAULT_HEAT_PUMP_TANK,
        temperature_c=50.0,
        heater_power_max_w=3_000.0,
        heat_pump=DEFAULT_HEAT_PUMP,
        room=DEFAULT_ROOM,
        room_temperature_c=22.0,
    )
    aircon = RoomClimateDescription(
        device_id="aircon",
        at=at,
        unit=DEFAULT_AIR_CONDITIONER,
        room=DEFAULT_ROOM,
        room_temperature_c=26.0,
        settings=AirConditionerSettings(device_id="aircon", on=True, mode=AcMode.COOL, set_point_c=27.0),
        fan_power_w=50.0,
    )
    book.take(heat_pump, _record("heatpump", DeviceKind.HEAT_PUMP, at), at)
    book.take(aircon, _record("aircon", DeviceKind.AIR_CONDITIONER, at), at)
    return book


def _bands(book: HomeBook, settings: CemSettings) -> dict[str, dict[datetime, tuple[float, float]]]:
    """Per device, the comfort band [°C] the CEM gives the planner at Tuesday and Saturday 18:00, Wednesday noon."""
    grid = Grid(start=TUESDAY_NOON, slot=timedelta(minutes=15), count=int(HORIZON / timedelta(minutes=15)))
    built = home_devices(
        book, grid, TUESDAY_NOON, ConstantForecasts(settings.home), settings.home, set(), zone=settings.zone
    )
    planner_grid = TimeGrid(grid.start, grid.slot, grid.count)
    bands: dict[str, dict[datetime, tuple[float, float]]] = {}
    for device in built.devices:
        assert isinstance(device, HeatPumpDevice | AirConditionerDevice) and device.room is not None
        low, high = comfort_bounds(planner_grid, device.room.comfort)
        bands[device.device_id] = {
            at: (float(low[k]), float(high[k]))
            for at in (TUESDAY_EVENING, SATURDAY_EVENING, WEDNESDAY_NOON)
            for k in [int((at - grid.start) / grid.slot)]
        }
    return bands


def test_the_cem_plans_the_rooms_with_the_tuesday_and_the_saturday_band_of_the_configuration() -> None:
    bands = _bands(_book(TUESDAY_NOON), _settings())
    assert bands["heatpump"][TUESDAY_EVENING] == (21.0, 23.0), "heat pump's room: the weekday evening piece"
    assert bands["heatpump"][SATURDAY_EVENING] == (22.0, 24.0), "heat pump's room: the weekend piece"
    assert bands["heatpump"][WEDNESDAY_NOON] == (19.0, 25.0), "no piece: the configured room_low_c/room_high_c"
    assert bands["aircon"][TUESDAY_EVENING] == (23.0, 25.0), "air conditioner: weekday set point 24 °C"
    assert bands["aircon"][SATURDAY_EVENING] == (25.0, 28.0), "air conditioner: weekend band"
    assert bands["aircon"][WEDNESDAY_NOON] == (26.0, 28.0), "no piece: its own set point 27 °C"


def test_the_users_own_weekly_profile_replaces_the_configured_one() -> None:
    book = _book(TUESDAY_NOON)
    own = WeeklyTemperatureProfile.model_validate(
        {
            "weekday": [{"start": "12:00", "end": "00:00", "set_point_c": 22.0}],
            "weekend": [{"start": "12:00", "end": "00:00", "set_point_c": 23.0}],
        }
    )
    settings = AirConditionerSettings(device_id="aircon", on=True, mode=AcMode.COOL, set_point_c=27.0)
    book.conditions["aircon"] = OperatingConditions(device_id="aircon", settings=settings, weekly_profile=own)
    bands = _bands(book, _settings())["aircon"]
    assert (bands[TUESDAY_EVENING], bands[SATURDAY_EVENING]) == ((21.0, 23.0), (22.0, 24.0))
    book.conditions["aircon"] = OperatingConditions(device_id="aircon", settings=settings)
    bands = _bands(book, _settings())["aircon"]
    assert (bands[TUESDAY_EVENING], bands[SATURDAY_EVENING]) == ((23.0, 25.0), (25.0, 28.0)), (
        "conditions without a profile of their own: the configured one"
    )


def test_a_running_cem_sends_the_air_conditioner_the_configured_band_for_tuesday_and_saturday() -> None:
    settings = _settings(HOME_TOML.replace('"home/retailer"', f'"{DOMAIN}/retailer"'), HORIZON)

    def air_conditioner(endpoint: Endpoint, cem: str, data: CityLearnData) -> AirConditionerAgent:
        model = AirConditionerModel(DEFAULT_AIR_CONDITIONER, Room(DEFAULT_ROOM, 26.0), on=False)
        five = timedelta(minutes=5)
        return AirConditionerAgent(endpoint, cem, data, model, step=five, log_interval=five)

    async def scenario(home: Home) -> list[TemperatureProfile]:
        await base_load(home)
        aircon = await agent(home, air_conditioner, "aircon")
        home.cem.set_operating_conditions(  # the user switches it on; no weekly profile of their own
            OperatingConditions(
                device_id="aircon",
                settings=AirConditionerSettings(
                    device_id="aircon", on=True, mode=AcMode.COOL, fan=FanSpeed.AUTO, set_point_c=27.0
                ),
            )
        )
        await settle(home)
        await home.clock.sleep_until(local(2021, 7, 6, 13))
        await aircon.power_off()
        bodies = [e.body for e in home.messages(TemperatureProfile)]
        return [b for b in bodies if isinstance(b, TemperatureProfile) and b.device_id == "aircon"]

    profiles = run_home(scenario, start=TUESDAY_NOON, settings=settings, forecasts=DataForecasts())
    assert profiles, "the CEM sends the air conditioner its resolved profile"
    tuesday, saturday = profiles[0].slot_at(TUESDAY_EVENING), profiles[0].slot_at(SATURDAY_EVENING)
    assert tuesday is not None and saturday is not None
    assert (tuesday.low_c, tuesday.high_c) == (23.0, 25.0)
    assert (saturday.low_c, saturday.high_c) == (25.0, 28.0)
    assert ZONE.key == settings.timezone, "the pieces are read in the configured time zone"


# ----------------------------------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("old", "new", "line", "field", "reason"),
    [
        ("end = 23:00:00", "end = 07:00:00", 18, "preferences.room_profile.weekend[0]", "not after start 08:00"),
        ("low_c = 22.0\n", "low_c = 25.0\n", 18, "preferences.room_profile.weekend[0]", "low_c 25.0 is above high_c"),
        (
            'end = "23:00", low_c = 21.0',
            'end = "23:00", colour = "blue", low_c = 21.0',
            13,
            "preferences.room_profile.weekday[1].colour",
            "unknown field",
        ),
        (
            '{ start = "17:00", end = "23:00", low_c = 21.0',
            '{ start = "07:00", end = "23:00", low_c = 21.0',
            13,
            "preferences.room_profile.weekday",
            "overlaps",
        ),
        ("start = 08:00:00", 'start = "8 am"', 19, "preferences.room_profile.weekend[0].start", "time"),
        ("room_high_c = 25.0", "room_high_c = 18.0", 10, "preferences.room_high_c", "below room_low_c 19.0"),
        (
            "set_point_c = 24.0 }]",
            "set_point_c = 24.0, low_c = 25.0, high_c = 26.0 }]",
            33,
            "devices[1].weekly_profile.weekday[0]",
            "set_point_c 24.0 is outside [25.0, 26.0]",
        ),
        (
            'kind = "heat_pump"\n',
            'kind = "heat_pump"\nweekly_profile = { weekday = [{ start = "06:00", end = "07:00", set_point_c = 21.0 }],'
            ' weekend = [{ start = "06:00", end = "07:00", set_point_c = 21.0 }] }\n',
            27,
            "devices[0].weekly_profile",
            "for an air conditioner's room; this device is a heat_pump",
        ),
    ],
)
def test_a_bad_profile_is_refused_naming_line_and_field(old: str, new: str, line: int, field: str, reason: str) -> None:
    assert old in HOME_TOML
    error = _refusal(HOME_TOML.replace(old, new, 1))
    assert (error.line, error.field) == (line, field), str(error)
    assert str(error).startswith(f"home.toml:{line}: {field}: ") and reason in error.reason, str(error)


def test_cem_run_refuses_a_bad_profile_naming_file_line_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "comfort.toml"
    path.write_text(HOME_TOML.replace("end = 23:00:00", "end = 07:00:00"), encoding="utf-8")
    with pytest.raises(ConfigError):
        load_home_config(path)
    assert main(["cem", "run", "--config", str(path)]) == 2
    assert "comfort.toml:18: preferences.room_profile.weekend[0]: Value error, end 07:00" in capsys.readouterr().err
    assert not (tmp_path / "flexcem-cem.db").exists(), "refused before anything was opened"
