"""Time and tariff synchronisation with the site's smart meter (WGSP2141, 2142, 2143).

* **2141 scenario 1**: the CEM sends the meter a :class:`~flexcem.model.TimeRequest` at start-up (so after a
  power outage too) and every ``settings.grid.time_sync_interval``. From the request's send time ``t0``, the
  meter's time ``tm`` and the answer's arrival ``t1`` (CEM clock) the offset is ``(t0 + t1) / 2 − tm``
  (CEM minus meter; the meter is right). The CEM then reads time through :meth:`TimeSync.meter_time`.
* **2141 scenario 2**: the meter pushes :class:`~flexcem.model.TimeSyncParameters` with ``forced``; the CEM
  takes the offset the meter observed (else the one the parameters imply) — only from its meter, else
  refused naming ``from``.
* **2142**: an offset beyond ``settings.grid.time_alarm_threshold`` sends a
  :class:`~flexcem.model.TimeDifferenceAlarm` upstream (``report_to``) and shows it to the user; under it the
  CEM only syncs.
* **2143**: an :class:`~flexcem.model.ActiveTariffNotification` names the tariff now in force; its price comes
  from the CEM's tariff list (``settings.grid.tariff_prices``) or the notification. An id that is in neither is
  refused naming ``tariff_id``, and the tariff in force stays as it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from flexcem.bus import DeliveryTimeout, Endpoint, LinkClosed, MessageRefused, PeerUnsupported
from flexcem.cem.alerts import Alerts
from flexcem.cem.metering import check_meter
from flexcem.model import (
    ActiveTariffNotification,
    Envelope,
    TimeDifferenceAlarm,
    TimeRequest,
    TimeSyncParameters,
    new_id,
    parse_address,
)

if TYPE_CHECKING:
    from flexcem.cem.manager import CustomerEnergyManager

__all__ = ["ActiveTariff", "SyncRecord", "TimeSync"]


@dataclass(frozen=True)
class SyncRecord:
    """One synchronisation: when (CEM clock), the offset found (CEM minus meter), whether the meter forced it,
    whether it raised the alarm and how uncertain the offset is (half the round trip; zero when pushed)."""

    at: datetime
    offset: timedelta
    forced: bool
    alarm: bool
    uncertainty: timedelta = timedelta(0)


@dataclass(frozen=True)
class ActiveTariff:
    """The tariff the meter says is in force, since when, and its price [currency/kWh]."""

    tariff_id: str
    since: datetime
    price_per_kwh: float
    currency: str


class TimeSync:
    """The CEM's clock against the meter's, and the active tariff."""

    def __init__(self, cem: CustomerEnergyManager, endpoint: Endpoint, alerts: Alerts) -> None:
        self._cem = cem
        self._endpoint = endpoint
        self._alerts = alerts
        self.offset = timedelta(0)
        """CEM clock minus meter clock, as last found."""
        self.history: list[SyncRecord] = []
        self.alarms: list[TimeDifferenceAlarm] = []
        self.tariff: ActiveTariff | None = None
        self.tariff_history: list[ActiveTariff] = []
        endpoint.on(TimeSyncParameters, self._on_pushed)
        endpoint.on(ActiveTariffNotification, self._on_active_tariff)

    def meter_time(self) -> datetime:
        """The present time as the meter counts it (the CEM's clock corrected by the last offset)."""
        return self._cem.clock.now() - self.offset

    async def run(self) -> None:
        """Ask the meter for its time now and then every ``time_sync_interval`` (nothing without a meter)."""
        while True:
            if self._cem.settings.grid.meter is not None:
                await self.request()
            await self._cem.clock.sleep(self._cem.settings.grid.time_sync_interval.total_seconds())

    async def request(self) -> SyncRecord | None:
        """One request/response round trip with the meter; ``None`` when the meter does not answer."""
        meter = self._cem.settings.grid.meter
        if meter is None:
            return None
        sent = self._cem.clock.now()
        try:
            answer = await self._endpoint.deliver(
                meter, TimeRequest(request_id=f"time-{new_id()[:12]}", sent_at=sent), expect=TimeSyncParameters
            )
        except (DeliveryTimeout, MessageRefused, PeerUnsupported, LinkClosed) as error:
            self._cem.note(f"time request to {meter} failed: {error}")
            return None
        received = self._cem.clock.now()
        offset = sent + (received - sent) / 2 - answer.meter_time
        return await self._apply(answer, offset, forced=False, uncertainty=(received - sent) / 2)

    async def _on_pushed(self, parameters: TimeSyncParameters, envelope: Envelope) -> None:
        check_meter(self._cem, envelope)
        if parameters.observed_offset is not None:
            offset = parameters.observed_offset
        else:
            offset = envelope.created - parameters.meter_time
        await self._apply(parameters, offset, forced=True)

    async def _apply(
        self, parameters: TimeSyncParameters, offset: timedelta, forced: bool, uncertainty: timedelta = timedelta(0)
    ) -> SyncRecord:
        cem = self._cem
        threshold = cem.settings.grid.time_alarm_threshold
        alarm = abs(offset) > threshold
        self.offset = offset
        record = SyncRecord(cem.clock.now(), offset, forced, alarm, uncertainty)
        self.history.append(record)
        how = "forced by the meter" if forced else "on request"
        cem.note(f"time synchronised with {parameters.meter_id} ({how}): the CEM was {_seconds(offset)} off")
        if alarm:
            body = TimeDifferenceAlarm(
                alarm_id=f"tda-{new_id()[:12]}",
                meter_id=parameters.meter_id,
                at=self.meter_time(),
                difference=offset,
                threshold=threshold,
            )
            self.alarms.append(body)
            await self._alerts.alert(
                "time difference",
                parameters.meter_id,
                f"the CEM's clock was {_seconds(offset)} off meter {parameters.meter_id}, beyond "
                f"{threshold.total_seconds():.0f} s; manual intervention may be needed",
                body,
                upstream=True,
            )
        return record

    async def _on_active_tariff(self, notification: ActiveTariffNotification, envelope: Envelope) -> None:
        check_meter(self._cem, envelope)
        known = self._cem.settings.grid.tariff_prices.get(notification.tariff_id)
        price = known if known is not None else notification.price_per_kwh
        if price is None:
            raise MessageRefused(
                f"tariff {notification.tariff_id!r} is not in the CEM's tariff list and the notification gives no "
                "price",
                "tariff_id",
            )
        currency = self._cem.prices.currency or notification.currency
        self.tariff = ActiveTariff(notification.tariff_id, notification.active_since, price, currency)
        self.tariff_history.append(self.tariff)
        self._cem.note(
            f"meter {parameters_name(envelope)}: tariff {notification.tariff_id} active since "
            f"{self._cem.settings.clock_time(notification.active_since, True)} at {price:.4f} {currency}/kWh"
        )

    def price_at(self, instant: datetime) -> float | None:
        """The notified tariff's price in force at ``instant`` [currency/kWh], if any was notified by then."""
        price = None
        for tariff in self.tariff_history:
            if tariff.since <= instant:
                price = tariff.price_per_kwh
        return price


def parameters_name(envelope: Envelope) -> str:
    """The sender's name (the meter's id on the bus)."""
    return parse_address(envelope.sender).name


def _seconds(offset: timedelta) -> str:
    return f"{offset.total_seconds():+.1f} s"
