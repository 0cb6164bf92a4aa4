"""The CEM's price book: binding beats forecast, corrections replace what they cover, gaps are assumed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from flexcem.cem import PriceBook
from flexcem.model import BindingLevel, Direction, PriceEnvironmentProfile, PriceSlot

T0 = datetime(2026, 6, 1, 0, tzinfo=UTC)
H = timedelta(hours=1)


def _profile(
    start: datetime,
    prices: list[float],
    *,
    revision: int = 0,
    binding: BindingLevel = BindingLevel.BINDING,
    issued: datetime = T0,
    currency: str = "EUR",
) -> PriceEnvironmentProfile:
    slots = tuple(PriceSlot(start=start + i * H, duration=H, price_per_kwh=p) for i, p in enumerate(prices))
    return PriceEnvironmentProfile(
        profile_id="tariff",
        revision=revision,
        issued_at=issued,
        binding=binding,
        currency=currency,
        slots=slots,
    )


def test_correction_replaces_only_the_slots_it_covers_and_signals_a_change() -> None:
    book = PriceBook()
    assert book.add(_profile(T0, [0.2] * 24))
    assert book.add(_profile(T0 + 18 * H, [0.9, 0.9], revision=1, issued=T0 + 12 * H))
    view = book.view(T0 + 17 * H, T0 + 21 * H)
    assert [(s.start.hour, s.price_per_kwh) for s in view.slots] == [(17, 0.2), (18, 0.9), (20, 0.2)]
    assert view.slots[1].duration == 2 * H and view.assumed_from == ()
    assert not book.add(_profile(T0 + 18 * H, [0.9, 0.9], revision=1, issued=T0 + 12 * H))  # repeated


def test_binding_prices_win_over_a_newer_forecast() -> None:
    book = PriceBook()
    book.add(_profile(T0, [0.3] * 4))
    changed = book.add(_profile(T0, [0.1] * 4, binding=BindingLevel.FORECAST, issued=T0 + H))
    assert not changed
    assert book.price_at(T0 + H).price_per_kwh == 0.3


def test_beyond_the_published_horizon_yesterdays_price_is_assumed_and_said() -> None:
    book = PriceBook()
    book.add(_profile(T0, [0.1 * (h % 5) for h in range(24)]))
    view = book.view(T0 + 22 * H, T0 + 26 * H)
    assert [round(s.price_per_kwh, 2) for s in view.slots] == [0.2, 0.3, 0.0, 0.1]
    assert view.assumed_from == (T0 + 24 * H, T0 + 25 * H)


def test_prices_in_another_currency_or_for_feed_in_are_refused() -> None:
    book = PriceBook()
    book.add(_profile(T0, [0.2] * 3))
    with pytest.raises(ValueError, match="currency USD differs"):
        book.add(_profile(T0, [0.2] * 3, currency="USD", issued=T0 + H))
    feed_in = _profile(T0, [0.08] * 3).model_copy(update={"applies_to": Direction.GENERATION})
    with pytest.raises(ValueError, match="holds consumption prices"):
        book.add(feed_in)


def test_an_empty_book_cannot_give_prices() -> None:
    with pytest.raises(LookupError):
        PriceBook().view(T0, T0 + H)
