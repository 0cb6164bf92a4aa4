"""The smart meter on the metering channel (Actor B's end; WGSP2111, JWG2121 steps 19–21, WGSP2140, JWG3102).

One meter per site, on the bus as its own endpoint, whose clock is the reference (its time is correct,
SMCG INCO.02). It

* sends a :class:`~flexcem.model.MeterReading` every ``interval`` to the CEM (and the head-end, if given):
  registers [Wh] integrated from the site's load and the present power [W];
* answers a :class:`~flexcem.model.LoadCurveRequest` with the :class:`~flexcem.model.LoadCurve` of the
  period (average power per interval) — refused, naming the field, for a period in the future or outside
  its data;
* answers a :class:`~flexcem.model.TimeRequest` with :class:`~flexcem.model.TimeSyncParameters` (2141
  scenario 1) and, when a message from the CEM is stamped more than ``sync_tolerance`` off its own time,
  pushes them unasked with ``forced`` (scenario 2);
* sends an :class:`~flexcem.model.ActiveTariffNotification` when its tariff register switches (2143) and an
  :class:`~flexcem.model.OverloadWarning` when the power passes the contracted power (JWG3102).

The load is real: by default the CityLearn building's metered non-shiftable load.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from flexcem.bus import Endpoint, MessageRefused
from flexcem.data import CityLearnData
from flexcem.model import (
    ActiveTariffNotification,
    Envelope,
    FlexModel,
    LoadCurve,
    LoadCurveRequest,
    MeterReading,
    OverloadWarning,
    PowerSeries,
    PowerSlot,
    SyncMode,
    TimeRequest,
    TimeSyncParameters,
    new_id,
)

__all__ = ["LoadSource", "PowerRuns", "SmartMeter", "TariffSchedule", "average_curve", "slot_pieces"]

log = logging.getLogger("flexcem.grid.meter")

LoadSource = Callable[[datetime, datetime], PowerSeries]
"""The site's power [W] (+ import, − export) on slots covering ``[start, end)``."""

PowerRuns = Callable[[datetime, datetime], tuple[list[tuple[float, float]], float]]
"""The site's power over ``[start, end)`` as the meter integrates it, without slot objects: ``(pieces, power_w)``.

``pieces`` are ``(seconds, power_w)`` [s, W] in time order, one per slot the site's :data:`LoadSource` gives for
``[start, end + 1 µs)``, clipped to ``[start, end)`` (pieces of no length left out); ``power_w`` [W] is the power
of its slot at ``end``. The same numbers the meter takes from the load source's slots, so the same registers."""

_INSTANT = timedelta(microseconds=1)
"""The shortest period asked of the load source, to learn the power at an instant."""

TariffSchedule = Callable[[datetime], str]
"""The meter's active tariff id at an instant."""


def average_curve(load: PowerSeries, start: datetime, end: datetime, resolution: timedelta) -> PowerSeries:
    """Average power [W] of ``load`` over each interval of ``resolution`` in ``[start, end)`` (last clipped)."""
    slots, cursor = [], start
    while cursor < end:
        stop = min(cursor + resolution, end)
        energy_ws = sum(
            slot.power_w * (min(slot.end, stop) - max(slot.start, cursor)).total_seconds()
            for slot in load.slots
            if slot.start < stop and cursor < slot.end
        )
        slots.append(
            PowerSlot(start=cursor, duration=stop - cursor, power_w=energy_ws / (stop - cursor).total_seconds())
        )
        cursor = stop
    return PowerSeries(slots=tuple(slots))


def slot_pieces(load: PowerSeries, since: datetime, now: datetime) -> tuple[list[tuple[float, float]], float]:
    """The pieces of ``load`` inside ``[since, now)`` as (seconds, power [W]) and its power at ``now`` [W] (0 when no
    slot holds it): what the meter integrates from a :data:`LoadSource`."""
    pieces = []
    for slot in load.slots:
        seconds = (min(slot.end, now) - max(slot.start, since)).total_seconds()
        if seconds > 0:
            pieces.append((seconds, slot.power_w))
    slot_now = load.slot_at(now)
    return pieces, 0.0 if slot_now is None else slot_now.power_w


class SmartMeter:
    """A site's smart meter: readings, load curves, time synchronisation, tariff switches, overload warnings."""

    def __init__(
        self,
        endpoint: Endpoint,
        cem: str,
        *,
        meter_id: str | None = None,
        load: LoadSource | None = None,
        runs: PowerRuns | None = None,
        contracted_power_w: float | None = None,
        tariffs: TariffSchedule | None = None,
        interval: timedelta = timedelta(minutes=15),
        head_end: str | None = None,
        sync_tolerance: timedelta = timedelta(seconds=5),
        sync_mode: SyncMode = SyncMode.ABSOLUTE,
    ) -> None:
        self.endpoint = endpoint
        self.clock = endpoint.clock
        self.cem = cem
        self.meter_id = meter_id or endpoint.address.rsplit("/", 1)[-1]
        self._load = load or CityLearnData.embedded().base_load
        self._runs = runs
        """The same load as :attr:`_load` as :data:`PowerRuns`, for the readings, when the source offers it."""
        self.contracted_power_w = contracted_power_w
        self._tariffs = tariffs
        self.interval = interval
        self.head_end = head_end
        self.sync_tolerance = sync_tolerance
        self.sync_mode = sync_mode
        self.import_energy_wh = 0.0
        self.export_energy_wh = 0.0
        self._registers_at: datetime | None = None
        self._tariff: str | None = None
        self._tariff_since: datetime | None = None
        self._overloaded_since: datetime | None = None
        self._task: asyncio.Task[None] | None = None
        endpoint.on(TimeRequest, self._on_time_request)
        endpoint.on(LoadCurveRequest, self._on_load_curve_request)

    async def start(self) -> None:
        """Start metering now and serving requests."""
        await self.endpoint.start()
        self._registers_at = self.clock.now()
        if self._tariffs is not None:
            self._tariff, self._tariff_since = self._tariffs(self._registers_at), self._registers_at
        self._task = asyncio.create_task(self._run(), name=f"meter {self.meter_id}")

    async def stop(self) -> None:
        """Stop and leave the bus."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.endpoint.close()

    def power_at(self, instant: datetime) -> float:
        """The site's power [W] at ``instant``."""
        slot = self._load(instant, instant + _INSTANT).slot_at(instant)
        return 0.0 if slot is None else slot.power_w

    def load_curve(self, start: datetime, end: datetime, resolution: timedelta) -> PowerSeries:
        """The metered average power per interval over ``[start, end)``."""
        return average_curve(self._load(start, end), start, end, resolution)

    async def _run(self) -> None:
        while True:
            now = self.clock.now()
            following = now + self.interval - timedelta(seconds=(now.timestamp() % self.interval.total_seconds()))
            await self.clock.sleep_until(following)
            # Let what wakes at this same instant go first (a device stepping on the quarter hour sets its new
            # power now): the reading's present power then does not depend on how the event loop happened to
            # order timers due at one instant.
            await asyncio.sleep(0)
            await self.tick()

    async def tick(self) -> None:
        """Advance the registers to now; send the reading, a tariff switch and an overload warning when due."""
        now = self.clock.now()
        since = self._registers_at
        assert since is not None, "start the meter first"
        # one look at the load: the energy since the last tick (clipped to it) and the power now
        pieces, power = self._pieces(since, now) if self._runs is None else self._runs(since, now)
        for seconds, power_w in pieces:
            energy = power_w * seconds / 3600.0
            if energy >= 0:
                self.import_energy_wh += energy
            else:
                self.export_energy_wh -= energy
        self._registers_at = now
        if self._tariffs is not None and (tariff := self._tariffs(now)) != self._tariff:
            self._tariff, self._tariff_since = tariff, now
            await self._send(ActiveTariffNotification(meter_id=self.meter_id, tariff_id=tariff, active_since=now))
        reading = MeterReading(
            meter_id=self.meter_id,
            at=now,
            power_w=power,
            import_energy_wh=self.import_energy_wh,
            export_energy_wh=self.export_energy_wh,
            contracted_power_w=self.contracted_power_w,
            tariff_id=self._tariff,
        )
        await self._send(reading, upstream=True)
        await self._check_overload(now, power)

    def _pieces(self, since: datetime, now: datetime) -> tuple[list[tuple[float, float]], float]:
        """:data:`PowerRuns` from the load source's slots: what runs in ``[since, now)`` and the power at ``now``."""
        return slot_pieces(self._load(since, now + _INSTANT), since, now)

    async def _check_overload(self, now: datetime, power: float) -> None:
        if self.contracted_power_w is None or power <= self.contracted_power_w:
            self._overloaded_since = None
            return
        if self._overloaded_since is None:
            self._overloaded_since = now
            warning = OverloadWarning(
                warning_id=f"ow-{new_id()[:12]}",
                origin_id=self.meter_id,
                at=now,
                since=now,
                power_w=power,
                limit_w=self.contracted_power_w,
            )
            await self._send(warning, upstream=True)

    async def _send(self, body: FlexModel, *, upstream: bool = False) -> None:
        await self.endpoint.send(self.cem, body)
        if upstream and self.head_end is not None:
            await self.endpoint.send(self.head_end, body)

    def _sync_parameters(self, request: TimeRequest | None, offset: timedelta | None) -> TimeSyncParameters:
        now = self.clock.now()
        relative = self.sync_mode is SyncMode.TARIFF_RELATIVE and self._tariff_since is not None
        return TimeSyncParameters(
            request_id=request.request_id if request else None,
            meter_id=self.meter_id,
            mode=SyncMode.TARIFF_RELATIVE if relative else SyncMode.ABSOLUTE,
            meter_time=now,
            request_sent_at=request.sent_at if request else None,
            tariff_id=self._tariff,
            since_tariff_switch=now - self._tariff_since if self._tariff_since is not None else None,
            forced=request is None,
            observed_offset=offset,
        )

    async def _on_time_request(self, request: TimeRequest, envelope: Envelope) -> TimeSyncParameters:
        return self._sync_parameters(request, request.sent_at - self.clock.now())

    async def _on_load_curve_request(self, request: LoadCurveRequest, envelope: Envelope) -> LoadCurve:
        await self._check_sync(envelope)
        if request.meter_id is not None and request.meter_id != self.meter_id:
            raise MessageRefused(f"this is meter {self.meter_id!r}, not {request.meter_id!r}", "meter_id")
        if request.end > self.clock.now():
            raise MessageRefused(f"end {request.end.isoformat()} is in the future; nothing is metered yet", "end")
        try:
            curve = self.load_curve(request.start, request.end, request.resolution)
        except ValueError as error:
            raise MessageRefused(str(error), "start") from None
        return LoadCurve(meter_id=self.meter_id, request_id=request.request_id, curve=curve)

    async def _check_sync(self, envelope: Envelope) -> None:
        """Scenario 2 of 2141: the sender's timestamp shows it is out of sync; push the parameters."""
        offset = envelope.created - self.clock.now()
        if abs(offset) > self.sync_tolerance:
            log.info("%s: %s is %s off; pushing synchronisation", self.meter_id, envelope.sender, offset)
            await self.endpoint.send(envelope.sender, self._sync_parameters(None, offset))
