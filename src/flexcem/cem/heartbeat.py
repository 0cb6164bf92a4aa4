"""Heartbeat with the home's devices and the CEM's alive status (story JWG11; TR Table 1 "alive", JWG2042).

"CEM and devices exchange regular status messages. If one is missed, the CEM sends a status request. No reply
or an abnormal status → warning to an advanced display, and optionally to a third party (service provider)."

* Every message a registered device sends the CEM (or an answer to it) counts as its heartbeat
  (:attr:`~flexcem.cem.registry.DeviceRecord.last_seen`). A device heard of for longer than
  ``settings.grid.heartbeat_interval`` + ``heartbeat_grace`` has **missed** its heartbeat: the CEM asks it for
  its status. An answer (even "unsupported": the device is there) settles it, unless the status is abnormal
  (a failed job); no answer or an abnormal status is **warned** about — on the user's display and, with
  ``warnings_upstream``, to ``report_to`` as an :class:`~flexcem.model.AliveStatus` with the devices online.
  One warning per silence; a device that speaks again is back online (journalled).
* A device silent for longer than its declared ``failsafe_after`` has gone to its **fail-safe** behaviour
  (it runs on its own): the CEM journals it and holds it out of its plans (they count on nothing from it,
  its confirmed schedules included: :attr:`~flexcem.cem.home_dispatch.HomeDispatcher.suspended`) until it
  speaks again, then re-plans. The confirmed schedules stay confirmed: the device set them aside and takes
  them up again when it hears from the CEM, so the re-plan sends only what changed.
* An :class:`~flexcem.model.AliveRequest` from a grid actor (a tariff source, a ``report_to`` actor or the
  meter) is answered with :class:`~flexcem.model.AliveStatus`: devices online of devices registered.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from flexcem.bus import Endpoint, MessageRefused
from flexcem.cem.alerts import Alerts
from flexcem.cem.status_service import StatusService
from flexcem.model import AliveRequest, AliveStatus, DeviceState, DeviceStatus, Envelope, parse_address

if TYPE_CHECKING:
    from flexcem.cem.manager import CustomerEnergyManager

__all__ = ["CHECK_EVERY", "Heartbeat"]

CHECK_EVERY = timedelta(minutes=1)
"""The shortest pause between two looks for missed heartbeats; while a device is missing, the CEM looks this
often for it to come back. Otherwise it sleeps until the next device could miss its heartbeat."""

_PAST = timedelta(seconds=1)
"""Looks fall this long after a deadline, so that the device is past it (``silent > due_after``)."""


class Heartbeat:
    """Missed heartbeats, warnings, fail-safe devices and the alive status."""

    def __init__(self, cem: CustomerEnergyManager, endpoint: Endpoint, alerts: Alerts, status: StatusService) -> None:
        self._cem = cem
        self._endpoint = endpoint
        self._alerts = alerts
        self._status = status
        self.up_since = cem.clock.now()
        self.missed: set[str] = set()
        """Devices whose heartbeat was missed and that did not answer the status request since."""
        self.failsafe: set[str] = set()
        """Devices taken to be in their fail-safe state."""
        self.requests: list[tuple[datetime, str, bool]] = []
        """(when, device, answered normally) of every heartbeat status request."""
        endpoint.on(AliveRequest, self._on_alive_request)

    @property
    def devices_online(self) -> int:
        """Registered devices that did not miss their heartbeat."""
        return sum(1 for record in self._cem.registry.records() if record.device_id not in self.missed)

    def alive_status(self, request_id: str | None = None) -> AliveStatus:
        """The CEM's alive status now."""
        now = self._cem.clock.now()
        return AliveStatus(
            cem_id=parse_address(self._endpoint.address).name,
            at=now,
            up_since=min(self.up_since, now),
            devices_online=self.devices_online,
            devices_total=len(self._cem.registry),
            request_id=request_id,
        )

    async def _on_alive_request(self, request: AliveRequest, envelope: Envelope) -> AliveStatus:
        grid = self._cem.settings
        allowed = {*grid.tariff_sources, *grid.grid.report_to, *([grid.grid.meter] if grid.grid.meter else [])}
        if envelope.sender not in allowed:
            raise MessageRefused(f"{envelope.sender} may not ask this CEM for its alive status", "from")
        return self.alive_status(request.request_id)

    async def run(self) -> None:
        """Check the devices when the next of them could have missed its heartbeat (see :meth:`next_check`)."""
        while True:
            await self._cem.clock.sleep(self.next_check().total_seconds())
            await self.check()

    def next_check(self) -> timedelta:
        """How long until the next look [s as a timedelta]: until the earliest instant a device heard of could miss
        its heartbeat or pass its fail-safe time, at least :data:`CHECK_EVERY`; exactly :data:`CHECK_EVERY` while a
        device is missing or in fail-safe (to notice it coming back). A device that registers meanwhile cannot
        be due before ``heartbeat_interval + heartbeat_grace``, the longest pause."""
        cem, now = self._cem, self._cem.clock.now()
        settings = cem.settings.grid
        due_after = settings.heartbeat_interval + settings.heartbeat_grace
        if self.missed or self.failsafe:
            return CHECK_EVERY
        wait = due_after
        for record in cem.registry.records():
            last = record.last_seen or record.registered_at
            wait = min(wait, last + due_after + _PAST - now)
            failsafe_after = record.capabilities.failsafe_after
            if failsafe_after is not None:
                wait = min(wait, last + failsafe_after + _PAST - now)
        return max(wait, CHECK_EVERY)

    async def check(self) -> None:
        """One round: back online, missed heartbeats (status request, warning) and fail-safe devices."""
        cem, now = self._cem, self._cem.clock.now()
        settings = cem.settings.grid
        due_after = settings.heartbeat_interval + settings.heartbeat_grace
        for record in cem.registry.records():
            device_id = record.device_id
            last = record.last_seen or record.registered_at
            silent = now - last
            if silent <= due_after:
                if device_id in self.missed or device_id in self.failsafe:
                    self._back(device_id)
                continue
            failsafe_after = record.capabilities.failsafe_after
            if failsafe_after is not None and silent > failsafe_after and device_id not in self.failsafe:
                self._to_failsafe(device_id, last, failsafe_after)
            if device_id in self.missed:
                continue
            answer = await self._status.poll(device_id)
            answered = answer is not None or (record.last_seen is not None and record.last_seen > last)
            abnormal = isinstance(answer, DeviceStatus) and answer.state is DeviceState.FAILED
            self.requests.append((cem.clock.now(), device_id, answered and not abnormal))
            if answered and not abnormal:
                cem.note(f"{device_id} missed its heartbeat and answered the status request")
                continue
            self.missed.add(device_id)
            why = "reports a failure" if abnormal else f"does not answer (silent since {self._time(last)})"
            await self._alerts.alert(
                "heartbeat",
                device_id,
                f"{device_id} missed its heartbeat and {why}",
                self.alive_status(),
                upstream=settings.warnings_upstream,
            )

    def _to_failsafe(self, device_id: str, last: datetime, after: timedelta) -> None:
        cem = self._cem
        self.failsafe.add(device_id)
        cem.home.dispatcher.held_until[device_id] = last.replace(year=last.year + 100)
        cem.home.dispatcher.suspended.add(device_id)
        cem.note(
            f"{device_id} silent since {self._time(last)}, past its fail-safe time of {after}: taken to run on its "
            "own fail-safe behaviour; left out of the plans"
        )
        cem.request_replan(f"{device_id} in fail-safe")

    def _back(self, device_id: str) -> None:
        cem = self._cem
        self.missed.discard(device_id)
        cem.note(f"{device_id} is back online")
        if device_id in self.failsafe:
            self.failsafe.discard(device_id)
            cem.home.dispatcher.suspended.discard(device_id)
            if device_id not in cem.emergency.standby:
                cem.home.dispatcher.held_until.pop(device_id, None)
            cem.request_replan(f"{device_id} back from fail-safe")

    def _time(self, instant: datetime) -> str:
        return self._cem.settings.clock_time(instant, True)
