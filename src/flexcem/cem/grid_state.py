"""The CEM's policy per traffic-light state (TR §3.4.5, Figure 23; WGSP2112, JWG211x).

A :class:`~flexcem.model.TrafficLight` is taken from a sender with the role (else refused naming ``from``),
for the CEM's own grid area (``settings.grid.area``; another area is refused naming ``area``) and while it
holds (one whose ``valid_until`` has passed is refused naming it). Then:

* **green** — the market is free: the CEM plans for the user's objective; a load-management request is taken
  only as market flexibility, that is when it carries an economic value or an incentive tariff;
* **yellow** — a grid problem may arise: load/generation management requests are honoured within the
  contract (the devices and ranges the user allows, :mod:`flexcem.cem.load_management`);
* **red** — the grid is endangered: every non-exempt device to standby (:mod:`flexcem.cem.emergency`) until
  the light leaves red or its validity ends; load-management requests are declined.

Without any traffic light (a grid without the concept) requests are honoured as in yellow.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from flexcem.bus import Endpoint, MessageRefused
from flexcem.cem.emergency import EmergencyControl
from flexcem.cem.grid_signals import Refused, check_source, multicast
from flexcem.model import Envelope, GridState, LoadManagementRequest, TrafficLight

if TYPE_CHECKING:
    from flexcem.cem.manager import CustomerEnergyManager

__all__ = ["GridStatePolicy"]


class GridStatePolicy:
    """The traffic-light state of the CEM's area and what it means for the CEM."""

    def __init__(self, cem: CustomerEnergyManager, endpoint: Endpoint, emergency: EmergencyControl) -> None:
        self._cem = cem
        self._emergency = emergency
        self.signal: TrafficLight | None = None
        self._expiry: asyncio.Task[None] | None = None
        endpoint.on(TrafficLight, self._on_light)

    def state(self) -> GridState | None:
        """The state in force now; ``None`` when no signal holds."""
        signal = self.signal
        return signal.state if signal is not None and signal.holds_at(self._cem.clock.now()) else None

    def declines(self, request: LoadManagementRequest) -> str | None:
        """Why the policy declines a load-management request now, or ``None``."""
        state = self.state()
        if state is GridState.RED:
            return "the grid is red: the emergency standby is in force"
        if state is GridState.GREEN and request.value_per_kwh is None and request.incentive_tariff is None:
            return "the grid is green: without an economic value the CEM plans for its user's objective"
        return None

    async def _on_light(self, light: TrafficLight, envelope: Envelope) -> None:
        cem = self._cem
        try:
            check_source(cem, envelope, "traffic lights")
            if light.area != cem.settings.grid.area:
                raise Refused(f"unknown area {light.area!r}: this site is in {cem.settings.grid.area!r}", "area")
            if light.valid_until is not None and light.valid_until <= cem.clock.now():
                raise Refused(f"the signal ended at {light.valid_until.isoformat()}", "valid_until")
        except Refused as refusal:
            cem.note(f"refused {envelope.type} from {envelope.sender}: {refusal.reason}")
            if multicast(envelope):
                return
            raise MessageRefused(refusal.reason, refusal.field) from None
        if self.signal is not None and self.signal.signal_id == light.signal_id:
            return
        self.signal = light
        cem.note(f"traffic light {light.state.value} for area {light.area} from {envelope.sender}")
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None
        key = "traffic light red"
        if light.state is GridState.RED:
            if light.valid_from > cem.clock.now():
                await cem.clock.sleep_until(light.valid_from)
            await self._emergency.enter(key)
            if light.valid_until is not None:
                self._expiry = asyncio.create_task(self._leave_at(key, light))
        else:
            await self._emergency.leave(key)
            cem.request_replan(f"traffic light {light.state.value}")

    async def _leave_at(self, key: str, light: TrafficLight) -> None:
        assert light.valid_until is not None
        await self._cem.clock.sleep_until(light.valid_until)
        await self._emergency.leave(key)
