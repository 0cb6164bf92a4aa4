"""Carrying a whole-home plan out: settings and power set-point schedules to each device, with their results.

For each device, concurrently with the others: first the user's settings when they changed (water heater set
point and level, air conditioner mode, wind and set point), then one :class:`~flexcem.model.PowerSetpointSchedule`
per circuit, then the room's :class:`~flexcem.model.TemperatureProfile` (:mod:`flexcem.cem.comfort_profiles`), each
answered by a :class:`~flexcem.model.SettingResult`.

* a schedule that changes the confirmed one only negligibly (:func:`~flexcem.cem.setpoints.negligible`) is not
  sent: the device keeps the confirmed one (plan stability);
* likewise a profile whose bands are those of the confirmed one (:func:`~flexcem.cem.comfort_profiles.unchanged`);
  a device whose confirmed schedules were dropped (an emergency, a direct control) gets its profile again too;
* an accepted schedule or profile becomes the confirmed one;
* a refusal (unsuccessful result or Nack; a fuel cell's controller may override the CEM, JWG1111) is
  journalled with the device's reason; the device is then left to its own control for
  ``home.refusal_holdoff``: the plans leave it out (its confirmed schedule, which it still follows, counts as
  committed load) and nothing is sent to it, so the CEM never fights its controller; a re-plan follows;
* an undelivered schedule (timeout, link closed) is journalled and sent again by the next plan;
* a device in fail-safe (:mod:`flexcem.cem.heartbeat`) is :attr:`HomeDispatcher.suspended`: it runs on its own,
  so its confirmed schedules count as no committed load, but they stay confirmed — the device set them aside
  and takes them up again as soon as it hears from the CEM (:mod:`flexcem.devices.home_agent`), so the
  CEM's record and the device agree whether or not the CEM noticed the silence, and the next plan replaces
  them as usual;
* a known device that registers again has restarted (:meth:`HomeDispatcher.forget`): it lost what it had
  confirmed, so the CEM forgets it too and its next plan sends the device its schedules, profiles and
  settings in full (:mod:`flexcem.cem.manager`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from flexcem.bus import DeliveryTimeout, Endpoint, LinkClosed, MessageRefused, PeerUnsupported, UnexpectedReply
from flexcem.cem.comfort_profiles import unchanged
from flexcem.cem.home_settings import HomeSettings
from flexcem.cem.setpoints import negligible
from flexcem.model import (
    AirConditionerSettings,
    Circuit,
    PowerSetpointSchedule,
    PowerSlot,
    SettingResult,
    TemperatureProfile,
    WaterHeaterSettings,
    Zone,
)

__all__ = ["HomeDispatcher", "Refusal"]

_UNDELIVERED = (DeliveryTimeout, PeerUnsupported, LinkClosed, UnexpectedReply)

UserSettings = WaterHeaterSettings | AirConditionerSettings


@dataclass(frozen=True)
class Refusal:
    """A device refused what the CEM sent."""

    at: datetime
    device_id: str
    ref: str
    reason: str


class HomeDispatcher:
    """Sends the home's schedules and settings and remembers what each device confirmed."""

    def __init__(
        self,
        endpoint: Endpoint,
        settings: Callable[[], HomeSettings],
        address_of: Callable[[str], str | None],
        note: Callable[[str], None],
    ) -> None:
        self._endpoint = endpoint
        self._settings = settings
        self._address_of = address_of
        self._note = note
        self.confirmed: dict[tuple[str, Circuit], PowerSetpointSchedule] = {}
        self.settings_confirmed: dict[str, UserSettings] = {}
        self.profiles_confirmed: dict[tuple[str, Zone], TemperatureProfile] = {}
        self.held_until: dict[str, datetime] = {}
        self.suspended: set[str] = set()
        """Devices in fail-safe: their confirmed schedules are kept but not counted as committed load."""
        self.refusals: list[Refusal] = []
        self.sent = 0
        self.kept = 0

    def held(self, now: datetime) -> set[str]:
        """Devices left to their own control after a refusal."""
        return {device_id for device_id, until in self.held_until.items() if until > now}

    def forget(self, device_id: str) -> bool:
        """Forget what ``device_id`` confirmed — schedules, profiles and user settings — because it no longer has
        them (it restarted); whether there was anything to forget. Holds and fail-safe are left as they are."""
        keys = [key for key in self.confirmed if key[0] == device_id]
        zones = [zone for zone in self.profiles_confirmed if zone[0] == device_id]
        for key in keys:
            del self.confirmed[key]
        for zone in zones:
            del self.profiles_confirmed[zone]
        had_settings = self.settings_confirmed.pop(device_id, None) is not None
        return bool(keys or zones or had_settings)

    def committed_of(self, device_ids: set[str], now: datetime) -> list[PowerSlot]:
        """What the ``device_ids`` still do by their confirmed schedules from ``now`` [W] (nothing for a device in
        fail-safe: it runs on its own)."""
        return [
            slot
            for (device_id, _), schedule in self.confirmed.items()
            if device_id in device_ids and device_id not in self.suspended
            for slot in schedule.schedule.slots
            if slot.end > now
        ]

    async def apply(
        self,
        schedules: list[PowerSetpointSchedule],
        user_settings: list[UserSettings],
        profiles: list[TemperatureProfile] | None = None,
    ) -> bool:
        """Send what changed; whether a device refused (a re-plan is due then)."""
        profiles = profiles or []
        devices = sorted(
            {s.device_id for s in schedules} | {s.device_id for s in user_settings} | {p.device_id for p in profiles}
        )
        results = await asyncio.gather(
            *(
                self._device(
                    device_id,
                    [s for s in user_settings if s.device_id == device_id],
                    [s for s in schedules if s.device_id == device_id],
                    [p for p in profiles if p.device_id == device_id],
                )
                for device_id in devices
            )
        )
        return any(results)

    async def _device(
        self,
        device_id: str,
        user_settings: list[UserSettings],
        schedules: list[PowerSetpointSchedule],
        profiles: list[TemperatureProfile],
    ) -> bool:
        address = self._address_of(device_id)
        if address is None:
            return False
        now = self._endpoint.clock.now()
        if device_id in self.held(now):
            return False
        if not any(circuit[0] == device_id for circuit in self.confirmed):  # dropped: the device may have lost all
            for zone in [zone for zone in self.profiles_confirmed if zone[0] == device_id]:
                del self.profiles_confirmed[zone]
        for wanted in user_settings:
            if self.settings_confirmed.get(device_id) == wanted:
                continue
            result = await self._send(address, device_id, wanted, type(wanted).__name__)
            if result is None:
                continue
            if not result:
                return True
            self.settings_confirmed[device_id] = wanted
        settings = self._settings()
        for schedule in schedules:
            key = (device_id, schedule.circuit)
            confirmed = self.confirmed.get(key)
            if confirmed is not None and negligible(
                confirmed, schedule, now, settings.setpoint_tolerance_w, settings.schedule_cover
            ):
                self.kept += 1
                continue
            result = await self._send(address, device_id, schedule, schedule.schedule_id)
            if result is None:
                continue
            if not result:
                return True
            self.confirmed[key] = schedule
            self.sent += 1
            self._note(f"{device_id} follows {schedule.schedule_id} ({schedule.circuit.value})")
        for profile in profiles:
            zone_key = (device_id, profile.zone)
            kept = self.profiles_confirmed.get(zone_key)
            if kept is not None and unchanged(kept, profile, now, settings.schedule_cover):
                continue
            result = await self._send(address, device_id, profile, profile.profile_id)
            if result is None:
                continue
            if not result:
                return True
            self.profiles_confirmed[zone_key] = profile
            self._note(f"{device_id} keeps the comfort band of {profile.profile_id} ({profile.zone.value})")
        return False

    async def _send(
        self, address: str, device_id: str, body: PowerSetpointSchedule | TemperatureProfile | UserSettings, ref: str
    ) -> bool | None:
        """Deliver ``body``: True when carried out, False when refused (recorded), None when undelivered."""
        try:
            result = await self._endpoint.deliver(address, body, expect=SettingResult)
        except MessageRefused as refusal:
            reason = str(refusal)
        except _UNDELIVERED as error:
            self._note(f"{ref} for {device_id} not delivered: {error}")
            return None
        else:
            if result.success:
                return True
            reason = result.reason or "no reason given"
        now = self._endpoint.clock.now()
        until = now + self._settings().refusal_holdoff
        self.refusals.append(Refusal(now, device_id, ref, reason))
        self.held_until[device_id] = until
        self._note(
            f"{device_id} refused {ref}: {reason}; it runs on its own control until "
            f"{until:%H:%M} and the plan leaves it out"
        )
        return False
