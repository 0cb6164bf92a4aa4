"""The CEM's consumption information for its user (JWG10, JWG12): history, forecast and yearly cost per device.

Fed by what the CEM already receives: every device status it keeps (``DeviceStatus``, the home devices'
statuses) and the site meter's readings. The user interface (the household HTTP API) calls
:meth:`ConsumptionInfo.history`, :meth:`~ConsumptionInfo.forecast` and :meth:`~ConsumptionInfo.yearly_cost`;
history the CEM lacks for the site can be asked from the smart meter with
:meth:`~ConsumptionInfo.fetch_missing` (JWG10: "missing history may be requested from the smart meter").

The site's history per bucket is, best first: the meter's readings (register differences spread evenly
between readings), the meter's load curve fetched earlier, the sum of the devices' histories.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from flexcem.bus import DeliveryTimeout, Endpoint, LinkClosed, MessageRefused, PeerUnsupported, UnexpectedReply
from flexcem.cem.consumption_history import (
    Bucket,
    ConsumptionHistory,
    ConsumptionRecord,
    aggregate,
    floor_to,
    same_hour_forecast,
)
from flexcem.cem.metering import Metering
from flexcem.model import FlexModel, LoadCurve, LoadCurveRequest, PowerSeries, PowerSlot, new_id

if TYPE_CHECKING:
    from flexcem.cem.manager import CustomerEnergyManager

__all__ = ["ConsumptionInfo", "power_of"]

HOUR = timedelta(hours=1)


def power_of(status: FlexModel) -> float | None:
    """A status's power at the site [W, consumption positive]: ``power_w``, else ``-generated_power_w``."""
    power = getattr(status, "power_w", None)
    if isinstance(power, int | float):
        return float(power)
    generated = getattr(status, "generated_power_w", None)
    return -float(generated) if isinstance(generated, int | float) else None


class ConsumptionInfo:
    """History, forecast and yearly cost of the site and each device (see the module)."""

    def __init__(self, cem: CustomerEnergyManager, endpoint: Endpoint, metering: Metering) -> None:
        self._cem = cem
        self._endpoint = endpoint
        self._metering = metering
        self.devices = ConsumptionHistory(self._price_at)
        self._meter_curve: dict[datetime, Bucket] = {}

    @property
    def currency(self) -> str | None:
        """The currency of the costs (the tariff's)."""
        return self._cem.prices.currency

    def _price_at(self, instant: datetime) -> float | None:
        slot = self._cem.prices.price_at(instant)
        return None if slot is None else slot.price_per_kwh

    def take_status(self, status: FlexModel) -> None:
        """Keep a device's reported power (called for every status the CEM keeps)."""
        power, device_id, at = power_of(status), getattr(status, "device_id", None), getattr(status, "at", None)
        if power is not None and isinstance(device_id, str) and isinstance(at, datetime):
            self.devices.take(device_id, at, power)

    # ------------------------------------------------------------------------------------------ queries

    def history(
        self, device_id: str | None, start: datetime, end: datetime, resolution: timedelta = HOUR
    ) -> list[ConsumptionRecord]:
        """Energy per ``resolution`` over ``[start, end)`` of ``device_id``, or the site for ``None``.

        Each record gives energy [Wh] (consumption positive), the time covered and, for a device, its cost at
        the tariff of the time [currency]. Periods with no history are left out. :class:`KeyError` for a device
        with no history; :class:`ValueError` naming ``end`` or ``resolution`` for an empty window or step.
        """
        now = self._cem.clock.now()
        if device_id is not None:
            return self.devices.device_history(device_id, start, end, resolution, now)
        return aggregate(None, self._site_buckets(start, end, now), start, end, resolution)

    def forecast(self, hours: int) -> PowerSeries:
        """Site power [W, + import] for the next ``hours`` hours, hourly, from the current hour.

        Where the CEM's current plan covers an hour, the plan's expected site power (the devices' expected
        consumption and generation) is used; elsewhere the same-hour profile of the last 7 days of site history,
        exponentially weighted (yesterday most). :class:`LookupError` without any history or plan.
        """
        now = self._cem.clock.now()
        start = floor_to(now, HOUR)
        past = self.history(None, start - timedelta(days=7), now, HOUR)
        planned = self._planned_hours(start, hours)
        if not past:
            if len(planned) < hours:
                raise LookupError("no consumption history or plan to forecast from")
            profile = None
        else:
            profile = same_hour_forecast(past, start, hours)
        slots = []
        for k in range(hours):
            at = start + k * HOUR
            if at in planned:
                power = planned[at]
            else:
                assert profile is not None
                power = profile.slots[k].power_w
            slots.append(PowerSlot(start=at, duration=HOUR, power_w=power))
        return PowerSeries(slots=tuple(slots))

    def yearly_cost(self) -> dict[str, float]:
        """Each device's expected cost per year [currency/year, see :attr:`currency`]: its consumption priced at
        the tariff of its time, over the time its history is priced, scaled to 365 days (JWG12)."""
        return self.devices.yearly_cost(self._cem.clock.now())

    async def fetch_missing(self, start: datetime, end: datetime, resolution: timedelta = HOUR) -> int:
        """Ask the site's meter for its load curve of ``[start, end)`` and keep it as site history (JWG10).

        Returns the number of intervals received; 0 when there is no meter or it does not answer (the reason is
        journalled). The window is checked as the request is built (:class:`ValueError` naming the field).
        """
        meter = self._cem.settings.grid.meter
        ask = LoadCurveRequest(request_id=f"history-{new_id()[:12]}", start=start, end=end, resolution=resolution)
        if meter is None:
            return 0
        try:
            answer = await self._endpoint.deliver(meter, ask, expect=LoadCurve)
        except (DeliveryTimeout, MessageRefused, PeerUnsupported, LinkClosed, UnexpectedReply) as error:
            self._cem.note(f"no load curve from the meter for the history: {error}")
            return 0
        fetched: dict[datetime, Bucket] = {}
        for slot in answer.curve.slots:
            for at, piece in _spread(slot.start, slot.end, slot.energy_wh, self.devices.resolution):
                fetched.setdefault(at, Bucket()).add(piece)
        self._meter_curve.update(fetched)
        self._cem.note(
            f"history {start.isoformat()}–{end.isoformat()} from the meter: {len(answer.curve.slots)} value(s)"
        )
        return len(answer.curve.slots)

    # ------------------------------------------------------------------------------------------ helpers

    def _site_buckets(self, start: datetime, end: datetime, now: datetime) -> dict[datetime, Bucket]:
        resolution = self.devices.resolution
        chosen: dict[datetime, Bucket] = {}
        for device_id in self.devices.devices:
            for at, bucket in self.devices.buckets(device_id, now).items():
                if start <= at < end:
                    chosen.setdefault(at, Bucket()).add(Bucket(bucket.energy_wh, bucket.covered_s))
        for source in (self._meter_curve, self._reading_buckets(start, end, resolution)):
            for at, bucket in source.items():
                if start <= at < end:
                    chosen[at] = bucket
        return chosen

    def _reading_buckets(self, start: datetime, end: datetime, resolution: timedelta) -> dict[datetime, Bucket]:
        buckets: dict[datetime, Bucket] = {}
        for before, after in itertools.pairwise(self._metering.readings):
            if after.at <= start - resolution or before.at >= end:
                continue
            net = (after.import_energy_wh - before.import_energy_wh) - (
                after.export_energy_wh - before.export_energy_wh
            )
            for at, piece in _spread(before.at, after.at, net, resolution):
                buckets.setdefault(at, Bucket()).add(piece)
        return buckets

    def _planned_hours(self, start: datetime, hours: int) -> dict[datetime, float]:
        plan = self._cem.plan
        if plan is None:
            return {}
        step = plan.slot_duration
        per_hour: dict[datetime, list[float]] = {}
        for at, power in zip(plan.slot_starts, plan.site_power_w, strict=True):
            if start <= at < start + hours * HOUR:
                per_hour.setdefault(floor_to(at, HOUR), []).append(power)
        full = round(HOUR / step)
        return {at: sum(values) / len(values) for at, values in per_hour.items() if len(values) == full}


def _spread(start: datetime, end: datetime, energy_wh: float, resolution: timedelta) -> list[tuple[datetime, Bucket]]:
    """``energy_wh`` spread evenly over ``[start, end)``, cut at bucket edges."""
    total = (end - start).total_seconds()
    pieces, cursor = [], start
    while cursor < end and total > 0:
        bucket = floor_to(cursor, resolution)
        stop = min(end, bucket + resolution)
        seconds = (stop - cursor).total_seconds()
        pieces.append((bucket, Bucket(energy_wh * seconds / total, seconds)))
        cursor = stop
    return pieces
