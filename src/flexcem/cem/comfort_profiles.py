"""The comfort band a plan kept for each room, as the :class:`~flexcem.model.TemperatureProfile` its unit gets
with its schedule (JWG1110, JWG112x; story JWG14).

A power schedule is open loop: the plan's room model (planning slots, the description's temperature at the
moment of planning) never matches the room exactly, and a unit that follows the plan's power blindly lets the
room settle a little outside the band (hours at 25.1 °C for a band 23–25 °C). So with each plan the CEM also
sends every planned room's unit that declares temperature profiles (:class:`~flexcem.model.DeviceFunction`
``temperature_profile``) the band per planning slot that the plan used — the user's set point band, widened
inside a load-management window the user permits (:class:`~flexcem.cem.power_reduction.ComfortRelaxation`),
free before an air conditioner's finish time — and the unit's own control keeps the room inside it where the
plan's power falls short (the air conditioner runs the larger of the two).

* Rooms: an air conditioner's and a heat pump's that serves a room (zone ``room``); a side without a bound
  is sent as the profile's limit (−20 °C, 120 °C), so it never binds.
* Adjacent slots with the same band are merged.
* **Stability** as for schedules (:func:`unchanged`): a profile whose bands from now on equal the confirmed
  one's, while the confirmed one still reaches far enough ahead, is not sent again.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import numpy as np

from flexcem.model import TemperatureProfile, TemperatureSlot, Zone
from flexcem.planner import PlanningProblem
from flexcem.planner.devices import AirConditionerDevice, HeatPumpDevice
from flexcem.planner.devices.thermal_inputs import RoomInput, comfort_bounds

__all__ = ["BAND_TOLERANCE_K", "comfort_profiles", "unchanged"]

_LOWEST_C, _HIGHEST_C = -20.0, 120.0
"""The range a :class:`~flexcem.model.TemperatureSlot` allows [°C]: an open side of a band is sent as its end."""

BAND_TOLERANCE_K = 1e-3
"""Bands closer than this [K] are the same band."""


def _room(device: object) -> RoomInput | None:
    if isinstance(device, AirConditionerDevice):
        return device.room
    if isinstance(device, HeatPumpDevice):
        return device.room
    return None


def _profile(problem: PlanningProblem, device_id: str, room: RoomInput, tag: str) -> TemperatureProfile:
    grid = problem.grid()
    lower, upper = comfort_bounds(grid, room.comfort)
    lows = np.clip(np.nan_to_num(lower, neginf=_LOWEST_C, posinf=_HIGHEST_C), _LOWEST_C, _HIGHEST_C)
    highs = np.clip(np.nan_to_num(upper, neginf=_LOWEST_C, posinf=_HIGHEST_C), _LOWEST_C, _HIGHEST_C)
    runs: list[tuple[int, int, float, float]] = []  # first slot, slot count, low, high
    for k, (low, high) in enumerate(zip(lows.tolist(), highs.tolist(), strict=True)):
        high = max(low, high)
        if runs and runs[-1][2] == low and runs[-1][3] == high:
            first, count, _, _ = runs[-1]
            runs[-1] = (first, count + 1, low, high)
        else:
            runs.append((k, 1, low, high))
    slots = tuple(
        TemperatureSlot(start=grid.slot_start(first), duration=count * grid.slot, low_c=low, high_c=high)
        for first, count, low, high in runs
    )
    return TemperatureProfile(device_id=device_id, profile_id=f"{device_id}-room-{tag}", zone=Zone.ROOM, slots=slots)


def comfort_profiles(
    problem: PlanningProblem, takes_profiles: Callable[[str], bool], tag: str
) -> list[TemperatureProfile]:
    """The room profile of every device of ``problem`` with a room whose unit ``takes_profiles``; ids end in
    ``tag``."""
    profiles: list[TemperatureProfile] = []
    for device in problem.devices:
        room = _room(device)
        if room is not None and takes_profiles(device.device_id):
            profiles.append(_profile(problem, device.device_id, room, tag))
    return profiles


def unchanged(confirmed: TemperatureProfile, new: TemperatureProfile, now: datetime, cover: timedelta) -> bool:
    """Whether sending ``new`` instead of the ``confirmed`` profile would change nothing: same zone, the
    confirmed one reaches at least ``min(new end, now + cover)`` and from ``now`` on both give the same band
    (within :data:`BAND_TOLERANCE_K`) wherever both are defined."""
    if confirmed.zone is not new.zone or confirmed.end < min(new.end, now + cover):
        return False
    low = max(now, new.start, confirmed.start)
    high = min(new.end, confirmed.end)
    points = {low} | {slot.start for series in (confirmed, new) for slot in series.slots if low < slot.start < high}
    for instant in points:
        if instant >= high:
            continue
        old, fresh = confirmed.slot_at(instant), new.slot_at(instant)
        if (
            old is None
            or fresh is None
            or abs(old.low_c - fresh.low_c) > BAND_TOLERANCE_K
            or abs(old.high_c - fresh.high_c) > BAND_TOLERANCE_K
        ):
            return False
    return True
