"""The metering head-end (Actor B: DSO or metering operator; WGSP2111, WGSP2142, JWG3102, JWG2042).

It receives what meters and CEMs send up the metering channel and keeps it, by sender, with its arrival
time: meter readings, overload warnings, time-difference alarms and CEM alive statuses. It reads load
curves from a meter (or a CEM) with :meth:`MeteringHeadEnd.read_load_curve` and asks a CEM whether it is
alive with :meth:`ask_alive`. The record is in memory (``received``); persistence is issue 6.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from flexcem.bus import Endpoint
from flexcem.model import (
    AliveRequest,
    AliveStatus,
    Envelope,
    FlexModel,
    LoadCurve,
    LoadCurveRequest,
    MeterReading,
    OverloadWarning,
    TimeDifferenceAlarm,
    new_id,
)

__all__ = ["MeteringHeadEnd", "Received"]

M = TypeVar("M", bound=FlexModel)


@dataclass(frozen=True)
class Received:
    """One message that came up: from whom, when (head-end time), what."""

    sender: str
    at: datetime
    body: FlexModel


class MeteringHeadEnd:
    """Collects metering data, warnings, alarms and alive statuses; reads load curves on demand."""

    collected = (MeterReading, OverloadWarning, TimeDifferenceAlarm, AliveStatus, LoadCurve)

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self.clock = endpoint.clock
        self.received: list[Received] = []
        for message_type in self.collected:
            endpoint.on(message_type, self._collect)

    async def start(self) -> None:
        """Start receiving."""
        await self.endpoint.start()

    async def stop(self) -> None:
        """Leave the bus."""
        await self.endpoint.close()

    def of_type(self, message_type: type[M], sender: str | None = None) -> list[M]:
        """Bodies of ``message_type`` received (from ``sender``), in arrival order."""
        return [
            r.body for r in self.received if isinstance(r.body, message_type) and (sender is None or r.sender == sender)
        ]

    def last_seen(self, sender: str) -> datetime | None:
        """When anything last came from ``sender``."""
        return max((r.at for r in self.received if r.sender == sender), default=None)

    async def read_load_curve(
        self, source: str, start: datetime, end: datetime, resolution: timedelta = timedelta(minutes=15)
    ) -> LoadCurve:
        """The load curve of ``[start, end)`` from meter (or CEM) ``source``; refusals raise ``MessageRefused``."""
        request = LoadCurveRequest(request_id=f"lc-{new_id()[:12]}", start=start, end=end, resolution=resolution)
        curve = await self.endpoint.deliver(source, request, expect=LoadCurve)
        self.received.append(Received(source, self.clock.now(), curve))
        return curve

    async def ask_alive(self, cem: str) -> AliveStatus:
        """Ask ``cem`` for its alive status (raises ``DeliveryTimeout`` when it is silent)."""
        status = await self.endpoint.deliver(cem, AliveRequest(request_id=f"alive-{new_id()[:12]}"), expect=AliveStatus)
        self.received.append(Received(cem, self.clock.now(), status))
        return status

    async def _collect(self, body: FlexModel, envelope: Envelope) -> None:
        self.received.append(Received(envelope.sender, self.clock.now(), body))
