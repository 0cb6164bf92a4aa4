"""JWG1110 — an air conditioner under the CEM's plan keeps the room in its comfort band (uc-home; story JWG14).

The report lets the CEM set an air conditioner's power and its "temperature profile" ("set point over time,
slots with fixed temperature"). The CEM's plan is made on a coarser model of the room (15-minute slots, the
temperature the unit described when planning) and the unit carries out its power open loop, so the CEM also
sends the band per slot that the plan kept, and the unit's own control keeps the room inside it where the plan's
power falls short. Without that profile the room sits a few hundredths of a kelvin above the band for hours.

A hot August day in the CityLearn building: base load and an air conditioner cooling to 24 °C (band 23–25 °C,
physics in 5-minute steps). During a load-management window that the user permits to relax the band by
``RELAX_K``, the room may drift up to the widened band, never beyond it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flexcem.bus import Endpoint
from flexcem.cem.grid_settings import FlexPermission
from flexcem.data.citylearn import CityLearnData
from flexcem.devices.air_conditioner import DEFAULT_AIR_CONDITIONER, AirConditionerModel
from flexcem.devices.room import DEFAULT_ROOM, Room
from flexcem.model import AcMode, AdjustmentAction, FanSpeed, PowerSetpointSchedule, TemperatureProfile
from grid_side import dso, grid_settings, smart_meter
from home_harness import Home, local, run_home, settle
from whole_home import AirConditionerAgent, DataForecasts, agent, base_load

START = local(2021, 8, 10, 6)
SET_POINT_C = 24.0
BAND = (SET_POINT_C - 1.0, SET_POINT_C + 1.0)
TOLERANCE_K = 0.01
WINDOW = (local(2021, 8, 10, 19), local(2021, 8, 10, 21))
ASKED_AT = local(2021, 8, 10, 14)
RELAX_K = 0.3
RECOVERY = timedelta(minutes=30)
"""After the window the room is back in the narrow band within this (the unit cools at full power)."""


def air_conditioner(endpoint: Endpoint, cem: str, data: CityLearnData) -> AirConditionerAgent:
    """Cooling to 24 °C, fan auto, the room at 24 °C; physics in 5-minute steps, a status every 5 minutes."""
    model = AirConditionerModel(DEFAULT_AIR_CONDITIONER, Room(DEFAULT_ROOM, SET_POINT_C), on=True)
    model.mode, model.fan, model.set_point_c = AcMode.COOL, FanSpeed.AUTO, SET_POINT_C
    five = timedelta(minutes=5)
    return AirConditionerAgent(endpoint, cem, data, model, step=five, log_interval=five)


@dataclass
class Day:
    room: list[tuple[datetime, float]]
    profiles: list[TemperatureProfile]
    schedules: int
    plans: int


def run_day(until: datetime, *, request_at: datetime | None = None, allow: tuple[FlexPermission, ...] = ()) -> Day:
    """The home from :data:`START` to ``until``; with ``request_at`` the DSO asks then for 1.5 kW less in
    :data:`WINDOW`."""

    async def scenario(home: Home) -> Day:
        meter = await base_load(home)
        aircon = await agent(home, air_conditioner, "aircon")
        await smart_meter(home, [aircon.power, meter.meter(START, until)])
        grid = await dso(home)
        await settle(home)
        if request_at is not None:
            await home.clock.sleep_until(request_at)
            await home.cem.settled()
            await grid.load.request(
                "home/cem",
                action=AdjustmentAction.REDUCE,
                amount_w=1500.0,
                start=WINDOW[0],
                end=WINDOW[1],
                response_deadline=request_at + timedelta(minutes=30),
                event_id="evening",
            )
        await home.clock.sleep_until(until)
        room = [(entry.at, entry.room_c) for entry in aircon.history]
        await aircon.power_off()
        sent = [e.body for e in home.messages(TemperatureProfile) if e.body.device_id == "aircon"]
        schedules = [e for e in home.messages(PowerSetpointSchedule) if e.body.device_id == "aircon"]
        return Day(room, sent, len(schedules), home.cem.plans_made)

    return run_home(scenario, start=START, settings=grid_settings(allow=allow), forecasts=DataForecasts())


def outside(room: list[tuple[datetime, float]], band: Callable[[datetime], tuple[float, float]]) -> list[str]:
    """The samples further than :data:`TOLERANCE_K` outside ``band(at)``, as text."""
    found = []
    for at, temperature in room:
        low, high = band(at)
        if temperature < low - TOLERANCE_K or temperature > high + TOLERANCE_K:
            found.append(f"{at:%H:%M} {temperature:.3f} °C outside [{low}, {high}]")
    return found


def test_the_room_stays_in_the_comfort_band_all_day_under_the_plan() -> None:
    day = run_day(START + timedelta(days=1))
    assert day.profiles, "the CEM sends the air conditioner the band its plan kept"
    band = day.profiles[0].slots[-1]
    assert (band.low_c, band.high_c) == BAND
    assert len(day.room) > 250
    assert not outside(day.room, lambda at: BAND), outside(day.room, lambda at: BAND)[:5]
    assert max(t for _, t in day.room) > BAND[1] - 0.05, "the plan does use the band (it rests at its top)"
    # plan stability: the CEM re-plans, but an unchanged band is not sent again
    assert day.plans >= 2 and day.schedules >= 1
    assert len(day.profiles) == 1, [profile.profile_id for profile in day.profiles]


def test_a_permitted_load_management_window_widens_the_band_and_the_room_drifts_no_further() -> None:
    permission = FlexPermission(device_id="aircon", max_duration=timedelta(hours=4), comfort_range_c=RELAX_K)
    day = run_day(WINDOW[1] + timedelta(hours=2), request_at=ASKED_AT, allow=(permission,))
    wide = (BAND[0] - RELAX_K, BAND[1] + RELAX_K)
    relaxed = [p for p in day.profiles if any((s.low_c, s.high_c) == wide for s in p.slots)]
    assert relaxed, "the relaxation granted for the window reaches the unit with the plan"
    slot = next(s for s in relaxed[-1].slots if (s.low_c, s.high_c) == wide)
    assert (slot.start, slot.end) == WINDOW

    def band(at: datetime) -> tuple[float, float]:
        return wide if WINDOW[0] <= at < WINDOW[1] + RECOVERY else BAND

    assert not outside(day.room, band), outside(day.room, band)[:5]
    in_window = [t for at, t in day.room if WINDOW[0] <= at <= WINDOW[1]]
    assert max(in_window) > BAND[1] + RELAX_K - 0.05, "the room drifts up to the widened band (the load is cut)"
