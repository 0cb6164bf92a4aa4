"""The grid operator's traffic light (TR §3.4.5.1, WGSP2112): the state of each grid area, green/yellow/red.

:meth:`TrafficLightProgram.set_state` publishes a :class:`~flexcem.model.TrafficLight` for an area to the
area's group (or to a given endpoint, group or everyone), **retained**, so that a CEM that connects later
learns the state in force. The program keeps the current signal of every area; an unknown area or group is
refused with :class:`~flexcem.grid.registry.UnknownTarget`.
"""

from __future__ import annotations

from datetime import datetime

from flexcem.bus import Endpoint
from flexcem.grid.program import GridProgram
from flexcem.grid.records import SignalRecord, SignalStore
from flexcem.grid.registry import GridRegistry
from flexcem.model import GridState, TrafficLight, new_id

__all__ = ["TrafficLightProgram"]


class TrafficLightProgram(GridProgram):
    """Publishes the traffic-light state of grid areas."""

    name = "traffic-light"

    def __init__(self, endpoint: Endpoint, registry: GridRegistry, store: SignalStore | None = None) -> None:
        super().__init__(endpoint, registry, store)
        self.current: dict[str, TrafficLight] = {}

    async def set_state(
        self,
        area: str,
        state: GridState,
        *,
        to: str | None = None,
        valid_from: datetime | None = None,
        valid_until: datetime | None = None,
        reason: str | None = None,
    ) -> SignalRecord:
        """Publish ``state`` for ``area`` to the area's group (or ``to``); returns the signal's record."""
        target = self.registry.resolve(to if to is not None else area)
        signal = TrafficLight(
            signal_id=f"tl-{new_id()[:12]}",
            area=area,
            state=state,
            valid_from=valid_from or self.clock.now(),
            valid_until=valid_until,
            reason=reason,
        )
        record = await self.issue(target, signal.signal_id, signal, retain=True)
        self.current[area] = signal
        return record

    def state_of(self, area: str, at: datetime | None = None) -> GridState:
        """The state of ``area`` at ``at`` (now): green unless a signal in force says otherwise."""
        signal = self.current.get(area)
        instant = at or self.clock.now()
        return signal.state if signal is not None and signal.holds_at(instant) else GridState.GREEN
