"""The protocol agent of a continuously running home device: battery, PV, heat pump, water heater, AC, fuel cell.

Unlike an appliance with a job (:mod:`flexcem.devices.agent`), these devices run all the time. The agent

* registers at the CEM with its capabilities, then announces its flexibility — a description of its parameters
  and state (:mod:`flexcem.model.home_descriptions`) — and sends it again on a ``FlexibilityRequest``;
* accepts power set-point schedules, temperature profiles, operating-mode settings and simple commands,
  answering each with a successful or unsuccessful result (with the reason);
* answers ``StatusRequest`` with its kind's status and ``LogRequest`` with its kind's log (uc-home §8),
  recording a status every ``log_interval``;
* steps its physics on the clock: the power of the schedule's slot when there is one, its own control
  otherwise; steps end on every slot and data-hour boundary, so a planned profile is executed exactly;
* reports its status to the CEM every ``report_interval`` (with acknowledgement) and goes **fail-safe** when
  nothing has come back from the CEM for ``failsafe_after``: it sets the CEM's schedules and profiles aside and
  runs on its own (battery idle, heat pump back on its thermostat, …) until the CEM speaks again — any message
  or acknowledgement from it. Then it takes up again what it set aside (the slots not yet over), at once: that
  is what the CEM still counts as confirmed, whether or not it noticed the silence (a device can miss the CEM's
  acknowledgements while the CEM hears the device), and the CEM's next plan replaces it as any confirmed
  schedule (:mod:`flexcem.cem.heartbeat`, :mod:`flexcem.cem.home_dispatch`). A schedule or profile that
  arrives ends the fail-safe first, so it replaces the one set aside for its circuit or zone.
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Coroutine
from datetime import datetime, timedelta
from typing import Any, ClassVar, Protocol

from flexcem.bus import DeliveryTimeout, Endpoint, LinkClosed, MessageRefused, PeerUnsupported
from flexcem.data.citylearn import CityLearnData
from flexcem.devices.power_log import PowerLog
from flexcem.model import (
    Circuit,
    CommandKind,
    CommandResult,
    DeviceCapabilities,
    DeviceFunction,
    DeviceKind,
    DeviceRegistration,
    DeviceState,
    Envelope,
    FlexibilityRequest,
    FlexModel,
    LogRequest,
    PowerSetpointSchedule,
    SettingResult,
    SimpleCommand,
    StatusLog,
    StatusRequest,
    TemperatureProfile,
    Zone,
)

__all__ = ["HomeDeviceAgent", "NextSlotEdge"]

log = logging.getLogger("flexcem.devices.home")

_HOUR = timedelta(hours=1)


class _Slotted(Protocol):
    """A series of slots: a power schedule's or a temperature profile's."""

    @property
    def start(self) -> datetime: ...

    def slot_at(self, instant: datetime) -> Any: ...


class NextSlotEdge:
    """The next slot edge (a series' start, or the end of the slot under way) of a few series after an instant.

    Kept from the instant it was found until that edge, as long as the very same series are asked about: in
    between every series is in the same slot (or before its start, or past its end), so the edge stays.
    """

    __slots__ = ("_edge", "_series", "_since")

    def __init__(self) -> None:
        self._series: tuple[_Slotted, ...] = ()
        self._since: datetime | None = None
        self._edge: datetime | None = None

    def at(self, now: datetime, series: tuple[_Slotted, ...]) -> datetime | None:
        """The first slot edge after ``now`` of ``series``, or ``None`` when all are over."""
        since, edge = self._since, self._edge
        if (
            since is not None
            and since <= now
            and (edge is None or now < edge)
            and len(series) == len(self._series)
            and all(a is b for a, b in zip(series, self._series, strict=True))
        ):
            return edge
        edge = None
        for item in series:
            if now < item.start:
                candidate = item.start
            elif (slot := item.slot_at(now)) is not None:
                candidate = slot.end
            else:
                continue
            if edge is None or candidate < edge:
                edge = candidate
        self._series, self._since, self._edge = series, now, edge
        return edge


class HomeDeviceAgent(ABC):
    """Base of the continuously running devices' agents. Subclasses give the kind, the messages and the physics."""

    kind: ClassVar[DeviceKind]
    log_type: ClassVar[type[StatusLog[Any]]]

    def __init__(
        self,
        endpoint: Endpoint,
        cem_address: str,
        data: CityLearnData,
        *,
        step: timedelta = timedelta(minutes=1),
        log_interval: timedelta = timedelta(minutes=15),
        report_interval: timedelta = timedelta(minutes=15),
        failsafe_after: timedelta = timedelta(minutes=45),
        log_capacity: int = 96 * 7,
    ) -> None:
        self.endpoint = endpoint
        self.clock = endpoint.clock
        self.cem_address = cem_address
        self.device_id = endpoint.address.split("/", 1)[1]
        self.data = data
        self.step = step
        self.log_interval = log_interval
        self.report_interval = report_interval
        self.failsafe_after = failsafe_after
        self.power = PowerLog(self.clock.now())
        self.schedules: dict[Circuit, PowerSetpointSchedule] = {}
        self.profiles: dict[Zone, TemperatureProfile] = {}
        self.history: deque[Any] = deque(maxlen=log_capacity)
        self.registered = asyncio.Event()
        self.failsafe = False
        self._set_aside: tuple[dict[Circuit, PowerSetpointSchedule], dict[Zone, TemperatureProfile]] = ({}, {})
        self.events: list[str] = []
        self._last_heard = self.clock.now()
        self._started = self.clock.now()
        self._background: set[asyncio.Task[None]] = set()
        self._runner: asyncio.Task[None] | None = None
        self._next_log: datetime | None = None
        """When the next status is logged (set by the step loop)."""
        self._hour: tuple[datetime, datetime] | None = None
        """The data hour of the last step (start, end)."""
        self._schedule_edge = NextSlotEdge()
        endpoint.on(StatusRequest, self._on_status_request)
        endpoint.on(LogRequest, self._on_log_request)
        endpoint.on(FlexibilityRequest, self._on_flexibility_request)
        endpoint.on(PowerSetpointSchedule, self._on_schedule)
        endpoint.on(TemperatureProfile, self._on_profile)
        endpoint.on(SimpleCommand, self._on_command)

    # ------------------------------------------------------------------------------------------------ kind

    @abstractmethod
    def capabilities(self) -> DeviceCapabilities:
        """What the device declares to the CEM."""

    def _declare(
        self,
        model: str,
        commands: tuple[CommandKind, ...],
        max_power_w: float,
        *,
        min_power_w: float = 0.0,
        temperature_profile: bool = False,
        energy_capacity_wh: float | None = None,
    ) -> DeviceCapabilities:
        """The capabilities every home device declares — simple commands, status, log, power measurement (and
        temperature profiles when it takes them) — with its own model name, commands and power range [W]."""
        functions = (
            DeviceFunction.SIMPLE_COMMANDS,
            DeviceFunction.STATUS_REPORT,
            DeviceFunction.LOG_REPORT,
            DeviceFunction.POWER_MEASUREMENT,
        ) + ((DeviceFunction.TEMPERATURE_PROFILE,) if temperature_profile else ())
        return DeviceCapabilities(
            device_id=self.device_id,
            kind=self.kind,
            manufacturer="flexcem",
            model=model,
            functions=functions,
            commands=commands,
            max_power_w=max_power_w,
            min_power_w=min_power_w,
            energy_capacity_wh=energy_capacity_wh,
            failsafe_after=self.failsafe_after,
        )

    @abstractmethod
    def description(self) -> FlexModel:
        """Its flexibility: parameters and present state."""

    @abstractmethod
    def status(self) -> Any:
        """Its kind's status now (uc-home §8)."""

    @abstractmethod
    def _advance(self, now: datetime, dt_h: float) -> float:
        """Step the physics over ``[now, now + dt_h)`` with the power decided at ``now``; site power [W]."""

    def _check_schedule(self, schedule: PowerSetpointSchedule) -> str | None:
        """Why the schedule cannot be followed, or ``None``."""
        return f"{self.kind.value} takes no power schedule"

    def _check_profile(self, profile: TemperatureProfile) -> str | None:
        """Why the temperature profile cannot be followed, or ``None``."""
        return f"{self.kind.value} takes no temperature profile"

    def _apply_command(self, command: SimpleCommand) -> str | None:
        """Carry out a simple command; the reason when it cannot be."""
        return f"{command.command.value} is not supported"

    def _device_state(self) -> DeviceState:
        return DeviceState.RUNNING if abs(self.power.power_w) > 1e-6 else DeviceState.IDLE

    # ------------------------------------------------------------------------------------------- schedule

    def setpoint_w(self, now: datetime, circuit: Circuit = Circuit.MAIN) -> float | None:
        """The CEM's power for ``now`` on ``circuit`` [W], or ``None`` (own control)."""
        schedule = self.schedules.get(circuit)
        if schedule is None or self.failsafe:
            return None
        slot = schedule.schedule.slot_at(now)
        return None if slot is None else slot.power_w

    def band_c(self, now: datetime, zone: Zone = Zone.ROOM) -> tuple[float, float] | None:
        """The comfort band of the profile for ``now`` [°C], or ``None``."""
        profile = self.profiles.get(zone)
        slot = None if profile is None or self.failsafe else profile.slot_at(now)
        return None if slot is None else (slot.low_c, slot.high_c)

    def _next_boundary(self, now: datetime) -> datetime:
        """Where the step from ``now`` ends: a ``step`` on, at the end of the data hour or at a schedule's next
        slot edge, whichever comes first."""
        end = now + self.step
        hour = self._hour_end(now)
        if hour < end:
            end = hour
        edge = self._schedule_edge.at(now, tuple(schedule.schedule for schedule in self.schedules.values()))
        if edge is not None and edge < end:
            end = edge
        return end

    def _hour_end(self, now: datetime) -> datetime:
        """End of the data hour containing ``now`` (kept until then: asked at every step)."""
        hour = self._hour
        if hour is None or not hour[0] <= now < hour[1]:
            start = self.data.start + self.data.index(now) * _HOUR
            hour = self._hour = (start, start + _HOUR)
        return hour[1]

    # ------------------------------------------------------------------------------------------ lifecycle

    async def power_on(self) -> None:
        """Start listening, register, announce the flexibility and run the physics."""
        await self.endpoint.start()
        self._last_heard = self._started = self.clock.now()
        self._spawn(self._register())
        self._runner = self._spawn(self._run())
        self._spawn(self._report())

    async def power_off(self) -> None:
        """Stop and leave the bus."""
        # Cancel until every task is done: on Python 3.11 a cancel that meets a reply arriving at the same
        # instant can be swallowed by asyncio.wait_for inside Endpoint.deliver (the report loop would go on).
        while tasks := [task for task in self._background if not task.done()]:
            for task in tasks:
                task.cancel()
            await asyncio.wait(tasks, timeout=1.0)
        self.power.set(self.clock.now(), 0.0)
        await self.endpoint.close()

    async def _register(self) -> None:
        delay = 1.0
        while True:
            try:
                await self.endpoint.deliver(self.cem_address, DeviceRegistration(capabilities=self.capabilities()))
                await self.endpoint.deliver(self.cem_address, self.description())
            except (DeliveryTimeout, MessageRefused, PeerUnsupported) as error:
                log.warning("%s: registration at %s failed: %s", self.device_id, self.cem_address, error)
                await self.clock.sleep(delay)
                delay = min(delay * 2, 60.0)
                continue
            except LinkClosed:
                return
            self._heard()
            self.registered.set()
            return

    async def _run(self, resume_at: datetime | None = None) -> None:
        """Step the physics: at each step's start the fail-safe check, the status log when due, and the step to
        the next boundary. A subclass may work out the steps that follow at once (:meth:`_plan_ahead`): the
        loop then wakes only after them; from ``resume_at`` when restarted after such steps were cut."""
        if resume_at is not None:
            await self.clock.sleep_until(resume_at)
        if self._next_log is None:
            self._next_log = self.clock.now()
        while True:
            now = self.clock.now()
            self._settle(now)
            self._check_failsafe(now)
            if now >= self._next_log:
                self.history.append(self.status())
                self._next_log = now + self.log_interval
            end = min(self._next_boundary(now), self._next_log)
            dt_h = (end - now).total_seconds() / 3600.0
            self.power.set(now, self._advance(now, dt_h))
            await self.clock.sleep_until(self._plan_ahead(end, self._next_log))

    def _plan_ahead(self, start: datetime, next_log: datetime) -> datetime:
        """Hook: the steps from ``start`` on that need no wake-up, worked out now (their state applied by
        :meth:`_settle` as each begins); when the loop wakes next. By default every step wakes it."""
        return start

    def _settle(self, now: datetime) -> None:
        """Hook: apply the steps worked out ahead that have begun by ``now`` (before anything looks at the state or
        changes the control)."""
        return None

    def _cut_ahead(self) -> None:
        """Hook: the control just changed: steps worked out ahead are dropped (the loop wakes where the first of
        them would have begun, as it would have without them)."""
        return None

    async def _report(self) -> None:
        await self.registered.wait()
        while True:
            await self.clock.sleep(self.report_interval.total_seconds())
            try:
                await self.endpoint.deliver(self.cem_address, self.status())
            except (MessageRefused, PeerUnsupported):
                self._heard()  # an answer all the same: the CEM is there
            except DeliveryTimeout as error:
                log.info("%s: no answer from the CEM: %s", self.device_id, error)
            except LinkClosed:
                return
            else:
                self._heard()

    def _heard(self) -> None:
        now = self._last_heard = self.clock.now()
        if self.failsafe:
            self._before_control_change()
            self.failsafe = False
            schedules, profiles = self._set_aside
            self._set_aside = ({}, {})
            for circuit, schedule in schedules.items():
                if schedule.schedule.end > now:
                    self.schedules.setdefault(circuit, schedule)
            for zone, profile in profiles.items():
                if profile.end > now:
                    self.profiles.setdefault(zone, profile)
            taken_up = [s.schedule_id for s in self.schedules.values()] + [p.profile_id for p in self.profiles.values()]
            self._event(f"the CEM answers again; following its schedules ({', '.join(taken_up) or 'none left'})")
            self._after_control_change()

    def _check_failsafe(self, now: datetime) -> None:
        if not self.failsafe and now - self._last_heard > self.failsafe_after:
            self.failsafe = True
            self._set_aside = (dict(self.schedules), dict(self.profiles))
            self.schedules.clear()
            self.profiles.clear()
            self._event(
                f"no word from the CEM since {self._last_heard:%H:%M}; running on my own (fail-safe), its "
                "schedules set aside until it answers"
            )

    def _drop_schedules(self) -> None:
        """A command takes the device off the CEM's power schedules: drop those it follows and those it set aside
        in the fail-safe, so that the CEM's return does not take them up again (an OFF from the user's app while
        the CEM is silent holds). A schedule the CEM sends afterwards is followed as usual."""
        self.schedules.clear()
        self._set_aside[0].clear()

    def _before_control_change(self) -> None:
        """Hook: the CEM's schedules are about to start or stop applying mid-step (a lazily stepped agent brings
        its physics up to now)."""
        return None

    def _after_control_change(self) -> None:
        """Hook: they just did (a lazily stepped agent chooses the rest of its step anew)."""
        return None

    # ------------------------------------------------------------------------------------------- messages

    async def _on_status_request(self, request: StatusRequest, envelope: Envelope) -> FlexModel:
        self._check_for_me(request.device_id, envelope)
        return self.status()  # type: ignore[no-any-return]

    async def _on_log_request(self, request: LogRequest, envelope: Envelope) -> StatusLog[Any]:
        self._check_for_me(request.device_id, envelope)
        now = self.clock.now()
        entries = tuple(entry for entry in self.history if request.covers(entry.at) and entry.at <= now)
        start = request.start or (entries[0].at if entries else self._started)
        end = request.end or now + timedelta(microseconds=1)
        if end <= start:
            end = start + timedelta(microseconds=1)
        return self.log_type(device_id=self.device_id, start=start, end=end, entries=entries)

    async def _on_flexibility_request(self, request: FlexibilityRequest, envelope: Envelope) -> FlexModel:
        self._check_for_me(request.device_id, envelope)
        return self.description()

    async def _on_schedule(self, schedule: PowerSetpointSchedule, envelope: Envelope) -> SettingResult:
        self._check_for_me(schedule.device_id, envelope)
        reason = self._check_schedule(schedule)
        if reason is None:
            self.schedules[schedule.circuit] = schedule
            self._event(f"schedule {schedule.schedule_id} for {schedule.circuit.value} from {schedule.schedule.start}")
        return self._result(schedule.schedule_id, reason)

    async def _on_profile(self, profile: TemperatureProfile, envelope: Envelope) -> SettingResult:
        self._check_for_me(profile.device_id, envelope)
        reason = self._check_profile(profile)
        if reason is None:
            self.profiles[profile.zone] = profile
            self._event(f"temperature profile {profile.profile_id} for {profile.zone.value}")
        return self._result(profile.profile_id, reason)

    async def _on_command(self, command: SimpleCommand, envelope: Envelope) -> CommandResult:
        self._check_for_me(command.device_id, envelope)
        reason = self._apply_command(command)
        self._event(f"{command.command.value}: {reason or 'done'}")
        return CommandResult(
            device_id=self.device_id,
            command=command.command,
            success=reason is None,
            state=self._device_state(),
            reason=reason,
        )

    def _switch_heater(self, command: SimpleCommand, heat_now: Callable[[], None], what: str) -> str | None:
        """ON and OFF (which also drops the CEM's schedules, :meth:`_drop_schedules`) for a heater with an
        ``enabled`` flag; START heats at once through ``heat_now``; anything else is refused, naming ``what`` the
        device is."""
        if command.command is CommandKind.ON:
            self.enabled = True
        elif command.command is CommandKind.OFF:
            self.enabled = False
            self._drop_schedules()
        elif command.command is CommandKind.START:
            self.enabled = True
            heat_now()
        else:
            return f"{command.command.value} is not supported by {what}"
        return None

    def _check_for_me(self, device_id: str, envelope: Envelope) -> None:
        if device_id != self.device_id:
            raise MessageRefused(f"this is {self.device_id}, not {device_id}", "device_id")
        if envelope.sender == self.cem_address:
            self._heard()

    def _result(self, ref: str, reason: str | None) -> SettingResult:
        return SettingResult(device_id=self.device_id, ref=ref, success=reason is None, reason=reason)

    # -------------------------------------------------------------------------------------------- helpers

    def _event(self, text: str) -> None:
        log.info("%s: %s", self.device_id, text)
        self.events.append(f"{self.clock.now().isoformat()} {text}")

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task: asyncio.Task[None] = asyncio.ensure_future(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task
