"""A retailer's tariff program (Actor A; JWG1110, WGSP2112): day-ahead prices published every day at noon.

Every day at ``publish_at`` (local time, 12:00 by default) the program publishes the binding price and
environment profile for the next ``horizon`` (24 h) to its recipients — everyone in the domain by default,
retained so that a CEM that connects later still gets the latest profile. On start it re-publishes the
profile of the last publication, as a retained message would hold it. A correction re-issues part of a
published period under the same profile id with a higher revision; receivers let it replace the overlapping
slots.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from flexcem.bus import Endpoint
from flexcem.model import (
    BindingLevel,
    PriceEnvironmentProfile,
    PriceSlot,
    TariffKind,
    broadcast_address,
    parse_address,
)

__all__ = ["PriceSource", "TariffProgram"]

log = logging.getLogger("flexcem.grid.tariff")

PriceSource = Callable[[datetime, datetime], Sequence[PriceSlot]]
"""Gives the price slots covering ``[start, end)``."""


class TariffProgram:
    """Publishes a day-ahead tariff at a fixed local time every day, and corrections on demand."""

    def __init__(
        self,
        endpoint: Endpoint,
        prices: PriceSource,
        *,
        tariff_name: str = "day-ahead",
        currency: str = "EUR",
        timezone: ZoneInfo | str = "UTC",
        publish_at: time = time(12, 0),
        horizon: timedelta = timedelta(hours=24),
        recipients: str | None = None,
        kind: TariffKind = TariffKind.DAY_AHEAD,
    ) -> None:
        self.endpoint = endpoint
        self.clock = endpoint.clock
        self._prices = prices
        self.tariff_name = tariff_name
        self.currency = currency
        self.timezone = ZoneInfo(timezone) if isinstance(timezone, str) else timezone
        self.publish_at = publish_at
        self.horizon = horizon
        self.recipients = recipients or broadcast_address(parse_address(endpoint.address).domain)
        self.kind = kind
        self.published: list[PriceEnvironmentProfile] = []
        self._task: asyncio.Task[None] | None = None

    def last_publication_before(self, instant: datetime) -> datetime:
        """The latest scheduled publication instant at or before ``instant``."""
        local = instant.astimezone(self.timezone)
        today = datetime.combine(local.date(), self.publish_at, self.timezone)
        return today if today <= local else today - timedelta(days=1)

    async def start(self) -> None:
        """Re-publish the current period and publish every day from now on."""
        await self.endpoint.start()
        await self.publish_period(self.last_publication_before(self.clock.now()))
        self._task = asyncio.create_task(self._daily(), name=f"tariff {self.tariff_name}")

    async def stop(self) -> None:
        """Stop publishing and leave the bus."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self.endpoint.close()

    async def _daily(self) -> None:
        while True:
            following = self.last_publication_before(self.clock.now()) + timedelta(days=1)
            await self.clock.sleep_until(following)
            await self.publish_period(following)

    def _profile_id(self, period_start: datetime) -> str:
        return f"{self.tariff_name}-{period_start.astimezone(self.timezone):%Y%m%dT%H%M}"

    async def publish_period(self, period_start: datetime) -> PriceEnvironmentProfile:
        """Publish the binding profile for ``[period_start, period_start + horizon)``."""
        slots = tuple(self._prices(period_start, period_start + self.horizon))
        profile = PriceEnvironmentProfile(
            profile_id=self._profile_id(period_start),
            revision=0,
            issued_at=self.clock.now(),
            currency=self.currency,
            binding=BindingLevel.BINDING,
            kind=self.kind,
            tariff_name=self.tariff_name,
            slots=slots,
        )
        await self._send(profile)
        return profile

    async def publish_correction(
        self,
        slots: Sequence[PriceSlot],
        *,
        kind: TariffKind | None = None,
        binding: BindingLevel = BindingLevel.BINDING,
    ) -> PriceEnvironmentProfile:
        """Re-issue ``slots`` (inside a published period) as a new revision of that period's profile."""
        if not slots:
            raise ValueError("a correction needs at least one slot")
        base = next((p for p in reversed(self.published) if p.covers(slots[0].start, slots[-1].end)), None)
        if base is None:
            raise ValueError("a correction must lie inside a published period")
        revision = max(p.revision for p in self.published if p.profile_id == base.profile_id) + 1
        profile = PriceEnvironmentProfile(
            profile_id=base.profile_id,
            revision=revision,
            issued_at=self.clock.now(),
            currency=self.currency,
            binding=binding,
            kind=kind or self.kind,
            tariff_name=self.tariff_name,
            slots=tuple(slots),
        )
        await self._send(profile)
        return profile

    async def _send(self, profile: PriceEnvironmentProfile) -> None:
        await self.endpoint.send(self.recipients, profile, retain=True)
        self.published.append(profile)
        log.info(
            "%s: published %s r%d %s–%s",
            self.endpoint.address,
            profile.profile_id,
            profile.revision,
            profile.start.isoformat(),
            profile.end.isoformat(),
        )
