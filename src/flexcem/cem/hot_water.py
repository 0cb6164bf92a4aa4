"""Extra hot water and the battery behind it (JWG1121, JWG1122; uc-home §7).

* JWG1121 — "customer requests HP on for water heating; unless an emergency situation exists, the request
  overrules an active configuration". :meth:`HotWaterSupport.request_extra_hot_water` sends the heat pump a
  :class:`~flexcem.model.HotWaterRequest` (the pump then heats the tank to its maximum at once, whatever its
  schedule) — or refuses, saying why, while an emergency is active.
* JWG1122 — "HP controller starts heating and broadcasts its operation status; EMS receives it and requests the
  storage battery controller to start discharge". :meth:`HotWaterSupport.on_heat_pump_status` answers a status
  that says the pump heats extra hot water by asking each registered battery to discharge at the pump's power,
  and, once the pump is back to normal, to stand by (the next plan then takes the battery over again).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from flexcem.bus import DeliveryTimeout, Endpoint, LinkClosed, MessageRefused, PeerUnsupported, UnexpectedReply
from flexcem.cem.registry import DeviceRegistry
from flexcem.cem.threshold_control import send_command
from flexcem.model import (
    CommandKind,
    DeviceFunction,
    DeviceKind,
    HeatPumpStatus,
    HotWaterRequest,
    SettingResult,
    SimpleCommand,
)

__all__ = ["BatteryAssist", "HotWaterSupport"]


@dataclass(frozen=True)
class BatteryAssist:
    """One command the CEM gave a battery because of the heat pump's ad-hoc run, and the battery's answer."""

    at: datetime
    battery_id: str
    command: CommandKind
    power_w: float | None
    success: bool
    reason: str | None


class HotWaterSupport:
    """The CEM's side of extra hot water: asking for it, and covering an ad-hoc run with the battery."""

    def __init__(
        self,
        endpoint: Endpoint,
        registry: DeviceRegistry,
        emergency_active: Callable[[], bool],
        note: Callable[[str], None] = lambda text: None,
    ) -> None:
        self._endpoint = endpoint
        self._registry = registry
        self._emergency_active = emergency_active
        self._note = note
        self._assisting: set[str] = set()
        self.assists: list[BatteryAssist] = []

    async def request_extra_hot_water(self, device_id: str, until: datetime | None = None) -> SettingResult:
        """JWG1121: the user asks for extra hot water now (until ``until``, or until the tank is full).

        Raises :class:`PermissionError` while an emergency is active (the request would overrule the grid's
        emergency state), :class:`KeyError` for an unknown device and :class:`ValueError` naming ``device_id``
        for a device that is not a heat pump or water heater.
        """
        record = self._registry.get(device_id)
        if record is None:
            raise KeyError(device_id)
        if record.capabilities.kind not in (DeviceKind.HEAT_PUMP, DeviceKind.WATER_HEATER):
            raise ValueError(f"device_id {device_id!r} is a {record.capabilities.kind.value}, not a water heater")
        if self._emergency_active():
            self._note(f"extra hot water from {device_id} refused: an emergency is active")
            raise PermissionError("an emergency is active: extra hot water must wait until it ends")
        try:
            result = await self._endpoint.deliver(
                record.address, HotWaterRequest(device_id=device_id, until=until), expect=SettingResult
            )
        except MessageRefused as refusal:
            result = SettingResult(device_id=device_id, ref="HotWaterRequest", success=False, reason=str(refusal))
        except (DeliveryTimeout, PeerUnsupported, LinkClosed, UnexpectedReply) as error:
            result = SettingResult(
                device_id=device_id, ref="HotWaterRequest", success=False, reason=f"no answer: {error}"
            )
        verdict = "heats now" if result.success else f"did not take it ({result.reason})"
        self._note(f"extra hot water asked of {device_id}: {verdict}")
        return result

    async def on_heat_pump_status(self, status: HeatPumpStatus) -> None:
        """JWG1122: a pump that heats extra hot water gets the batteries' help; when it stops, they stand by."""
        ad_hoc = status.extra_hot_water and status.running and not self._emergency_active()
        if ad_hoc and status.device_id not in self._assisting:
            self._assisting.add(status.device_id)
            self._note(f"{status.device_id} heats extra hot water ({status.power_w:.0f} W): batteries discharge")
            await self._tell_batteries(CommandKind.DISCHARGE, status.power_w or None, status.at)
        elif not ad_hoc and status.device_id in self._assisting:
            self._assisting.discard(status.device_id)
            self._note(f"{status.device_id} is back to normal: batteries stand by")
            await self._tell_batteries(CommandKind.STANDBY, None, status.at)

    async def _tell_batteries(self, command: CommandKind, power_w: float | None, at: datetime) -> None:
        for record in self._registry.records():
            capabilities = record.capabilities
            if capabilities.kind is not DeviceKind.BATTERY or command not in capabilities.commands:
                continue
            if not capabilities.supports(DeviceFunction.SIMPLE_COMMANDS):
                continue
            watts = None if power_w is None else min(power_w, capabilities.max_power_w)
            success, reason = await send_command(
                self._endpoint,
                record.address,
                SimpleCommand(
                    device_id=capabilities.device_id,
                    command=command,
                    power_w=watts,
                    reason="the heat pump heats extra hot water" if command is CommandKind.DISCHARGE else None,
                ),
            )
            self.assists.append(BatteryAssist(at, capabilities.device_id, command, watts, success, reason))
            if not success:
                self._note(f"{capabilities.device_id} did not {command.value}: {reason}")
