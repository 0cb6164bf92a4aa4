"""The disaster sequence of story JWG21 ("control appliances in natural disaster").

"WH and storage battery have top priority. Presets: WH 90 °C, 50 %; battery quick charge. Plan: check all
appliances, normal shutdown of all except WH and battery, run those two. Auto-execution on a power alert is
enabled. Alert at 10 AM; acts at 10 AM + n." The user's preset is ``settings.grid.disaster``
(:class:`~flexcem.cem.grid_settings.DisasterSettings`); the **power alert** is a *severe*
:class:`~flexcem.model.EmergencySignal` while ``auto_execute`` is on.

At alert + ``delay`` (n) the emergency's standby shuts every other device down (the top-priority devices are
exempt from it) and this program runs the two: each water heater gets the preset
(:class:`~flexcem.model.WaterHeaterSettings`) after ``off`` (which drops the plan's schedules) and ``start``;
each battery ``charge`` at full power. Both are held out of the plans. Then one of four branches:

* (a) **no call-off** — nothing more is sent: both run to finish (the heater's thermostat stops at the preset,
  the battery at full);
* (b) **saving request** (:class:`~flexcem.model.EnergySavingRequest`) — the water heaters shut down normally
  (``off``); the batteries keep charging;
* (c) **power-cut info** (an emergency signal with a ``blackout`` window) — both run on; their normal shutdown
  (heater ``off``, battery ``standby``) is done ``shutdown_lead`` before the cut;
* (d) **alert call-off** (:class:`~flexcem.model.EmergencyEnd` of the alert) — normal shutdown of both, then the
  emergency's end returns the home to its plans.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from flexcem.bus import DeliveryTimeout, Endpoint, LinkClosed, MessageRefused, PeerUnsupported, UnexpectedReply
from flexcem.cem.threshold_control import send_command
from flexcem.model import CommandKind, SettingResult, SimpleCommand, TimeWindow, WaterHeaterSettings

if TYPE_CHECKING:
    from flexcem.cem.manager import CustomerEnergyManager

__all__ = ["DisasterProgram", "DisasterStep"]


@dataclass(frozen=True)
class DisasterStep:
    """One action of the disaster sequence and the device's answer."""

    at: datetime
    device_id: str
    action: str
    success: bool
    reason: str | None


class DisasterProgram:
    """Runs the user's disaster preset for the emergency ``key`` it was started for (see the module)."""

    def __init__(self, cem: CustomerEnergyManager, endpoint: Endpoint) -> None:
        self._cem = cem
        self._endpoint = endpoint
        self.key: str | None = None
        """The emergency the sequence runs for; ``None`` when it does not run."""
        self.steps: list[DisasterStep] = []
        self._cut: asyncio.Task[None] | None = None

    @property
    def active(self) -> bool:
        """Whether the disaster sequence runs."""
        return self.key is not None

    def exempt(self) -> set[str]:
        """The devices the emergency standby leaves to this program while it runs."""
        return set(self._cem.settings.grid.disaster.priority) if self.active else set()

    async def run(self, key: str) -> None:
        """Run the top-priority devices for emergency ``key`` (the others are in standby already)."""
        cem, preset = self._cem, self._cem.settings.grid.disaster
        self.key = key
        held = cem.home.dispatcher.held_until
        for device_id in preset.priority:
            held[device_id] = _forever(cem.clock.now())
        for heater in preset.water_heaters:
            if await self._command(heater, CommandKind.OFF, "disaster plan: preset run"):
                settings = WaterHeaterSettings(
                    device_id=heater, set_point_c=preset.set_point_c, level_percent=preset.level_percent
                )
                if await self._setting(heater, settings):
                    await self._command(heater, CommandKind.START, "disaster plan: preset run")
        for battery in preset.batteries:
            await self._command(battery, CommandKind.CHARGE, "disaster plan: quick charge")
        cem.note(f"disaster plan for {key}: {', '.join(preset.priority) or 'no device'} run with the preset")

    async def on_saving(self) -> None:
        """Branch (b): the water heaters shut down normally; the batteries go on charging."""
        for heater in self._cem.settings.grid.disaster.water_heaters:
            await self._command(heater, CommandKind.OFF, "disaster plan: energy saving requested")
        self._cem.note("disaster plan: saving request, water heaters shut down; batteries go on charging")

    def on_cut(self, window: TimeWindow) -> None:
        """Branch (c): both run until ``shutdown_lead`` before the cut, then shut down normally."""
        if self._cut is not None:
            self._cut.cancel()
        at = window.start - self._cem.settings.grid.disaster.shutdown_lead
        self._cut = asyncio.create_task(self._shutdown_at(at, "before the power cut"))
        self._cem.note(f"disaster plan: power cut at {self._cem.settings.clock_time(window.start)}, shutdown first")

    async def call_off(self) -> None:
        """Branch (d): normal shutdown of both; the program ends."""
        await self._shutdown("alert called off")
        self.release()

    def release(self) -> None:
        """The program ends: the devices go back to the plans."""
        if self._cut is not None and self._cut is not asyncio.current_task():
            self._cut.cancel()
        self._cut, self.key = None, None
        held = self._cem.home.dispatcher.held_until
        for device_id in self._cem.settings.grid.disaster.priority:
            held.pop(device_id, None)

    async def _shutdown_at(self, at: datetime, why: str) -> None:
        await self._cem.clock.sleep_until(at)
        await self._shutdown(why)

    async def _shutdown(self, why: str) -> None:
        preset = self._cem.settings.grid.disaster
        for heater in preset.water_heaters:
            await self._command(heater, CommandKind.OFF, f"disaster plan: {why}")
        for battery in preset.batteries:
            await self._command(battery, CommandKind.STANDBY, f"disaster plan: {why}")
        self._cem.note(f"disaster plan: normal shutdown of {', '.join(preset.priority)} ({why})")

    async def _command(self, device_id: str, command: CommandKind, reason: str) -> bool:
        address = self._cem.address_of(device_id)
        if address is None:
            return self._step(device_id, command.value, False, "not registered")
        ok, why = await send_command(
            self._endpoint, address, SimpleCommand(device_id=device_id, command=command, reason=reason)
        )
        return self._step(device_id, command.value, ok, why)

    async def _setting(self, device_id: str, settings: WaterHeaterSettings) -> bool:
        address = self._cem.address_of(device_id)
        if address is None:
            return self._step(device_id, "preset", False, "not registered")
        try:
            result = await self._endpoint.deliver(address, settings, expect=SettingResult)
        except (MessageRefused, DeliveryTimeout, PeerUnsupported, LinkClosed, UnexpectedReply) as error:
            return self._step(device_id, "preset", False, str(error))
        return self._step(device_id, "preset", result.success, result.reason)

    def _step(self, device_id: str, action: str, ok: bool, why: str | None) -> bool:
        self.steps.append(DisasterStep(self._cem.clock.now(), device_id, action, ok, why))
        return ok


def _forever(now: datetime) -> datetime:
    return now.replace(year=now.year + 100)
