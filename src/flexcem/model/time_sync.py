"""Time and tariff synchronisation between the smart meter and the CEM (WGSP2140: 2141, 2142, 2143).

Billing uses the meter, so the CEM must switch tariffs when the meter does; the meter's time is taken as
correct. The CEM asks with a :class:`TimeRequest` (periodically, or after a power outage) and the meter
answers with :class:`TimeSyncParameters` (COSEM clock: absolute time, or time relative to the tariff
schedule); a meter that sees from a CEM's timestamps that it is out of sync pushes them unasked
(``forced``). A difference above the alarm threshold makes the CEM send a :class:`TimeDifferenceAlarm`
upstream. Where the CEM holds only a list of {tariff id, price}, the meter sends an
:class:`ActiveTariffNotification` whenever it switches tariff.
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
from typing import Self

from pydantic import Field, model_validator

from flexcem.model.base import Currency, FlexModel, Identifier, Instant, NonNegativeDuration, PositiveDuration

__all__ = ["ActiveTariffNotification", "SyncMode", "TimeDifferenceAlarm", "TimeRequest", "TimeSyncParameters"]


class TimeRequest(FlexModel):
    """The CEM asks the meter for its time; ``sent_at`` is the CEM's clock when it asked."""

    request_id: Identifier
    sent_at: Instant = Field(description="The requester's time when sending.")


class SyncMode(StrEnum):
    """The two forms of the COSEM clock's synchronisation parameters."""

    ABSOLUTE = "absolute"
    TARIFF_RELATIVE = "tariff_relative"


class TimeSyncParameters(FlexModel):
    """The meter's time: absolute, or relative to its tariff schedule (the active tariff and time since it began).

    ``observed_offset`` is how far the receiver's clock is off as the meter sees it (receiver minus meter; a
    negative duration: behind), from the timestamp of the request or of the receiver's latest message.
    """

    request_id: Identifier | None = Field(default=None, description="The request answered; none when pushed.")
    meter_id: Identifier
    mode: SyncMode = Field(default=SyncMode.ABSOLUTE)
    meter_time: Instant = Field(description="The meter's time when sending.")
    request_sent_at: Instant | None = Field(default=None, description="The request's sent_at, echoed.")
    tariff_id: Identifier | None = Field(default=None, description="The active tariff (tariff_relative).")
    since_tariff_switch: NonNegativeDuration | None = Field(
        default=None, description="Time since the active tariff began (tariff_relative)."
    )
    next_switch_in: NonNegativeDuration | None = Field(default=None, description="Time to the next tariff switch.")
    forced: bool = Field(default=False, description="Pushed by the meter because the receiver is out of sync.")
    observed_offset: timedelta | None = Field(default=None, description="Receiver clock minus meter clock.")

    @model_validator(mode="after")
    def _relative_needs_tariff(self) -> Self:
        if self.mode is SyncMode.TARIFF_RELATIVE and (self.tariff_id is None or self.since_tariff_switch is None):
            raise ValueError("tariff_relative synchronisation needs tariff_id and since_tariff_switch")
        return self


class TimeDifferenceAlarm(FlexModel):
    """The CEM's clock differed from the meter's by ``difference`` (CEM minus meter), beyond ``threshold``."""

    alarm_id: Identifier
    meter_id: Identifier = Field(description="The meter compared with.")
    at: Instant = Field(description="When the difference was found (meter time).")
    difference: timedelta = Field(description="CEM time minus meter time; negative: the CEM was behind.")
    threshold: PositiveDuration = Field(description="The alarm level passed.")

    @model_validator(mode="after")
    def _beyond_threshold(self) -> Self:
        if abs(self.difference) <= self.threshold:
            raise ValueError(f"difference {self.difference} is not beyond threshold {self.threshold}")
        return self


class ActiveTariffNotification(FlexModel):
    """The meter switched to tariff ``tariff_id`` at ``active_since``."""

    meter_id: Identifier
    tariff_id: Identifier = Field(description="Identifier of the tariff now active (as in the CEM's tariff list).")
    active_since: Instant = Field(description="When the meter switched.")
    price_per_kwh: float | None = Field(default=None, description="Its price, when the meter knows it [currency/kWh].")
    currency: Currency = Field(default="EUR")
