"""Direct device controls of TR Table 1 at the CEM (WGSP2121, JWG2121): heat-pump shut-off profile, store heat,
VAR mode, voltage support and battery ancillary-service dispatch.

Each control is checked in this order, then carried out and answered with a
:class:`~flexcem.model.DirectControlResult` ("… successful/unsuccessful"):

1. **Authorisation** — only a grid actor of ``settings.tariff_sources`` may send it; a control that names an
   unknown device, a device of the wrong kind, or a window that has passed is bad input. Both are refused
   naming the field (a Nack for a unicast; an unsuccessful result with the reason for a group send).
2. **The user's settings** — the user lets the grid use each control on chosen devices
   (``settings.grid.direct_controls``); a battery dispatch must leave the user's minimum storage level
   (``settings.home.battery_min_level``); no heat is stored during an emergency, and devices in emergency
   standby are left alone. A control the settings forbid is answered unsuccessful, with the reason.
3. **Forwarding** to the devices that carry it out, in the form each understands:

   ============================  ==============================================================================
   heat-pump shut-off profile    each heat pump ``off`` at each block's start, ``on`` at its end; held out of
                                 the plans during the block
   store heat                    each water heater / heat pump ``start`` (heat the storage now) at the window's
                                 start; held out of the plans (which could switch it off) until its end
   battery dispatch              the dispatch schedule as the battery's power set points at its start; held
                                 out of the plans until its end
   VAR mode, voltage support     the message itself, to each inverter that declares reactive power
   ============================  ==============================================================================

   After a window the devices are released and the CEM re-plans. A window that has begun is carried out at
   once and the result reports the devices' own answers; a later one is answered as scheduled.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from flexcem.bus import DeliveryTimeout, Endpoint, LinkClosed, MessageRefused, PeerUnsupported, UnexpectedReply
from flexcem.cem.grid_settings import DirectControlKind
from flexcem.cem.grid_signals import Refused, check_source, refuse
from flexcem.cem.registry import DeviceRecord
from flexcem.cem.threshold_control import send_command
from flexcem.model import (
    BatteryDispatch,
    BatteryStatus,
    CommandKind,
    DeviceFunction,
    DeviceKind,
    DirectControlResult,
    Envelope,
    FlexModel,
    HeatPumpShutOffProfile,
    PowerSetpointSchedule,
    SettingResult,
    SimpleCommand,
    StoreHeatRequest,
    VarModeInformation,
    VoltageSupportRequest,
)

if TYPE_CHECKING:
    from flexcem.cem.manager import CustomerEnergyManager

__all__ = ["DeviceAction", "DirectControls"]

Act = Callable[[DeviceRecord], Awaitable[tuple[bool, str | None]]]
_HEATERS = (DeviceKind.WATER_HEATER, DeviceKind.HEAT_PUMP)
_INVERTERS = (DeviceKind.PV, DeviceKind.BATTERY)


@dataclass(frozen=True)
class DeviceAction:
    """What the CEM asked a device for a direct control, and the device's answer."""

    at: datetime
    ref: str
    device_id: str
    what: str
    success: bool
    reason: str | None


class _Unsuccessful(Exception):
    """The user's settings (or the site) do not let the control be carried out: the reason."""


class DirectControls:
    """Receives the Table 1 direct controls, checks them and has the devices carry them out."""

    def __init__(self, cem: CustomerEnergyManager, endpoint: Endpoint) -> None:
        self._cem = cem
        self._endpoint = endpoint
        self.actions: list[DeviceAction] = []
        """Every device action taken for a direct control, oldest first."""
        self.results: list[DirectControlResult] = []
        """Every result answered, oldest first."""
        self._tasks: set[asyncio.Task[None]] = set()
        endpoint.on(HeatPumpShutOffProfile, self._on_shut_off)
        endpoint.on(StoreHeatRequest, self._on_store_heat)
        endpoint.on(BatteryDispatch, self._on_battery_dispatch)
        endpoint.on(VarModeInformation, self._on_reactive)
        endpoint.on(VoltageSupportRequest, self._on_reactive)

    # ------------------------------------------------------------------------------------------ controls

    async def _on_shut_off(self, profile: HeatPumpShutOffProfile, envelope: Envelope) -> DirectControlResult:
        async def run() -> DirectControlResult:
            self._check_window(profile.blocks[-1].end, "blocks")
            devices = self._targets(DirectControlKind.HEAT_PUMP_SHUT_OFF, profile.device_id, (DeviceKind.HEAT_PUMP,))
            blocks = [b for b in profile.blocks if b.end > self._cem.clock.now()]
            first = await self._windows(
                profile.profile_id,
                devices,
                [(b.start, b.end) for b in blocks],
                begin=self._command(profile.profile_id, CommandKind.OFF, "grid: heat pump shut-off"),
                finish=self._command(profile.profile_id, CommandKind.ON, None),
            )
            return self._result(profile.profile_id, envelope, devices, first)

        return await self._take(profile.profile_id, envelope, run)

    async def _on_store_heat(self, request: StoreHeatRequest, envelope: Envelope) -> DirectControlResult:
        async def run() -> DirectControlResult:
            self._check_window(request.end, "end")
            devices = self._targets(
                DirectControlKind.STORE_HEAT, request.device_id, _HEATERS, command=CommandKind.START
            )
            if self._cem.emergency_active:
                raise _Unsuccessful("an emergency is in force: no heat is stored")
            first = await self._windows(
                request.request_id,
                devices,
                [(request.start, request.end)],
                begin=self._command(request.request_id, CommandKind.START, "grid: store heat"),
                finish=None,
            )
            return self._result(request.request_id, envelope, devices, first)

        return await self._take(request.request_id, envelope, run)

    async def _on_battery_dispatch(self, dispatch: BatteryDispatch, envelope: Envelope) -> DirectControlResult:
        async def run() -> DirectControlResult:
            schedule = dispatch.schedule
            self._check_window(schedule.end, "schedule")
            batteries = self._targets(DirectControlKind.BATTERY_DISPATCH, dispatch.device_id, (DeviceKind.BATTERY,))
            battery = max(batteries, key=lambda r: r.capabilities.energy_capacity_wh or 0.0)
            await self._check_reserve(battery, -sum(min(slot.energy_wh, 0.0) for slot in schedule.slots))
            setpoints = PowerSetpointSchedule(
                device_id=battery.device_id, schedule_id=dispatch.dispatch_id, schedule=schedule
            )

            async def begin(record: DeviceRecord) -> tuple[bool, str | None]:
                ok, why = await self._deliver(record, setpoints, SettingResult)
                self._act(dispatch.dispatch_id, record.device_id, f"{dispatch.service.value} dispatch", ok, why)
                return ok, why

            first = await self._windows(
                dispatch.dispatch_id, [battery], [(schedule.start, schedule.end)], begin=begin, finish=None
            )
            return self._result(dispatch.dispatch_id, envelope, [battery], first)

        return await self._take(dispatch.dispatch_id, envelope, run)

    async def _on_reactive(
        self, control: VarModeInformation | VoltageSupportRequest, envelope: Envelope
    ) -> DirectControlResult:
        if isinstance(control, VarModeInformation):
            ref, kind, device_id, ends = (
                control.control_id,
                DirectControlKind.VAR_MODE,
                control.device_id,
                control.valid_until,
            )
        else:
            ref, kind, device_id, ends = control.request_id, DirectControlKind.VOLTAGE_SUPPORT, None, control.end

        async def run() -> DirectControlResult:
            if ends is not None:
                self._check_window(ends, "valid_until" if kind is DirectControlKind.VAR_MODE else "end")
            inverters = self._targets(kind, device_id, _INVERTERS, function=DeviceFunction.REACTIVE_POWER)
            answers = []
            for record in inverters:
                addressed: FlexModel = control
                if isinstance(control, VarModeInformation) and control.device_id is None:
                    addressed = control.model_copy(update={"device_id": record.device_id})
                ok, why = await self._deliver(record, addressed, DirectControlResult)
                self._act(ref, record.device_id, kind.value, ok, why)
                answers.append((record.device_id, ok, why))
            return self._result(ref, envelope, inverters, answers)

        return await self._take(ref, envelope, run)

    # --------------------------------------------------------------------------------------- the checks

    async def _take(
        self, ref: str, envelope: Envelope, run: Callable[[], Awaitable[DirectControlResult]]
    ) -> DirectControlResult:
        cem = self._cem

        def reject(reason: str) -> DirectControlResult:
            return self._answer(DirectControlResult(ref=ref, control_type=envelope.type, success=False, reason=reason))

        try:
            check_source(cem, envelope, "direct device controls")
            return await run()
        except Refused as refusal:
            return refuse(cem, envelope, refusal, reject)
        except _Unsuccessful as why:
            cem.note(f"{envelope.type} {ref} from {envelope.sender} not carried out: {why}")
            return reject(str(why))

    def _check_window(self, end: datetime, field: str) -> None:
        now = self._cem.clock.now()
        if end <= now:
            raise Refused(f"it ended at {end.isoformat()}, before now ({now.isoformat()})", field)

    def _targets(
        self,
        control: DirectControlKind,
        device_id: str | None,
        kinds: Sequence[DeviceKind],
        *,
        command: CommandKind | None = None,
        function: DeviceFunction | None = None,
    ) -> list[DeviceRecord]:
        """The devices to carry out ``control`` (see the module); :class:`Refused` or :class:`_Unsuccessful`."""
        cem = self._cem
        names = " or ".join(kind.value.replace("_", " ") for kind in kinds)
        if device_id is not None:
            record = cem.registry.get(device_id)
            if record is None:
                raise Refused(f"no device {device_id!r} at this site", "device_id")
            if record.capabilities.kind not in kinds:
                raise Refused(f"{device_id} is a {record.capabilities.kind.value}, not a {names}", "device_id")
            candidates = [record]
        else:
            candidates = [r for r in cem.registry.records() if r.capabilities.kind in kinds]
        if command is not None:
            candidates = [r for r in candidates if command in r.capabilities.commands]
        if function is not None:
            candidates = [r for r in candidates if r.capabilities.supports(function)]
        if not candidates:
            what = f"{names} that can {command.value}" if command else names
            what += " with reactive-power control" if function is DeviceFunction.REACTIVE_POWER else ""
            raise _Unsuccessful(f"no {what} at this site")
        allowed = [r for r in candidates if cem.settings.grid.allows(control, r.device_id)]
        if not allowed:
            ids = ", ".join(r.device_id for r in candidates)
            raise _Unsuccessful(f"the user does not allow {control.value} for {ids}")
        free = [r for r in allowed if r.device_id not in cem.emergency.standby]
        if not free:
            raise _Unsuccessful("the devices are in emergency standby")
        return free

    async def _check_reserve(self, battery: DeviceRecord, discharge_wh: float) -> None:
        """:class:`_Unsuccessful` when discharging ``discharge_wh`` [Wh] would go below the user's minimum level."""
        minimum, capacity = self._cem.settings.home.battery_min_level, battery.capabilities.energy_capacity_wh
        if minimum is None or capacity is None or discharge_wh <= 0:
            return
        status = self._cem.grid_side.status.latest.get(battery.device_id)
        if not isinstance(status, BatteryStatus):
            status = await self._cem.grid_side.status.poll(battery.device_id)
        if not isinstance(status, BatteryStatus):
            raise _Unsuccessful(f"{battery.device_id}'s state of charge is unknown: its minimum level cannot be kept")
        available = status.remaining_energy_kwh * 1000.0 - minimum * capacity
        if discharge_wh > available + 1e-6:
            raise _Unsuccessful(
                f"discharging {discharge_wh:.0f} Wh would take {battery.device_id} below the user's minimum level "
                f"of {minimum:.0%} ({max(available, 0.0):.0f} Wh above it)"
            )

    # ---------------------------------------------------------------------------------------- carrying out

    async def _windows(
        self,
        ref: str,
        devices: list[DeviceRecord],
        windows: list[tuple[datetime, datetime]],
        *,
        begin: Act,
        finish: Act | None,
    ) -> list[tuple[str, bool, str | None]] | None:
        """Carry out ``windows`` in turn; the devices' answers when the first has begun, else ``None`` (a task
        carries them out later)."""
        now = self._cem.clock.now()
        answers: list[tuple[str, bool, str | None]] | None = None
        rest = windows
        if windows and windows[0][0] <= now:
            answers = await self._begin(devices, windows[0][1], begin)
            rest = windows[1:]
            self._spawn(self._finish_then(ref, devices, windows[0][1], finish, rest, begin))
        else:
            self._spawn(self._later(ref, devices, rest, begin, finish))
        return answers

    async def _later(
        self,
        ref: str,
        devices: list[DeviceRecord],
        windows: list[tuple[datetime, datetime]],
        begin: Act,
        finish: Act | None,
    ) -> None:
        for start, end in windows:
            await self._cem.clock.sleep_until(start)
            await self._begin(devices, end, begin)
            await self._release(devices, end, finish, ref)

    async def _finish_then(
        self,
        ref: str,
        devices: list[DeviceRecord],
        end: datetime,
        finish: Act | None,
        rest: list[tuple[datetime, datetime]],
        begin: Act,
    ) -> None:
        await self._release(devices, end, finish, ref)
        await self._later(ref, devices, rest, begin, finish)

    async def _begin(
        self, devices: list[DeviceRecord], end: datetime, begin: Act
    ) -> list[tuple[str, bool, str | None]]:
        held = self._cem.home.dispatcher.held_until
        for record in devices:
            held[record.device_id] = max(held.get(record.device_id, end), end)
        answers = await asyncio.gather(*(begin(record) for record in devices))
        return [(r.device_id, ok, why) for r, (ok, why) in zip(devices, answers, strict=True)]

    async def _release(self, devices: list[DeviceRecord], end: datetime, finish: Act | None, ref: str) -> None:
        cem = self._cem
        await cem.clock.sleep_until(end)
        dispatcher = cem.home.dispatcher
        released = []
        for record in devices:
            if dispatcher.held_until.get(record.device_id) == end:
                del dispatcher.held_until[record.device_id]
                for key in [k for k in dispatcher.confirmed if k[0] == record.device_id]:
                    del dispatcher.confirmed[key]
                released.append(record)
        if finish is not None:
            await asyncio.gather(*(finish(record) for record in released))
        cem.note(f"direct control {ref}: window over, {len(released)} device(s) back to the plans")
        cem.request_replan(f"direct control {ref} over")

    def _command(self, ref: str, command: CommandKind, reason: str | None) -> Act:
        async def act(record: DeviceRecord) -> tuple[bool, str | None]:
            ok, why = await send_command(
                self._endpoint,
                record.address,
                SimpleCommand(device_id=record.device_id, command=command, reason=reason),
            )
            self._act(ref, record.device_id, command.value, ok, why)
            return ok, why

        return act

    async def _deliver(self, record: DeviceRecord, body: FlexModel, expect: type[Any]) -> tuple[bool, str | None]:
        try:
            answer = await self._endpoint.deliver(record.address, body, expect=expect)
        except MessageRefused as refusal:
            return False, str(refusal)
        except (DeliveryTimeout, PeerUnsupported, LinkClosed, UnexpectedReply) as error:
            return False, f"no answer: {error}"
        return bool(answer.success), answer.reason

    # -------------------------------------------------------------------------------------------- answers

    def _result(
        self,
        ref: str,
        envelope: Envelope,
        devices: list[DeviceRecord],
        answers: list[tuple[str, bool, str | None]] | None,
    ) -> DirectControlResult:
        cem = self._cem
        ids = tuple(r.device_id for r in devices)
        if answers is None:
            cem.note(f"{envelope.type} {ref} from {envelope.sender}: scheduled for {', '.join(ids)}")
            return self._answer(DirectControlResult(ref=ref, control_type=envelope.type, success=True, devices=ids))
        done = tuple(device for device, ok, _ in answers if ok)
        failed = "; ".join(f"{device}: {why}" for device, ok, why in answers if not ok)
        cem.note(
            f"{envelope.type} {ref} from {envelope.sender}: carried out by {', '.join(done) or 'no device'}"
            + (f"; not by {failed}" if failed else "")
        )
        return self._answer(
            DirectControlResult(
                ref=ref, control_type=envelope.type, success=bool(done), devices=done, reason=failed[:256] or None
            )
        )

    def _answer(self, result: DirectControlResult) -> DirectControlResult:
        self.results.append(result)
        return result

    def _act(self, ref: str, device_id: str, what: str, ok: bool, why: str | None) -> None:
        self.actions.append(DeviceAction(self._cem.clock.now(), ref, device_id, what, ok, why))

    def _spawn(self, coroutine: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
