"""JWG10 / JWG12 computation: device history from power reports, priced buckets, yearly cost, same-hour forecast."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from flexcem.cem.consumption_history import (
    HOURS_PER_YEAR,
    ConsumptionHistory,
    ConsumptionRecord,
    aggregate,
    same_hour_forecast,
)

T0 = datetime(2021, 8, 10, 0, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def tou(instant: datetime) -> float:
    """0.10/kWh before 01:00, 0.30/kWh after (a time-of-use tariff)."""
    return 0.10 if instant < T0 + HOUR else 0.30


def test_reported_power_holds_until_the_next_report_and_is_priced_at_its_time() -> None:
    history = ConsumptionHistory(tou, max_hold=2 * HOUR)
    history.take("heater", T0, 1000.0)
    history.take("heater", T0 + 30 * timedelta(minutes=1), 2000.0)
    history.take("heater", T0 + 2 * HOUR, 0.0)
    records = history.device_history("heater", T0, T0 + 2 * HOUR, HOUR)
    assert [r.energy_wh for r in records] == pytest.approx([500.0 + 1000.0, 2000.0])
    assert [r.cost for r in records] == pytest.approx([1.5 * 0.10, 2.0 * 0.30])
    assert records[0].average_power_w == pytest.approx(1500.0)
    assert history.yearly_cost() == {"heater": pytest.approx((0.15 + 0.60) / 2.0 * HOURS_PER_YEAR)}


def test_a_silent_device_is_held_for_at_most_max_hold() -> None:
    history = ConsumptionHistory(lambda _: 0.2, max_hold=HOUR)
    history.take("freezer", T0, 100.0)
    history.take("freezer", T0 + 3 * HOUR, 100.0)
    records = history.device_history("freezer", T0, T0 + 3 * HOUR, HOUR)
    assert [(r.start, r.covered) for r in records] == [(T0, HOUR)], "hours without reports are not guessed at"
    with_tail = history.device_history("freezer", T0, T0 + 6 * HOUR, HOUR, now=T0 + 3.5 * HOUR)
    assert with_tail[-1].start == T0 + 3 * HOUR and with_tail[-1].covered == HOUR / 2


def test_generation_is_negative_energy_and_costs_nothing_and_late_copies_are_ignored() -> None:
    history = ConsumptionHistory(lambda _: 0.2)
    history.take("pv", T0, -3000.0)
    history.take("pv", T0 + HOUR, -1000.0)
    history.take("pv", T0 + timedelta(minutes=30), 5000.0)  # a late copy
    (record,) = history.device_history("pv", T0, T0 + HOUR, HOUR)
    assert record.energy_wh == pytest.approx(-3000.0) and record.cost == 0.0


def test_unpriced_history_gives_no_yearly_cost_and_an_unknown_device_is_a_key_error() -> None:
    history = ConsumptionHistory(lambda _: None)
    history.take("washer", T0, 500.0)
    history.take("washer", T0 + HOUR, 0.0)
    assert history.yearly_cost() == {}
    assert history.device_history("washer", T0, T0 + HOUR, HOUR)[0].cost is None
    with pytest.raises(KeyError):
        history.device_history("dryer", T0, T0 + HOUR, HOUR)


def test_an_empty_window_is_refused_naming_end() -> None:
    with pytest.raises(ValueError, match="end"):
        aggregate("x", {}, T0, T0, HOUR)


def hourly(power_by_hour: dict[datetime, float]) -> list[ConsumptionRecord]:
    return [ConsumptionRecord(None, at, HOUR, w, HOUR, None) for at, w in power_by_hour.items()]


def test_the_forecast_weights_the_same_hour_of_recent_days_yesterday_most() -> None:
    start = T0 + timedelta(days=3, hours=10)
    history = hourly(
        {start - timedelta(days=3): 100.0, start - timedelta(days=2): 200.0, start - timedelta(days=1): 400.0}
    )
    forecast = same_hour_forecast(history, start, 2, decay=0.5)
    assert forecast.slots[0].power_w == pytest.approx((400.0 + 0.5 * 200.0 + 0.25 * 100.0) / 1.75)
    assert forecast.slots[1].power_w == pytest.approx(400.0), "an hour never seen: the last 24 h's average"
    assert [s.start for s in forecast.slots] == [start, start + HOUR]


def test_the_forecast_needs_history_and_at_least_one_hour() -> None:
    with pytest.raises(LookupError):
        same_hour_forecast([], T0, 24)
    with pytest.raises(ValueError, match="hours"):
        same_hour_forecast(hourly({T0: 1.0}), T0 + HOUR, 0)
