"""The price book reuses what it derived from its profiles across re-plans, and never once they changed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flexcem.cem import PriceBook
from flexcem.model import BindingLevel, PriceEnvironmentProfile, PriceSlot

T0 = datetime(2026, 6, 1, 0, tzinfo=UTC)
H = timedelta(hours=1)


def _profile(
    start: datetime, prices: list[float], *, revision: int = 0, issued: datetime = T0
) -> PriceEnvironmentProfile:
    slots = tuple(PriceSlot(start=start + i * H, duration=H, price_per_kwh=p) for i, p in enumerate(prices))
    return PriceEnvironmentProfile(
        profile_id="tariff",
        revision=revision,
        issued_at=issued,
        binding=BindingLevel.BINDING,
        currency="EUR",
        slots=slots,
    )


def _fresh(book: PriceBook) -> PriceBook:
    """A book with the same profiles that has derived nothing yet."""
    copy = PriceBook()
    for profile in book.profiles:
        copy.add(profile)
    return copy


def test_a_correction_after_a_view_is_not_served_from_what_the_book_remembered() -> None:
    book = PriceBook()
    book.add(_profile(T0, [0.2] * 24))
    assert book.price_at(T0 + 18 * H).price_per_kwh == 0.2  # remembered now
    first = book.view(T0 + 16 * H, T0 + 22 * H)
    assert book.add(_profile(T0 + 18 * H, [0.9, 0.9], revision=1, issued=T0 + 12 * H))
    assert book.price_at(T0 + 18 * H).price_per_kwh == 0.9
    second = book.view(T0 + 16 * H, T0 + 22 * H)
    assert second != first
    assert [(s.start.hour, s.price_per_kwh) for s in second.slots] == [(16, 0.2), (18, 0.9), (20, 0.2)]


def test_a_profile_forgotten_is_no_longer_in_the_views() -> None:
    book = PriceBook(keep=timedelta(days=1))
    book.add(_profile(T0, [0.1] * 24))
    book.add(_profile(T0 + 24 * H, [0.5] * 24, issued=T0 + 20 * H))
    assert [s.price_per_kwh for s in book.view(T0 + 20 * H, T0 + 22 * H).slots] == [0.1]  # remembered now
    book.forget_before(T0 + 60 * H)  # the first profile ended 36 h before: more than the day kept
    assert len(book.profiles) == 1
    after = book.view(T0 + 20 * H, T0 + 22 * H)
    assert [s.price_per_kwh for s in after.slots] == [0.5]  # assumed: the last price known
    assert after.assumed_from == (T0 + 20 * H,)
    assert after == _fresh(book).view(T0 + 20 * H, T0 + 22 * H)


def test_views_over_sliding_horizons_equal_those_of_a_book_that_remembers_nothing() -> None:
    book = PriceBook()
    book.add(_profile(T0, [0.1 * (h % 5) for h in range(36)]))
    book.add(_profile(T0 + 30 * H, [0.7, 0.8, 0.9], revision=1, issued=T0 + 10 * H))
    for quarter in range(0, 4 * 60, 3):
        start = T0 + quarter * timedelta(minutes=15)
        assert book.view(start, start + 30 * H) == _fresh(book).view(start, start + 30 * H)
    empty = book.view(T0 + H, T0 + H)
    assert empty == _fresh(book).view(T0 + H, T0 + H)
