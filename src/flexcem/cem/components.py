"""The CEM's grid-facing services, built together: alerts, metering, time sync, status and logs, heartbeat.

Kept apart from :mod:`flexcem.cem.manager` so the manager stays about planning; the manager builds one
:class:`GridFacing` and starts its background tasks.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from flexcem.bus import Endpoint
from flexcem.cem.alerts import Alerts
from flexcem.cem.consumption_info import ConsumptionInfo
from flexcem.cem.direct_controls import DirectControls
from flexcem.cem.heartbeat import Heartbeat
from flexcem.cem.metering import Metering
from flexcem.cem.power_loss import PowerLossAnalysis
from flexcem.cem.status_service import StatusService
from flexcem.cem.time_sync import TimeSync

if TYPE_CHECKING:
    from flexcem.cem.manager import CustomerEnergyManager

__all__ = ["GridFacing"]


class GridFacing:
    """Alerts (2113, 2142, JWG11), metering (2113), time sync (2141–2143), status (2114), heartbeat (JWG11),
    power-loss analysis (JWG3102), consumption information (JWG10, JWG12) and direct device controls (TR
    Table 1)."""

    def __init__(self, cem: CustomerEnergyManager, endpoint: Endpoint) -> None:
        self.alerts = Alerts(cem, endpoint)
        self.metering = Metering(cem, endpoint, self.alerts)
        self.time_sync = TimeSync(cem, endpoint, self.alerts)
        self.status = StatusService(cem, endpoint)
        self.heartbeat = Heartbeat(cem, endpoint, self.alerts, self.status)
        self.power_loss = PowerLossAnalysis(cem, endpoint, self.alerts, self.metering)  # JWG3102
        self.consumption = ConsumptionInfo(cem, endpoint, self.metering)  # JWG10, JWG12
        self.status.listeners.append(self.consumption.take_status)
        self.direct_controls = DirectControls(cem, endpoint)  # TR Table 1 direct device controls (WGSP2121)

    def start(self) -> list[asyncio.Task[None]]:
        """Start the time synchronisation and the heartbeat checks."""
        return [
            asyncio.create_task(self.time_sync.run(), name="time sync"),
            asyncio.create_task(self.heartbeat.run(), name="heartbeat"),
            asyncio.create_task(self.power_loss.run(), name="power-loss record"),
        ]

    def stopped(self) -> None:
        """The CEM is being stopped on purpose (its alive record is marked clean)."""
        self.power_loss.stopped()
