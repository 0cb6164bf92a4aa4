"""The devices the CEM knows, from their registrations (JWG9: type and functionality).

A device registers from its own endpoint; its ``device_id`` must be that endpoint's id, so that no device
can register — or later offer, report or answer — in another's name. The CEM uses only declared functions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from flexcem.bus import MessageRefused
from flexcem.model import DeviceCapabilities, DeviceFunction, DeviceStatus, parse_address

__all__ = ["DeviceRecord", "DeviceRegistry"]


@dataclass
class DeviceRecord:
    """A registered device: its capabilities, its address and its last status."""

    capabilities: DeviceCapabilities
    address: str
    registered_at: datetime
    status: DeviceStatus | None = None
    last_seen: datetime | None = None
    """When the device last sent the CEM anything (or answered it): the heartbeat (JWG11)."""

    @property
    def device_id(self) -> str:
        """The device's id."""
        return self.capabilities.device_id


class DeviceRegistry:
    """Registered devices by id."""

    def __init__(self, now: Callable[[], datetime] | None = None) -> None:
        self._devices: dict[str, DeviceRecord] = {}
        self._now = now

    def __contains__(self, device_id: object) -> bool:
        return device_id in self._devices

    def __len__(self) -> int:
        return len(self._devices)

    def register(self, capabilities: DeviceCapabilities, sender: str, at: datetime) -> DeviceRecord:
        """Register (or re-register) the device that sent ``capabilities`` from ``sender``."""
        self.check_identity(capabilities.device_id, sender)
        record = DeviceRecord(capabilities=capabilities, address=sender, registered_at=at, last_seen=at)
        previous = self._devices.get(capabilities.device_id)
        if previous is not None:
            record.status = previous.status
        self._devices[capabilities.device_id] = record
        return record

    @staticmethod
    def check_identity(device_id: str, sender: str) -> None:
        """Refuse a message about ``device_id`` that comes from another endpoint."""
        if parse_address(sender).name != device_id:
            raise MessageRefused(f"{sender} cannot speak for device {device_id}", "device_id")

    def require(self, device_id: str, sender: str, function: DeviceFunction | None = None) -> DeviceRecord:
        """The registered record of ``device_id`` sent from ``sender``, which must declare ``function``."""
        self.check_identity(device_id, sender)
        record = self._devices.get(device_id)
        if record is None:
            raise MessageRefused(f"device {device_id} is not registered", "device_id")
        if function is not None and not record.capabilities.supports(function):
            raise MessageRefused(f"device {device_id} did not declare {function.value}", "device_id")
        if self._now is not None:
            record.last_seen = self._now()
        return record

    def get(self, device_id: str) -> DeviceRecord | None:
        """The record of ``device_id``, if registered."""
        return self._devices.get(device_id)

    def records(self) -> list[DeviceRecord]:
        """All records, by device id."""
        return [self._devices[key] for key in sorted(self._devices)]
