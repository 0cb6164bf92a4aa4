"""The CEM's knowledge of prices: every profile received, merged into one view per instant.

For any instant the best known price wins: a binding price over a forecast, then the newest revision, then
the latest issue. Where nothing is known yet (beyond the published horizon) the planner still needs a
price; the book then assumes the price of the same time one day earlier, else one week earlier, else the
last known price, and says so (:attr:`PriceView.assumed_from`).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime, timedelta

from flexcem.model import BindingLevel, Direction, PriceEnvironmentProfile, PriceSlot

__all__ = ["PriceBook", "PriceView"]

_FALLBACK_SHIFTS = (timedelta(days=1), timedelta(days=7))


@dataclass(frozen=True)
class PriceView:
    """Prices for an interval: contiguous slots, and the instants where they were assumed."""

    slots: tuple[PriceSlot, ...]
    assumed_from: tuple[datetime, ...]
    currency: str


def _rank(profile: PriceEnvironmentProfile) -> tuple[int, int, datetime]:
    return (1 if profile.binding is BindingLevel.BINDING else 0, profile.revision, profile.issued_at)


class PriceBook:
    """All price profiles the CEM has received, for consumption or for feed-in."""

    def __init__(self, applies_to: Direction = Direction.CONSUMPTION, keep: timedelta = timedelta(days=8)) -> None:
        self._profiles: list[PriceEnvironmentProfile] = []
        self._applies_to = applies_to
        self._keep = keep

    @property
    def currency(self) -> str | None:
        """Currency of the newest profile, if any."""
        return self._profiles[-1].currency if self._profiles else None

    @property
    def profiles(self) -> tuple[PriceEnvironmentProfile, ...]:
        """The profiles kept, oldest issue first."""
        return tuple(self._profiles)

    def add(self, profile: PriceEnvironmentProfile) -> bool:
        """Take a profile; whether it changes any price the book gives (a re-plan is due then)."""
        if profile.applies_to is not self._applies_to:
            raise ValueError(f"this book holds {self._applies_to.value} prices, not {profile.applies_to.value}")
        if self.currency is not None and profile.currency != self.currency:
            raise ValueError(f"currency {profile.currency} differs from the book's {self.currency}")
        if profile in self._profiles:
            return False
        before = [self._best_at(slot.start) for slot in profile.slots]
        self._profiles.append(profile)
        self._profiles.sort(key=lambda known: known.issued_at)
        after = [self._best_at(slot.start) for slot in profile.slots]
        return before != after

    def forget_before(self, instant: datetime) -> None:
        """Drop profiles that ended more than the keeping period before ``instant``."""
        self._profiles = [p for p in self._profiles if p.end > instant - self._keep]

    def _best_at(self, instant: datetime) -> PriceSlot | None:
        best: tuple[tuple[int, int, datetime], PriceSlot] | None = None
        for profile in self._profiles:
            slot = profile.slot_at(instant)
            if slot is not None and (best is None or _rank(profile) >= best[0]):
                best = (_rank(profile), slot)
        return None if best is None else best[1]

    def _boundaries(self, start: datetime, end: datetime) -> list[datetime]:
        edges = {start, end}
        for profile in self._profiles:
            for slot in profile.slots:
                for edge in (slot.start, slot.end):
                    if start < edge < end:
                        edges.add(edge)
                    for shift in _FALLBACK_SHIFTS:
                        if start < edge + shift < end:
                            edges.add(edge + shift)
        return sorted(edges)

    def view(self, start: datetime, end: datetime) -> PriceView:
        """Prices for ``[start, end)`` as contiguous slots; gaps filled as the module explains.

        Raises :class:`LookupError` when no price at all is known.
        """
        if not self._profiles:
            raise LookupError("no price profile has been received")
        slots: list[PriceSlot] = []
        assumed: list[datetime] = []
        edges = self._boundaries(start, end)
        last_known = max(self._profiles, key=lambda profile: profile.end).slots[-1]
        for left, right in itertools.pairwise(edges):
            slot = self._best_at(left)
            if slot is None:
                assumed.append(left)
                slot = next(
                    (found for shift in _FALLBACK_SHIFTS if (found := self._best_at(left - shift)) is not None),
                    last_known,
                )
            merged = PriceSlot(
                start=left,
                duration=right - left,
                price_per_kwh=slot.price_per_kwh,
                co2_g_per_kwh=slot.co2_g_per_kwh,
                renewable_share=slot.renewable_share,
            )
            if slots and (
                slots[-1].price_per_kwh,
                slots[-1].co2_g_per_kwh,
                slots[-1].renewable_share,
            ) == (merged.price_per_kwh, merged.co2_g_per_kwh, merged.renewable_share):
                previous = slots.pop()
                merged = merged.model_copy(update={"start": previous.start, "duration": right - previous.start})
            slots.append(merged)
        return PriceView(tuple(slots), tuple(assumed), self.currency or "EUR")

    def price_at(self, instant: datetime) -> PriceSlot | None:
        """The best known price slot at ``instant``, or ``None``."""
        return self._best_at(instant)
