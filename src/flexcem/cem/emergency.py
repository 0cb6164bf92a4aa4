"""Emergencies and announced power cuts at the CEM (JWG2122, stories JWG8 and JWG20).

* **Standby** (2122.1, JWG8): from the signal's ``start`` every registered device that takes simple commands
  goes to network standby — ``standby`` where it declares it, else ``pause`` (a running appliance), else
  ``off`` — except the devices the user's contract profile exempts (``settings.grid.emergency_exempt``) and the
  generators (PV, fuel cell: their output helps the grid in a shortage). ``cem.emergency_active`` is set, and
  the devices in standby are held: no plan sends them anything until the end.
* **Severe level**: the plan changes — batteries charge (``charge`` instead of ``standby``) so that the home
  has stored energy if the blackout comes.
* **End** (2122.2): at :class:`~flexcem.model.EmergencyEnd` or when the duration has passed, each device
  gets the command that undoes its standby (``on``, ``resume``; a battery its next schedule), the CEM forgets
  their confirmed schedules (so the next plan sends them again) and re-plans.
* **Confirmations**: when asked for, the handler answers the signal with the start confirmation (devices in
  standby and exempt ones) and the end message with the end confirmation.
* **Announced blackout** (JWG20): the cut's window is planned around at once — an import limit of 0 W in the
  window, so flexible jobs leave it and storable loads (hot water, battery) run before it — and standby
  applies from the cut's start for its length.
* The traffic light's red state uses the same standby (:meth:`EmergencyControl.enter`, ``leave``).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from flexcem.bus import Endpoint, MessageRefused
from flexcem.cem.disaster import DisasterProgram
from flexcem.cem.grid_signals import Refused, check_source, multicast
from flexcem.cem.threshold_control import send_command
from flexcem.model import (
    AlertLevel,
    CommandKind,
    DeviceFunction,
    DeviceKind,
    DeviceState,
    EmergencyConfirmation,
    EmergencyEnd,
    EmergencyPhase,
    EmergencySignal,
    Envelope,
    PowerFlow,
    SimpleCommand,
    TimeWindow,
)
from flexcem.planner import LimitSlot

if TYPE_CHECKING:
    from flexcem.cem.manager import CustomerEnergyManager

__all__ = ["EmergencyControl", "StandbyCommand"]

_UNDO = {CommandKind.STANDBY: None, CommandKind.CHARGE: None, CommandKind.PAUSE: CommandKind.RESUME}
_GENERATORS = {DeviceKind.PV, DeviceKind.FUEL_CELL}


@dataclass(frozen=True)
class StandbyCommand:
    """A command the CEM gave a device for an emergency, and the device's answer."""

    at: datetime
    device_id: str
    command: CommandKind
    success: bool
    reason: str | None


@dataclass
class _Emergency:
    key: str
    level: AlertLevel
    until: datetime | None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    disaster: bool = False
    """Whether the user's disaster plan runs for it (story JWG21)."""
    blackout: TimeWindow | None = None
    called_off: bool = False


class EmergencyControl:
    """Standby of the home's devices while an emergency (or the red state) is in force."""

    def __init__(self, cem: CustomerEnergyManager, endpoint: Endpoint) -> None:
        self._cem = cem
        self._endpoint = endpoint
        self.active: dict[str, _Emergency] = {}
        self.standby: dict[str, CommandKind] = {}
        """Devices in standby and the command that put them there."""
        self.commands: list[StandbyCommand] = []
        self.disaster = DisasterProgram(cem, endpoint)  # story JWG21
        self.held_jobs: dict[str, datetime] = {}
        """Jobs not yet started whose start the emergency holds back, and the instant they wait for."""
        endpoint.on(EmergencySignal, self._on_signal)
        endpoint.on(EmergencyEnd, self._on_end)

    async def _on_signal(self, signal: EmergencySignal, envelope: Envelope) -> EmergencyConfirmation | None:
        cem, now = self._cem, self._cem.clock.now()
        try:
            check_source(cem, envelope, "emergencies")
            ends = signal.ends_at()
            if ends is not None and ends <= now:
                raise Refused(f"the emergency lapsed at {ends.isoformat()}", "duration")
        except Refused as refusal:
            cem.note(f"refused {envelope.type} from {envelope.sender}: {refusal.reason}")
            if multicast(envelope):
                return None
            raise MessageRefused(refusal.reason, refusal.field) from None
        key = f"emergency {signal.emergency_id}"
        if key in self.active:
            return None
        preset = cem.settings.grid.disaster
        disaster = signal.level is AlertLevel.SEVERE and preset.auto_execute and not self.disaster.active
        emergency = _Emergency(key, signal.level, ends, disaster=disaster, blackout=signal.blackout)
        self.active[key] = emergency
        if self.disaster.active and signal.blackout is not None:
            self.disaster.on_cut(signal.blackout)  # JWG21 (c): power-cut information during the disaster plan
        cem.note(
            f"{signal.level.value} emergency {signal.emergency_id} from {envelope.sender} at "
            f"{cem.settings.clock_time(signal.start)}" + (f" until {cem.settings.clock_time(ends)}" if ends else "")
        )
        if signal.blackout is not None:
            window = signal.blackout
            limit = LimitSlot(start=window.start, duration=window.duration, limit_w=0.0)
            cem.reductions.hold(key, PowerFlow.IMPORT, [limit])
            cem.request_replan(
                f"power cut {cem.settings.clock_time(window.start)}–{cem.settings.clock_time(window.end)}"
            )
        begin = max(signal.start, now) + preset.delay if disaster else signal.start  # JWG21: acts at alert + n
        if begin > now:
            emergency.tasks.append(asyncio.create_task(self._enter_at(key, begin)))
        else:
            await self.enter(key)
        if ends is not None:
            emergency.tasks.append(asyncio.create_task(self._leave_at(key, ends)))
        if not signal.confirmation_requested:
            return None
        return EmergencyConfirmation(
            emergency_id=signal.emergency_id,
            phase=EmergencyPhase.START,
            at=cem.clock.now(),
            devices_in_standby=len(self.standby),
            exempt_devices=tuple(d for d in cem.settings.grid.emergency_exempt if cem.registry.get(d)),
        )

    async def _on_end(self, end: EmergencyEnd, envelope: Envelope) -> EmergencyConfirmation | None:
        try:
            check_source(self._cem, envelope, "the end of an emergency")
        except Refused as refusal:
            if multicast(envelope):
                return None
            raise MessageRefused(refusal.reason, refusal.field) from None
        key = f"emergency {end.emergency_id}"
        if key not in self.active:
            if multicast(envelope):
                return None
            raise MessageRefused(f"no emergency {end.emergency_id!r} in force", "emergency_id")
        self.active[key].called_off = True  # JWG21 (d)
        if end.at > self._cem.clock.now():
            self.active[key].tasks.append(asyncio.create_task(self._leave_at(key, end.at)))
        else:
            await self.leave(key)
        if not end.confirmation_requested:
            return None
        return EmergencyConfirmation(
            emergency_id=end.emergency_id,
            phase=EmergencyPhase.END,
            at=self._cem.clock.now(),
            devices_in_standby=len(self.standby),
        )

    async def _enter_at(self, key: str, at: datetime) -> None:
        await self._cem.clock.sleep_until(at)
        if key in self.active:
            await self.enter(key)

    async def _leave_at(self, key: str, at: datetime) -> None:
        await self._cem.clock.sleep_until(at)
        await self.leave(key)

    async def enter(self, key: str, level: AlertLevel | None = None) -> None:
        """Put every non-exempt device into standby for ``key`` (an emergency, or the red traffic light)."""
        cem = self._cem
        emergency = self.active.setdefault(key, _Emergency(key, level or AlertLevel.NORMAL, None))
        cem.emergency_active = True
        exempt = set(cem.settings.grid.emergency_exempt) | self.disaster.exempt()
        if emergency.disaster:
            exempt |= set(cem.settings.grid.disaster.priority)
        jobs: list[tuple[str, str, CommandKind]] = []
        for record in cem.registry.records():
            capabilities = record.capabilities
            device_id = capabilities.device_id
            if device_id in exempt or device_id in self.standby or capabilities.kind in _GENERATORS:
                continue
            if not capabilities.supports(DeviceFunction.SIMPLE_COMMANDS):
                continue
            running = record.status is not None and record.status.state is DeviceState.RUNNING
            command = _standby_command(capabilities.commands, capabilities.kind, emergency.level, running)
            if command is not None:
                jobs.append((device_id, record.address, command))
        for device_id, _, command in jobs:
            self.standby[device_id] = command
            cem.home.dispatcher.held_until[device_id] = _forever(cem.clock.now())
        results = await asyncio.gather(*(self._command(d, a, c) for d, a, c in jobs))
        failed = [d for (d, _, _), ok in zip(jobs, results, strict=True) if not ok]
        cem.note(
            f"{key}: {len(jobs) - len(failed)} device(s) in standby"
            + (f", {', '.join(failed)} did not answer as asked" if failed else "")
            + (f"; exempt: {', '.join(sorted(exempt))}" if exempt else "")
        )
        self._hold_jobs(key, emergency.until, exempt)
        if emergency.disaster and not self.disaster.active:
            await self.disaster.run(key)
            if emergency.blackout is not None:
                self.disaster.on_cut(emergency.blackout)

    def _hold_jobs(self, key: str, until: datetime | None, exempt: set[str]) -> None:
        """Appliances that wait for a planned start do not start in the emergency: their start is held back to
        its end (when known), at most to their latest start (the user's deadline is kept)."""
        cem = self._cem
        now = cem.clock.now()
        held = []
        for job in cem.jobs.movable():
            if job.device_id in exempt or job.offer_id in self.held_jobs or job.offer.latest_start <= now:
                continue
            wait = min(until or _forever(now), job.offer.latest_start)
            if job.not_before is not None and job.not_before >= wait:
                continue
            job.not_before = wait
            self.held_jobs[job.offer_id] = wait
            held.append(f"{job.device_id} until {cem.settings.clock_time(wait)}")
        if held:
            cem.note(f"{key}: planned starts held back: {', '.join(held)}")
            cem.request_replan(f"{key}: planned starts held back")

    async def _command(self, device_id: str, address: str, command: CommandKind) -> bool:
        reason = "grid emergency" if command is not CommandKind.RESUME and command is not CommandKind.ON else None
        success, why = await send_command(
            self._endpoint, address, SimpleCommand(device_id=device_id, command=command, reason=reason)
        )
        self.commands.append(StandbyCommand(self._cem.clock.now(), device_id, command, success, why))
        return success

    async def leave(self, key: str) -> None:
        """End ``key``; when no emergency is left, undo every standby and re-plan."""
        cem = self._cem
        emergency = self.active.pop(key, None)
        if emergency is None:
            return
        if self.disaster.key == key:
            if emergency.called_off:
                await self.disaster.call_off()
            else:
                self.disaster.release()
        current = asyncio.current_task()
        for task in emergency.tasks:
            if task is not current:
                task.cancel()
        cem.reductions.release(key)
        if self.active:
            cem.note(f"{key} over; {', '.join(self.active)} still in force")
            return
        cem.emergency_active = False
        for offer_id, wait in self.held_jobs.items():
            job = cem.jobs.get(offer_id)
            if job is not None and job.not_before == wait:
                job.not_before = None
        self.held_jobs.clear()
        devices, self.standby = self.standby, {}
        dispatcher = cem.home.dispatcher
        for device_id in devices:
            dispatcher.held_until.pop(device_id, None)
            for confirmed in [k for k in dispatcher.confirmed if k[0] == device_id]:
                del dispatcher.confirmed[confirmed]
        undo = [(d, c) for d, c in devices.items() if _undo(c) is not None]
        await asyncio.gather(*(self._command(d, a, u) for d, c in undo if (a := cem.address_of(d)) and (u := _undo(c))))
        cem.note(f"{key} over: {len(devices)} device(s) back to normal operation")
        cem.request_replan(f"{key} over")


def _standby_command(
    commands: tuple[CommandKind, ...], kind: DeviceKind, level: AlertLevel, running: bool
) -> CommandKind | None:
    """The command that puts a device of ``kind`` declaring ``commands`` into standby (see the module)."""
    if kind is DeviceKind.BATTERY and level is AlertLevel.SEVERE and CommandKind.CHARGE in commands:
        return CommandKind.CHARGE
    if CommandKind.STANDBY in commands:
        return CommandKind.STANDBY
    if CommandKind.PAUSE in commands:
        return CommandKind.PAUSE if running else None
    return CommandKind.OFF if CommandKind.OFF in commands else None


def _undo(command: CommandKind) -> CommandKind | None:
    return CommandKind.ON if command is CommandKind.OFF else _UNDO.get(command)


def _forever(now: datetime) -> datetime:
    return now.replace(year=now.year + 100)
