"""Metering at the CEM: the smart meter's readings and overload warnings against the contracted power (JWG2113).

* **Readings** (:class:`~flexcem.model.MeterReading`) are taken only from the site's meter
  (``settings.grid.meter``; anyone else is refused naming ``from``) and kept as the consumption history; a
  register that goes back is refused naming it, and nothing kept is lost. A reading older than the last one is
  ignored (a late copy).
* **Contracted power** [W]: ``settings.site_import_limit_w``, else the one the meter reports.
* **Overload warnings**, shown to the user (:class:`~flexcem.cem.alerts.Alerts`) and, with
  ``settings.grid.warnings_upstream``, sent to ``report_to``:
  - the meter's own (JWG3102 SmartInfo), recorded as they come;
  - device-generated (2113.1): a device's :class:`~flexcem.model.OverloadWarning` for its next operation, or a
    device status whose power is above the maximum the device declared;
  - CEM-generated (2113.2): a reading whose power is above the contracted power, or a plan that expects the
    site to draw more than it. The CEM also tells its devices (2113.2 step 2: "CEM→SDs warning").
  Each is raised once per episode: again only after the power has been back under the limit.
"""

from __future__ import annotations

import asyncio
from collections import deque
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from flexcem.bus import Endpoint, LinkClosed, MessageRefused
from flexcem.cem.alerts import Alerts
from flexcem.cem.registry import DeviceRecord
from flexcem.model import (
    DeviceStatus,
    Envelope,
    MeterReading,
    OverloadWarning,
    WarningSource,
    new_id,
    parse_address,
)
from flexcem.planner import Plan

if TYPE_CHECKING:
    from flexcem.cem.manager import CustomerEnergyManager

__all__ = ["READINGS_KEPT", "Metering", "check_meter"]

READINGS_KEPT = 96 * 62
"""Readings kept in memory: two months of quarter hours (longer history comes from the meter, JWG10)."""

_NOISE_W = 1.0
"""Power differences below this [W] are rounding, not an overload."""


def check_meter(cem: CustomerEnergyManager, envelope: Envelope) -> str:
    """The meter's address; :class:`MessageRefused` naming ``from`` unless ``envelope`` came from it."""
    meter = cem.settings.grid.meter
    if meter is None or envelope.sender != meter:
        raise MessageRefused(f"{envelope.sender} is not this site's meter ({meter or 'none configured'})", "from")
    return meter


class Metering:
    """The meter's readings and every overload warning of the site."""

    def __init__(self, cem: CustomerEnergyManager, endpoint: Endpoint, alerts: Alerts) -> None:
        self._cem = cem
        self._endpoint = endpoint
        self._alerts = alerts
        self.readings: deque[MeterReading] = deque(maxlen=READINGS_KEPT)
        self.warnings: list[OverloadWarning] = []
        """Every overload warning received or raised, oldest first."""
        self._site_over = False
        self._plan_over = False
        self._devices_over: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        endpoint.on(MeterReading, self._on_reading)
        endpoint.on(OverloadWarning, self._on_warning)

    # ------------------------------------------------------------------------------------------ readings

    @property
    def contracted_power_w(self) -> float | None:
        """The contracted power [W]: the settings', else the meter's latest."""
        configured = self._cem.settings.site_import_limit_w
        if configured is not None:
            return configured
        return next((r.contracted_power_w for r in reversed(self.readings) if r.contracted_power_w), None)

    @property
    def latest(self) -> MeterReading | None:
        """The latest reading."""
        return self.readings[-1] if self.readings else None

    def consumption_wh(self, start: datetime, end: datetime) -> float | None:
        """Energy imported in ``[start, end)`` [Wh] from the import register (interpolated between readings);
        ``None`` when the readings do not cover the period."""
        at_start, at_end = self.register_at(start), self.register_at(end)
        return None if at_start is None or at_end is None else at_end - at_start

    def register_at(self, instant: datetime) -> float | None:
        """The import register at ``instant`` [Wh], interpolated; ``None`` outside the readings."""
        previous: MeterReading | None = None
        for reading in self.readings:
            if reading.at == instant:
                return reading.import_energy_wh
            if reading.at > instant:
                if previous is None:
                    return None
                share = (instant - previous.at) / (reading.at - previous.at)
                return previous.import_energy_wh + share * (reading.import_energy_wh - previous.import_energy_wh)
            previous = reading
        return None

    async def _on_reading(self, reading: MeterReading, envelope: Envelope) -> None:
        check_meter(self._cem, envelope)
        last = self.latest
        if last is not None:
            if reading.at <= last.at:
                return
            for name in ("import_energy_wh", "export_energy_wh"):
                if getattr(reading, name) < getattr(last, name) - 1e-6:
                    raise MessageRefused(
                        f"{name} {getattr(reading, name)} is below the last reading's {getattr(last, name)}; "
                        "registers never decrease",
                        name,
                    )
        self.readings.append(reading)
        limit = self.contracted_power_w
        if limit is None or reading.power_w <= limit + _NOISE_W:
            self._site_over = False
            return
        if self._site_over:
            return
        self._site_over = True
        warning = self._warning(WarningSource.CEM, self._cem_id, reading.power_w, limit, since=reading.at)
        await self._raise(warning, f"the site draws {reading.power_w:.0f} W, above the contracted {limit:.0f} W")
        await self._tell_devices(warning)

    # ------------------------------------------------------------------------------------------ warnings

    async def _on_warning(self, warning: OverloadWarning, envelope: Envelope) -> None:
        cem = self._cem
        if envelope.sender == cem.settings.grid.meter:
            self.warnings.append(warning)
            await self._alerts.alert(
                "overload",
                warning.origin_id,
                f"meter {warning.origin_id}: {warning.power_w:.0f} W, above the contracted {warning.limit_w:.0f} W",
                warning,
                upstream=cem.settings.grid.warnings_upstream,
            )
            return
        record = cem.registry.get(parse_address(envelope.sender).name)
        if record is None or record.address != envelope.sender or warning.origin_id != record.device_id:
            raise MessageRefused(f"{envelope.sender} is neither the meter nor a device warning for itself", "from")
        if warning.source is not WarningSource.DEVICE:
            raise MessageRefused(f"a device's warning has source 'device', not {warning.source.value!r}", "source")
        await self._raise(
            warning,
            f"{record.device_id}: its next operation needs {warning.power_w:.0f} W, more than the "
            f"{warning.limit_w:.0f} W available",
        )
        await self._tell_devices(warning, but=record.device_id)

    def check_device(self, record: DeviceRecord, status: DeviceStatus) -> None:
        """2113.1: a device drawing more than it declared gets a device-generated warning (once per episode)."""
        limit = record.capabilities.max_power_w
        if status.power_w <= limit + _NOISE_W:
            self._devices_over.discard(record.device_id)
            return
        if record.device_id in self._devices_over:
            return
        self._devices_over.add(record.device_id)
        warning = self._warning(WarningSource.DEVICE, record.device_id, status.power_w, limit, since=status.at)
        self._spawn(
            self._raise(warning, f"{record.device_id} draws {status.power_w:.0f} W, above its declared {limit:.0f} W")
        )

    def check_plan(self, plan: Plan) -> None:
        """2113.2 ahead of time: a plan that expects the site above the contracted power is warned about."""
        limit = self.contracted_power_w
        over = (
            [(at, w) for at, w in zip(plan.slot_starts, plan.site_power_w, strict=True) if w > limit + _NOISE_W]
            if limit is not None
            else []
        )
        if not over:
            self._plan_over = False
            return
        if self._plan_over:
            return
        self._plan_over = True
        assert limit is not None
        first, peak = over[0][0], max(w for _, w in over)
        warning = self._warning(WarningSource.CEM, self._cem_id, peak, limit)
        self._spawn(
            self._raise(
                warning,
                f"the plan expects up to {peak:.0f} W from {self._cem.settings.clock_time(first, True)}, above the "
                f"contracted {limit:.0f} W ({len(over)} slot(s))",
            )
        )

    # ------------------------------------------------------------------------------------------- helpers

    @property
    def _cem_id(self) -> str:
        return parse_address(self._endpoint.address).name

    def _warning(
        self, source: WarningSource, origin: str, power_w: float, limit_w: float, since: datetime | None = None
    ) -> OverloadWarning:
        now = self._cem.clock.now()
        return OverloadWarning(
            warning_id=f"ow-{new_id()[:12]}",
            source=source,
            origin_id=origin,
            at=now,
            since=None if since is None else min(since, now),
            power_w=power_w,
            limit_w=limit_w,
        )

    async def _raise(self, warning: OverloadWarning, text: str) -> None:
        self.warnings.append(warning)
        await self._alerts.alert(
            "overload", warning.origin_id, text, warning, upstream=self._cem.settings.grid.warnings_upstream
        )

    async def _tell_devices(self, warning: OverloadWarning, but: str | None = None) -> None:
        for record in self._cem.registry.records():
            if record.device_id == but:
                continue
            try:
                await self._endpoint.send(record.address, warning, expires_in=timedelta(minutes=15))
            except (LinkClosed, ValueError):
                continue

    def _spawn(self, coroutine: object) -> None:
        task = asyncio.ensure_future(coroutine)  # type: ignore[call-overload]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
