"""The comfort band a plan kept, as the temperature profile a room's unit gets (flexcem.cem.comfort_profiles)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flexcem.cem.comfort_profiles import comfort_profiles, unchanged
from flexcem.cem.home_planning import relax_comfort
from flexcem.cem.power_reduction import ComfortRelaxation
from flexcem.model import PriceSlot, TemperatureProfile, TemperatureSlot, Zone
from flexcem.model.home_parameters import HeatPumpParameters, RoomParameters
from flexcem.planner import PlanningProblem
from flexcem.planner.devices import AirConditionerDevice
from flexcem.planner.devices.thermal_inputs import ComfortSlot, RoomInput
from flexcem.planner.devices.thermal_inputs import TemperatureSlot as OutdoorSlot

START = datetime(2021, 8, 10, 12, tzinfo=UTC)
QUARTER = timedelta(minutes=15)
HOURS = 6


def _problem(comfort: tuple[ComfortSlot, ...]) -> PlanningProblem:
    span = timedelta(hours=HOURS)
    device = AirConditionerDevice(
        device_id="aircon",
        unit=HeatPumpParameters(power_max_w=3000.0),
        outdoor=(OutdoorSlot(start=START, duration=span, temperature_c=35.0),),
        room=RoomInput(
            parameters=RoomParameters(heat_capacity_kwh_per_k=8.0, loss_w_per_k=200.0),
            initial_c=24.0,
            comfort=comfort,
        ),
    )
    return PlanningProblem(
        start=START,
        end=START + span,
        slot_duration=QUARTER,
        devices=(device,),
        prices=(PriceSlot(start=START, duration=span, price_per_kwh=0.2),),
    )


def _bands(profile: TemperatureProfile) -> list[tuple[datetime, datetime, float, float]]:
    return [(s.start, s.end, s.low_c, s.high_c) for s in profile.slots]


def test_the_set_point_band_widened_in_a_permitted_window_and_free_before_the_finish_time() -> None:
    finish, window = START + timedelta(hours=1), (START + timedelta(hours=3), START + timedelta(hours=4))
    comfort = [
        ComfortSlot(start=START, duration=finish - START, lower_c=-50.0, upper_c=60.0),
        ComfortSlot(start=finish, duration=START + timedelta(hours=HOURS) - finish, set_point_c=24.0),
    ]
    relaxed = tuple(relax_comfort(comfort, [ComfortRelaxation(window[0], window[1], 2.0)]))
    (profile,) = comfort_profiles(_problem(relaxed), lambda device_id: True, "p7")
    assert profile.device_id == "aircon" and profile.profile_id == "aircon-room-p7" and profile.zone is Zone.ROOM
    assert _bands(profile) == [
        (START, finish, -20.0, 60.0),  # an open side is sent as the profile's limit: it never binds
        (finish, window[0], 23.0, 25.0),
        (window[0], window[1], 21.0, 27.0),
        (window[1], START + timedelta(hours=HOURS), 23.0, 25.0),
    ]


def test_a_unit_that_takes_no_profiles_gets_none() -> None:
    comfort = (ComfortSlot(start=START, duration=timedelta(hours=HOURS), set_point_c=24.0),)
    assert comfort_profiles(_problem(comfort), lambda device_id: False, "p1") == []


def _profile(start: datetime, hours: int, high_c: float = 25.0) -> TemperatureProfile:
    slot = TemperatureSlot(start=start, duration=timedelta(hours=hours), low_c=23.0, high_c=high_c)
    return TemperatureProfile(device_id="aircon", profile_id=f"p{hours}", slots=(slot,))


def test_an_unchanged_band_is_not_sent_again_while_the_confirmed_one_reaches_far_enough() -> None:
    now, cover = START + timedelta(hours=2), timedelta(hours=12)
    confirmed = _profile(START, 24)
    assert unchanged(confirmed, _profile(now, 24), now, cover)
    assert not unchanged(confirmed, _profile(now, 24, high_c=25.5), now, cover)  # the band changed
    assert not unchanged(_profile(START, 6), _profile(now, 24), now, cover)  # the confirmed one ends too soon
    hot_water = confirmed.model_copy(update={"zone": Zone.HOT_WATER})
    assert not unchanged(hot_water, _profile(now, 24), now, cover)
