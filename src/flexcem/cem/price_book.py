"""The CEM's knowledge of prices: every profile received, merged into one view per instant.

For any instant the best known price wins: a binding price over a forecast, then the newest revision, then
the latest issue. Where nothing is known yet (beyond the published horizon) the planner still needs a
price; the book then assumes the price of the same time one day earlier, else one week earlier, else the
last known price, and says so (:attr:`PriceView.assumed_from`).
"""

from __future__ import annotations

import itertools
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import datetime, timedelta

from flexcem.model import BindingLevel, Direction, PriceEnvironmentProfile, PriceSlot
from flexcem.model.timeseries import trusted, utc

__all__ = ["PriceBook", "PriceView"]

_FALLBACK_SHIFTS = (timedelta(days=1), timedelta(days=7))
_MEMO = 4096
"""Instants whose best slot a book remembers at most (then it starts afresh)."""


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
        # Derived from the profiles kept, reused across re-plans until they change (:meth:`_changed`): the best
        # slot per instant asked for, and every slot edge (also shifted by the fallbacks) in time order.
        self._best: dict[datetime, PriceSlot | None] = {}
        self._edges: list[datetime] | None = None

    def _changed(self) -> None:
        """Forget what was derived from the profiles (called whenever the list of profiles changes)."""
        self._best.clear()
        self._edges = None

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
        self._changed()
        after = [self._best_at(slot.start) for slot in profile.slots]
        return before != after

    def forget_before(self, instant: datetime) -> None:
        """Drop profiles that ended more than the keeping period before ``instant``."""
        kept = [p for p in self._profiles if p.end > instant - self._keep]
        if len(kept) != len(self._profiles):
            self._profiles = kept
            self._changed()

    def _best_at(self, instant: datetime) -> PriceSlot | None:
        """The best slot at ``instant`` (remembered until the profiles change; at most ``_MEMO`` instants)."""
        try:
            return self._best[instant]
        except KeyError:
            pass
        best: tuple[tuple[int, int, datetime], PriceSlot] | None = None
        for profile in self._profiles:
            slot = profile.slot_at(instant)
            if slot is not None and (best is None or _rank(profile) >= best[0]):
                best = (_rank(profile), slot)
        if len(self._best) >= _MEMO:
            self._best.clear()
        found = None if best is None else best[1]
        self._best[instant] = found
        return found

    def _all_edges(self) -> list[datetime]:
        """Every slot edge of the profiles and those edges shifted by the fallbacks, distinct, in time order."""
        if self._edges is None:
            edges: dict[datetime, None] = {}  # insertion-ordered set: the first of equal instants is kept
            for profile in self._profiles:
                for slot in profile.slots:
                    for edge in (slot.start, slot.end):
                        edges.setdefault(edge)
                        for shift in _FALLBACK_SHIFTS:
                            edges.setdefault(edge + shift)
            self._edges = sorted(edges)
        return self._edges

    def _boundaries(self, start: datetime, end: datetime) -> list[datetime]:
        edges = self._all_edges()
        inside = edges[bisect_right(edges, start) : bisect_left(edges, end)]
        return [start, *inside, end] if start < end else sorted({start, end})

    def view(self, start: datetime, end: datetime) -> PriceView:
        """Prices for ``[start, end)`` as contiguous slots; gaps filled as the module explains.

        Raises :class:`LookupError` when no price at all is known. The slots carry the values of the profiles'
        (validated) slots over distinct edges in time order, so they are built without validating each again
        (:func:`~flexcem.model.timeseries.trusted`).
        """
        if not self._profiles:
            raise LookupError("no price profile has been received")
        runs: list[tuple[datetime, datetime, PriceSlot]] = []  # (start, end, slot whose values hold), merged
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
            if runs and (
                (previous := runs[-1][2]) is slot
                or (previous.price_per_kwh, previous.co2_g_per_kwh, previous.renewable_share)
                == (slot.price_per_kwh, slot.co2_g_per_kwh, slot.renewable_share)
            ):
                runs[-1] = (runs[-1][0], right, previous)
            else:
                runs.append((left, right, slot))
        slots = tuple(
            trusted(
                PriceSlot,
                start=utc(left),
                duration=right - left,
                price_per_kwh=slot.price_per_kwh,
                co2_g_per_kwh=slot.co2_g_per_kwh,
                renewable_share=slot.renewable_share,
            )
            for left, right, slot in runs
        )
        return PriceView(slots, tuple(assumed), self.currency or "EUR")

    def price_at(self, instant: datetime) -> PriceSlot | None:
        """The best known price slot at ``instant``, or ``None``."""
        return self._best_at(instant)
