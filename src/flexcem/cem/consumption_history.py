"""Consumption history, a short-term forecast and the expected yearly cost of each device (JWG10, JWG12).

Pure computation, fed by the CEM (:mod:`flexcem.cem.consumption_info` wires it):

* **Device history** — each report of a device's power (its status: ``power_w``, or ``-generated_power_w`` for
  a generator) holds until the next report, for at most ``max_hold`` (a silent device is not guessed at). The
  held power is integrated into buckets of ``resolution`` [Wh, consumption positive, generation negative] with
  the time it covers. Each piece is also priced at the tariff in force then (JWG12: "historic time-of-use
  buckets with tariffs in a currency"), because the tariff book forgets old prices: cost [currency] =
  consumed kWh × price per kWh; generation costs nothing.
* **Site history** — the meter's own load curve or register readings where there are any, else the sum of
  the devices (see :class:`~flexcem.cem.consumption_info.ConsumptionInfo`).
* **Forecast** (:func:`same_hour_forecast`) — for each coming hour, the same hour of the last ``days`` days,
  weighted ``decay`` ** (days back − 1): yesterday counts most (an exponentially weighted same-hour profile).
  An hour never seen falls back to the average of the last 24 h of history.
* **Yearly cost** (:meth:`ConsumptionHistory.yearly_cost`) — a device's cost over the time its history is
  priced, scaled to 365 days (JWG12: Σ buckets kWh × tariff, scaled to a year).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flexcem.model import PowerSeries, PowerSlot

__all__ = [
    "HOURS_PER_YEAR",
    "Bucket",
    "ConsumptionHistory",
    "ConsumptionRecord",
    "aggregate",
    "floor_to",
    "same_hour_forecast",
]

HOURS_PER_YEAR = 365.0 * 24.0
RESOLUTION = timedelta(minutes=15)
"""Length of a history bucket by default."""
MAX_HOLD = timedelta(hours=1)
"""A reported power is taken to hold at most this long without a new report, by default."""
KEEP = timedelta(days=400)
"""How much history is kept by default (a year and then some, for the yearly cost)."""
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def floor_to(instant: datetime, step: timedelta) -> datetime:
    """The start of the ``step``-long bucket (aligned on 2000-01-01 UTC) that holds ``instant``."""
    return _EPOCH + ((instant - _EPOCH) // step) * step


@dataclass
class Bucket:
    """What one device drew in one bucket."""

    energy_wh: float = 0.0
    """Energy [Wh]: consumption positive, generation negative."""
    covered_s: float = 0.0
    """Seconds of the bucket the history covers."""
    cost: float = 0.0
    """Consumption priced at the tariff of its time [currency]."""
    priced_s: float = 0.0
    """Seconds of the bucket whose price was known."""

    def add(self, other: Bucket) -> None:
        """Add ``other``'s energy, coverage and cost to this one."""
        self.energy_wh += other.energy_wh
        self.covered_s += other.covered_s
        self.cost += other.cost
        self.priced_s += other.priced_s


@dataclass(frozen=True)
class ConsumptionRecord:
    """History of one device (or the site, ``device_id`` ``None``) over ``[start, start + duration)``."""

    device_id: str | None
    start: datetime
    duration: timedelta
    energy_wh: float
    """Energy [Wh]; consumption positive, generation negative."""
    covered: timedelta
    """How much of the period the history covers."""
    cost: float | None
    """Consumption priced at its tariff [currency]; ``None`` for the site or when no price was known."""

    @property
    def end(self) -> datetime:
        """End of the period (exclusive)."""
        return self.start + self.duration

    @property
    def average_power_w(self) -> float:
        """Average power over the covered time [W]."""
        hours = self.covered.total_seconds() / 3600.0
        return self.energy_wh / hours if hours > 0 else 0.0


def aggregate(
    device_id: str | None,
    buckets: dict[datetime, Bucket],
    start: datetime,
    end: datetime,
    resolution: timedelta,
) -> list[ConsumptionRecord]:
    """``buckets`` summed into ``resolution``-long records over ``[start, end)`` (those with no coverage left out)."""
    if end <= start:
        raise ValueError(f"end {end.isoformat()} is not after start {start.isoformat()}")
    if resolution <= timedelta(0):
        raise ValueError(f"resolution {resolution} is not positive")
    sums: dict[datetime, Bucket] = {}
    for at, bucket in buckets.items():
        if start <= at < end:
            sums.setdefault(floor_to(at, resolution), Bucket()).add(bucket)
    return [
        ConsumptionRecord(
            device_id=device_id,
            start=at,
            duration=resolution,
            energy_wh=total.energy_wh,
            covered=timedelta(seconds=total.covered_s),
            cost=total.cost if total.priced_s > 0 and device_id is not None else None,
        )
        for at, total in sorted(sums.items())
        if total.covered_s > 0
    ]


class ConsumptionHistory:
    """Per-device power reports integrated into priced buckets (see the module)."""

    def __init__(
        self,
        price_at: Callable[[datetime], float | None],
        *,
        resolution: timedelta = RESOLUTION,
        max_hold: timedelta = MAX_HOLD,
        keep: timedelta = KEEP,
    ) -> None:
        """``price_at(instant)`` is the consumption price then [currency/kWh], ``None`` when unknown."""
        self._price_at = price_at
        self.resolution = resolution
        self.max_hold = max_hold
        self.keep = keep
        self._buckets: dict[str, dict[datetime, Bucket]] = {}
        self._last: dict[str, tuple[datetime, float]] = {}

    @property
    def devices(self) -> list[str]:
        """The devices with a history, sorted."""
        return sorted(self._buckets.keys() | self._last.keys())

    def take(self, device_id: str, at: datetime, power_w: float) -> None:
        """Device ``device_id`` reports ``power_w`` [W, consumption positive] at ``at``.

        The previous report's power is integrated up to ``at`` (at most ``max_hold``); a report older than the
        last one is ignored (a late copy).
        """
        last = self._last.get(device_id)
        if last is not None:
            if at <= last[0]:
                return
            self._integrate(device_id, last[0], min(at, last[0] + self.max_hold), last[1])
        self._last[device_id] = (at, power_w)
        self._forget_before(device_id, at - self.keep)

    def buckets(self, device_id: str, now: datetime | None = None) -> dict[datetime, Bucket]:
        """``device_id``'s buckets; with ``now``, the last report held up to ``now`` too (not stored)."""
        stored = self._buckets.get(device_id, {})
        last = self._last.get(device_id)
        if now is None or last is None or now <= last[0]:
            return dict(stored)
        tail: dict[datetime, Bucket] = {}
        for at, bucket in self._pieces(last[0], min(now, last[0] + self.max_hold), last[1]):
            tail.setdefault(at, Bucket()).add(bucket)
        merged = {at: Bucket(b.energy_wh, b.covered_s, b.cost, b.priced_s) for at, b in stored.items()}
        for at, bucket in tail.items():
            merged.setdefault(at, Bucket()).add(bucket)
        return merged

    def device_history(
        self, device_id: str, start: datetime, end: datetime, resolution: timedelta, now: datetime | None = None
    ) -> list[ConsumptionRecord]:
        """``device_id``'s records over ``[start, end)``; :class:`KeyError` for a device with no history."""
        if device_id not in self._last:
            raise KeyError(device_id)
        return aggregate(device_id, self.buckets(device_id, now), start, end, resolution)

    def yearly_cost(self, now: datetime | None = None) -> dict[str, float]:
        """Each device's expected cost per year [currency/year]: its priced cost scaled from the priced time to
        365 days. Devices whose history has no known price yet are left out."""
        costs: dict[str, float] = {}
        for device_id in self.devices:
            buckets = self.buckets(device_id, now).values()
            priced_h = sum(b.priced_s for b in buckets) / 3600.0
            if priced_h > 0:
                costs[device_id] = sum(b.cost for b in buckets) * HOURS_PER_YEAR / priced_h
        return costs

    def _integrate(self, device_id: str, start: datetime, end: datetime, power_w: float) -> None:
        store = self._buckets.setdefault(device_id, {})
        for at, piece in self._pieces(start, end, power_w):
            store.setdefault(at, Bucket()).add(piece)

    def _pieces(self, start: datetime, end: datetime, power_w: float) -> Iterable[tuple[datetime, Bucket]]:
        cursor = start
        while cursor < end:
            bucket_start = floor_to(cursor, self.resolution)
            stop = min(end, bucket_start + self.resolution)
            seconds = (stop - cursor).total_seconds()
            energy = power_w * seconds / 3600.0
            price = self._price_at(cursor)
            priced = price is not None
            cost = max(energy, 0.0) / 1000.0 * price if price is not None else 0.0
            yield bucket_start, Bucket(energy, seconds, cost, seconds if priced else 0.0)
            cursor = stop

    def _forget_before(self, device_id: str, instant: datetime) -> None:
        store = self._buckets.get(device_id)
        # the oldest bucket is the first in the store: buckets are only added by _integrate, from the last report
        # on, so never before one already there (a look at one key, not a scan of a year's buckets per report)
        if store and next(iter(store)) < instant:
            for at in [at for at in store if at < instant]:
                del store[at]


def same_hour_forecast(
    history: list[ConsumptionRecord], start: datetime, hours: int, *, days: int = 7, decay: float = 0.5
) -> PowerSeries:
    """Hourly site power [W] for ``hours`` hours from ``start`` (an hour boundary) from hourly ``history``.

    Each hour is the weighted mean of the average power of the same hour 1…``days`` days earlier, weight
    ``decay`` ** (days back − 1) (yesterday 1, the day before ``decay``…); an hour with no such history takes
    the average power of the last 24 h of history before ``start``. :class:`LookupError` when there is no
    history at all; :class:`ValueError` for ``hours`` < 1 or ``decay`` outside (0, 1].
    """
    if hours < 1:
        raise ValueError(f"hours {hours} must be at least 1")
    if not 0.0 < decay <= 1.0:
        raise ValueError(f"decay {decay} must be in (0, 1]")
    by_start = {record.start: record for record in history if record.covered > timedelta(0)}
    if not by_start:
        raise LookupError("no consumption history to forecast from")
    recent = [r for r in by_start.values() if start - timedelta(hours=24) <= r.start < start]
    fallback_pool = recent or list(by_start.values())
    fallback = sum(r.energy_wh for r in fallback_pool) / (
        sum(r.covered.total_seconds() for r in fallback_pool) / 3600.0
    )
    slots = []
    for k in range(hours):
        at = start + timedelta(hours=k)
        weighted = weights = 0.0
        for back in range(1, days + 1):
            record = by_start.get(at - timedelta(days=back))
            if record is not None:
                weight = decay ** (back - 1)
                weighted += weight * record.average_power_w
                weights += weight
        power = weighted / weights if weights > 0 else fallback
        slots.append(PowerSlot(start=at, duration=timedelta(hours=1), power_w=power))
    return PowerSeries(slots=tuple(slots))
