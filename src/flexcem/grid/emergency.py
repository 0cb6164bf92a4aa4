"""The grid's emergency program (JWG2122, stories JWG8, JWG20, JWG21): emergency load control and its end.

:meth:`EmergencyProgram.declare` sends an :class:`~flexcem.model.EmergencySignal` (level normal or severe,
optional duration, optional scheduled blackout window) to an endpoint, group, area or everyone;
:meth:`announce_blackout` announces a power cut in advance (JWG20); :meth:`end` sends the
:class:`~flexcem.model.EmergencyEnd`. When confirmation is asked for, the
:class:`~flexcem.model.EmergencyConfirmation` answers of each phase (``confirmation-start``,
``confirmation-end``) are recorded and who had not confirmed by ``confirm_within`` is in ``missing``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flexcem.bus import Endpoint
from flexcem.grid.program import GridProgram
from flexcem.grid.records import SignalRecord, SignalStore
from flexcem.grid.registry import GridRegistry
from flexcem.model import (
    AlertLevel,
    EmergencyConfirmation,
    EmergencyEnd,
    EmergencySignal,
    FlexModel,
    TimeWindow,
    new_id,
)

__all__ = ["CONFIRM_END", "CONFIRM_START", "EmergencyProgram"]

CONFIRM_START = "confirmation-start"
CONFIRM_END = "confirmation-end"


class EmergencyProgram(GridProgram):
    """Declares and ends emergencies and records the confirmations."""

    name = "emergency"
    response_types = (EmergencyConfirmation,)

    def __init__(
        self,
        endpoint: Endpoint,
        registry: GridRegistry,
        store: SignalStore | None = None,
        *,
        confirm_within: timedelta = timedelta(minutes=1),
    ) -> None:
        super().__init__(endpoint, registry, store)
        self.confirm_within = confirm_within
        self.ended: dict[str, datetime] = {}

    def kind_of(self, body: FlexModel) -> str:
        """Confirmations count per phase."""
        if isinstance(body, EmergencyConfirmation):
            return f"confirmation-{body.phase.value}"
        return super().kind_of(body)

    async def declare(
        self,
        target: str,
        *,
        level: AlertLevel = AlertLevel.NORMAL,
        start: datetime | None = None,
        duration: timedelta | None = None,
        blackout: TimeWindow | None = None,
        confirm: bool = True,
        reason: str | None = None,
        emergency_id: str | None = None,
    ) -> SignalRecord:
        """Emergency load control for ``target`` from ``start`` (now), for ``duration`` or until :meth:`end`."""
        resolved = self.registry.resolve(target)
        body = EmergencySignal(
            emergency_id=emergency_id or f"em-{new_id()[:12]}",
            level=level,
            start=start or self.clock.now(),
            duration=duration,
            blackout=blackout,
            confirmation_requested=confirm,
            reason=reason,
        )
        deadlines = {CONFIRM_START: self.clock.now() + self.confirm_within} if confirm else {}
        return await self.issue(resolved, body.emergency_id, body, deadlines=deadlines)

    async def announce_blackout(
        self,
        target: str,
        start: datetime,
        end: datetime,
        *,
        level: AlertLevel = AlertLevel.NORMAL,
        confirm: bool = True,
        reason: str | None = None,
    ) -> SignalRecord:
        """Announce a scheduled power cut ``[start, end)``: standby applies from its start for its length."""
        window = TimeWindow(start=start, end=end)
        if window.end <= self.clock.now():
            raise ValueError(f"the blackout ends at {end.isoformat()}, which is not in the future")
        return await self.declare(
            target, level=level, start=start, duration=window.duration, blackout=window, confirm=confirm, reason=reason
        )

    async def end(self, emergency_id: str, *, at: datetime | None = None, confirm: bool = True) -> SignalRecord:
        """End the emergency at ``at`` (now) and, with ``confirm``, collect the end confirmations."""
        record = self.record(emergency_id)
        if emergency_id in self.ended:
            raise ValueError(f"emergency {emergency_id!r} has already ended")
        instant = at or self.clock.now()
        self.ended[emergency_id] = instant
        if confirm:
            self.set_deadline(record, CONFIRM_END, self.clock.now() + self.confirm_within)
        await self.notify(record, EmergencyEnd(emergency_id=emergency_id, at=instant, confirmation_requested=confirm))
        return record

    def active(self, at: datetime | None = None) -> list[EmergencySignal]:
        """Emergencies in force at ``at`` (now): started, not lapsed and not ended."""
        instant = at or self.clock.now()
        signals = [r.body for r in self.records() if isinstance(r.body, EmergencySignal)]
        return [
            s
            for s in signals
            if s.active_at(instant) and not (s.emergency_id in self.ended and self.ended[s.emergency_id] <= instant)
        ]
