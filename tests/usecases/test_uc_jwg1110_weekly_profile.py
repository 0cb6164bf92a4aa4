"""JWG1110 acceptance test 5 — a weekly temperature profile with weekday/weekend variants yields the correct set
point for a Tuesday vs a Saturday (uc-home §5: "weekly profiles with weekday (Mon–Fri)/weekend profile").

The user gives the air conditioner a weekly profile in the home's local time: on weekdays 24 °C from 17:00 to
23:00, at the weekend 26 °C from 08:00 to 23:00 (the set point 27 °C elsewhere). Planned from Tuesday noon over
108 h (to Saturday midnight), the CEM sends the unit the resolved profile: at 18:00 on Tuesday the band is
[23, 25] °C, at 18:00 on Saturday [25, 27] °C; and the room, under the plan, is in the Tuesday evening's band
from 18:00 on.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flexcem.bus import Endpoint
from flexcem.cem import CemSettings, OperatingConditions
from flexcem.cem.home_settings import HomeSettings
from flexcem.data.citylearn import CityLearnData
from flexcem.devices.air_conditioner import DEFAULT_AIR_CONDITIONER, AirConditionerModel
from flexcem.devices.room import DEFAULT_ROOM, Room
from flexcem.model import AcMode, AirConditionerSettings, FanSpeed, TemperatureProfile, WeeklyTemperatureProfile
from home_harness import DOMAIN, Home, local, run_home, settle
from whole_home import AirConditionerAgent, DataForecasts, agent, base_load

TUESDAY_NOON = local(2021, 7, 6, 12)
TUESDAY_EVENING, SATURDAY_EVENING = local(2021, 7, 6, 18), local(2021, 7, 10, 18)
HORIZON = timedelta(hours=108)
SETTINGS = CemSettings(
    tariff_sources=(f"{DOMAIN}/retailer",),
    timezone="America/Chicago",
    home=HomeSettings(horizon_min=HORIZON, horizon_max=HORIZON),
)
WEEKLY = WeeklyTemperatureProfile.model_validate(
    {
        "weekday": [{"start": "17:00", "end": "23:00", "set_point_c": 24.0}],
        "weekend": [{"start": "08:00", "end": "23:00", "set_point_c": 26.0}],
    }
)
TOLERANCE_K = 0.05


def air_conditioner(endpoint: Endpoint, cem: str, data: CityLearnData) -> AirConditionerAgent:
    """Switched off, room at 26 °C; physics in 5-minute steps."""
    model = AirConditionerModel(DEFAULT_AIR_CONDITIONER, Room(DEFAULT_ROOM, 26.0), on=False)
    five = timedelta(minutes=5)
    return AirConditionerAgent(endpoint, cem, data, model, step=five, log_interval=five)


def run(until: datetime) -> tuple[list[TemperatureProfile], list[tuple[datetime, float]]]:
    """The profiles the unit got and its room temperatures, from Tuesday noon to ``until``."""

    async def scenario(home: Home) -> tuple[list[TemperatureProfile], list[tuple[datetime, float]]]:
        await base_load(home)
        aircon = await agent(home, air_conditioner, "aircon")
        home.cem.set_operating_conditions(
            OperatingConditions(
                device_id="aircon",
                settings=AirConditionerSettings(
                    device_id="aircon", on=True, mode=AcMode.COOL, fan=FanSpeed.AUTO, set_point_c=27.0
                ),
                weekly_profile=WEEKLY,
            )
        )
        await settle(home)
        await home.clock.sleep_until(until)
        room = [(entry.at, entry.room_c) for entry in aircon.history]
        await aircon.power_off()
        return [e.body for e in home.messages(TemperatureProfile) if e.body.device_id == "aircon"], room

    return run_home(scenario, start=TUESDAY_NOON, settings=SETTINGS, forecasts=DataForecasts())


def test_the_unit_gets_the_weekday_band_on_tuesday_and_the_weekend_band_on_saturday() -> None:
    profiles, room = run(local(2021, 7, 6, 23))
    assert profiles, "the CEM sends the air conditioner its resolved profile"
    first = profiles[0]
    tuesday, saturday = first.slot_at(TUESDAY_EVENING), first.slot_at(SATURDAY_EVENING)
    assert tuesday is not None and saturday is not None, "the profile covers Tuesday and Saturday evening"
    assert (tuesday.low_c, tuesday.high_c) == (23.0, 25.0)
    assert (saturday.low_c, saturday.high_c) == (25.0, 27.0)
    noon = first.slot_at(local(2021, 7, 7, 12))
    assert noon is not None and (noon.low_c, noon.high_c) == (26.0, 28.0), "outside the pieces: the set point"
    # the band steps down at 17:00 and the unit may not pre-cool below the earlier band's bottom (26 °C): it pulls
    # the room down within the hour
    evening = [c for at, c in room if TUESDAY_EVENING <= at <= local(2021, 7, 6, 23)]
    assert evening and max(evening) <= 25.0 + TOLERANCE_K, f"the room reaches {max(evening):.2f} °C on Tuesday"
