"""Device status and logs for the grid side (JWG2114, JWG113x) and the CEM's memory of its devices' reports.

* **Memory**: every status a device reports — the flexible-start :class:`~flexcem.model.DeviceStatus` and each
  kind's own (battery, heat pump, fuel cell, PV, water heater, air conditioner; uc-home §8) — is kept, the
  latest per device, from the registered device only.
* **Requests**: a :class:`~flexcem.model.StatusRequest` or :class:`~flexcem.model.LogRequest` sent to the CEM
  for a device is answered only to a grid actor the user authorised for that device
  (``settings.grid.status_readers``); anyone else is refused naming ``from``, an unknown device naming
  ``device_id``. A status is answered from memory when it is younger than ``status_max_age``, else by polling
  the device; a log always by polling (the device keeps its history). A device that does not answer gets the
  requester an error answer (a refusal naming ``device_id`` that says it is unreachable), never silence.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from flexcem.bus import DeliveryTimeout, Endpoint, LinkClosed, MessageRefused, PeerUnsupported, UnexpectedReply
from flexcem.cem.registry import DeviceRecord
from flexcem.model import (
    AirConditionerStatus,
    BatteryStatus,
    DeviceStatus,
    Envelope,
    FlexModel,
    FuelCellStatus,
    LogRequest,
    PvStatus,
    StatusLog,
    StatusRequest,
    WaterHeaterStatus,
)

if TYPE_CHECKING:
    from flexcem.cem.manager import CustomerEnergyManager

__all__ = ["KIND_STATUSES", "POLL_RETRIES", "POLL_TIMEOUT_S", "StatusService"]

KIND_STATUSES: tuple[type[FlexModel], ...] = (
    BatteryStatus,
    FuelCellStatus,
    PvStatus,
    WaterHeaterStatus,
    AirConditionerStatus,
)
"""The kinds' statuses the service takes itself (the heat pump's goes through the manager's hot-water help)."""

POLL_TIMEOUT_S = 2.0
"""How long one poll of a device waits [s] (short, so the requester hears the error before its own timeout)."""

POLL_RETRIES = 1
"""Repetitions of a poll."""


class StatusService:
    """The latest status of each device, and the grid side's status and log requests."""

    def __init__(self, cem: CustomerEnergyManager, endpoint: Endpoint) -> None:
        self._cem = cem
        self._endpoint = endpoint
        self.latest: dict[str, FlexModel] = {}
        """The latest status each device reported or answered (a ``DeviceStatus`` or its kind's)."""
        self.answered: list[tuple[datetime, str, str, str]] = []
        """(when, requester, device, how: "memory", "polled", "log", "unreachable") of every answer."""
        self.listeners: list[Callable[[FlexModel], None]] = []
        """Called with every status kept (the consumption history, JWG10)."""
        for status_type in KIND_STATUSES:
            endpoint.on(status_type, self._on_kind_status)
        endpoint.on(StatusRequest, self._on_status_request)
        endpoint.on(LogRequest, self._on_log_request)

    def remember(self, status: FlexModel) -> None:
        """Keep ``status`` (it has ``device_id`` and ``at``) unless a newer one is known."""
        device_id: str = _field(status, "device_id")
        known = self.latest.get(device_id)
        if known is None or _field(known, "at") <= _field(status, "at"):
            self.latest[device_id] = status
            for listener in self.listeners:
                listener(status)

    async def _on_kind_status(self, status: Any, envelope: Envelope) -> None:
        self._cem.registry.require(status.device_id, envelope.sender)
        self.remember(status)

    async def poll(self, device_id: str) -> FlexModel | None:
        """Ask ``device_id`` for its status now; ``None`` when it does not answer."""
        address = self._cem.address_of(device_id)
        if address is None:
            return None
        try:
            status = await self._endpoint.deliver(
                address,
                StatusRequest(device_id=device_id),
                expect=FlexModel,
                timeout_s=POLL_TIMEOUT_S,
                retries=POLL_RETRIES,
            )
        except (MessageRefused, PeerUnsupported, UnexpectedReply):
            self._heard(device_id)  # an answer all the same: the device is there
            return None
        except (DeliveryTimeout, LinkClosed):
            return None
        if getattr(status, "device_id", None) != device_id or not hasattr(status, "at"):
            return None
        self.remember(status)
        record = self._heard(device_id)
        if record is not None and isinstance(status, DeviceStatus):
            record.status = status
        return status

    def _heard(self, device_id: str) -> DeviceRecord | None:
        record = self._cem.registry.get(device_id)
        if record is not None:
            record.last_seen = self._cem.clock.now()
        return record

    def _check(self, device_id: str, envelope: Envelope, what: str) -> None:
        cem = self._cem
        if not cem.settings.grid.may_read(envelope.sender, device_id):
            cem.note(f"refused a {what} request for {device_id} from {envelope.sender}: not authorised")
            raise MessageRefused(f"{envelope.sender} may not read the {what} of {device_id}", "from")
        if cem.registry.get(device_id) is None:
            raise MessageRefused(f"device {device_id} is not registered", "device_id")

    def _unreachable(self, requester: str, device_id: str, what: str) -> MessageRefused:
        self.answered.append((self._cem.clock.now(), requester, device_id, "unreachable"))
        self._cem.note(f"{what} of {device_id} for {requester}: the device does not answer")
        return MessageRefused(f"device {device_id} is unreachable: no answer to the CEM's {what} request", "device_id")

    async def _on_status_request(self, request: StatusRequest, envelope: Envelope) -> FlexModel:
        cem, device_id = self._cem, request.device_id
        self._check(device_id, envelope, "status")
        now = cem.clock.now()
        known = self.latest.get(device_id)
        if known is not None and now - _field(known, "at") <= cem.settings.grid.status_max_age:
            self.answered.append((now, envelope.sender, device_id, "memory"))
            return known
        status = await self.poll(device_id)
        if status is None:
            raise self._unreachable(envelope.sender, device_id, "status")
        self.answered.append((cem.clock.now(), envelope.sender, device_id, "polled"))
        return status

    async def _on_log_request(self, request: LogRequest, envelope: Envelope) -> StatusLog[Any]:
        cem, device_id = self._cem, request.device_id
        self._check(device_id, envelope, "log")
        address = cem.address_of(device_id)
        assert address is not None
        try:
            log = await self._endpoint.deliver(
                address, request, expect=StatusLog, timeout_s=POLL_TIMEOUT_S, retries=POLL_RETRIES
            )
        except PeerUnsupported:
            raise MessageRefused(f"device {device_id} keeps no log", "device_id") from None
        except (DeliveryTimeout, MessageRefused, LinkClosed, UnexpectedReply):
            raise self._unreachable(envelope.sender, device_id, "log") from None
        self.answered.append((cem.clock.now(), envelope.sender, device_id, "log"))
        return log


def _field(status: FlexModel, name: str) -> Any:
    """A status's field every status kind has (``device_id``, ``at``)."""
    return getattr(status, name)
