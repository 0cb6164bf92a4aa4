"""The CEM's grid-facing services, built together: alerts, metering, time sync, status and logs, heartbeat.

Kept apart from :mod:`flexcem.cem.manager` so the manager stays about planning; the manager builds one
:class:`GridFacing` and starts its background tasks.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from flexcem.bus import Endpoint
from flexcem.cem.alerts import Alerts
from flexcem.cem.heartbeat import Heartbeat
from flexcem.cem.metering import Metering
from flexcem.cem.status_service import StatusService
from flexcem.cem.time_sync import TimeSync

if TYPE_CHECKING:
    from flexcem.cem.manager import CustomerEnergyManager

__all__ = ["GridFacing"]


class GridFacing:
    """Alerts (2113, 2142, JWG11), metering (2113), time sync (2141–2143), status (2114) and heartbeat (JWG11)."""

    def __init__(self, cem: CustomerEnergyManager, endpoint: Endpoint) -> None:
        self.alerts = Alerts(cem, endpoint)
        self.metering = Metering(cem, endpoint, self.alerts)
        self.time_sync = TimeSync(cem, endpoint, self.alerts)
        self.status = StatusService(cem, endpoint)
        self.heartbeat = Heartbeat(cem, endpoint, self.alerts, self.status)

    def start(self) -> list[asyncio.Task[None]]:
        """Start the time synchronisation and the heartbeat checks."""
        return [
            asyncio.create_task(self.time_sync.run(), name="time sync"),
            asyncio.create_task(self.heartbeat.run(), name="heartbeat"),
        ]
