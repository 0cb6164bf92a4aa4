"""Slots the planning path builds from validated data without validating each again
(:func:`flexcem.model.timeseries.trusted`) equal the validated ones field for field; data that would fail
validation still goes through it and is refused as before."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import cast
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from pydantic import BaseModel, ValidationError

from flexcem.cem import PriceBook
from flexcem.cem.setpoints import _series
from flexcem.data.citylearn import CityLearnData
from flexcem.devices import DATA_START, DEFAULT_PV, pv_forecast_series
from flexcem.devices.base_load import BaseLoad
from flexcem.model import PowerSeries, PowerSlot, PriceEnvironmentProfile, PriceSlot
from flexcem.model.timeseries import trusted, utc
from flexcem.planner import Plan
from flexcem.planner.builder import INF, ColumnKind, ModelBuilder
from flexcem.planner.devices.thermal_inputs import ComfortSlot, HeatSlot, TemperatureSlot
from flexcem.sim.forecasts import DataForecasts

T0 = datetime(2026, 6, 1, 0, tzinfo=UTC)
H = timedelta(hours=1)
BERLIN = ZoneInfo("Europe/Berlin")


@cache
def _data() -> CityLearnData:
    return CityLearnData.embedded()


def _same_as_validated(model: BaseModel) -> None:
    """``model`` equals its validated rebuild: fields, their types, the fields set and the JSON."""
    validated = type(model).model_validate({name: getattr(model, name) for name in model.__pydantic_fields_set__})
    assert model == validated
    assert {k: type(v) for k, v in model.__dict__.items()} == {k: type(v) for k, v in validated.__dict__.items()}
    assert model.__pydantic_fields_set__ == validated.__pydantic_fields_set__
    assert model.model_dump_json() == validated.model_dump_json()
    for slot in getattr(model, "slots", ()):
        _same_as_validated(slot)


def test_a_trusted_slot_equals_the_validated_one_and_copies_like_it() -> None:
    slot = trusted(PowerSlot, start=T0, duration=H, power_w=-12.5)
    _same_as_validated(slot)
    assert hash(slot) == hash(PowerSlot(start=T0, duration=H, power_w=-12.5))
    assert slot.model_copy(update={"power_w": 3.0}) == PowerSlot(start=T0, duration=H, power_w=3.0)
    with pytest.raises(ValidationError):  # still frozen
        slot.power_w = 1.0  # type: ignore[misc]


def test_a_trusted_slot_without_its_defaults_gets_them_as_validation_does() -> None:
    slot = trusted(ComfortSlot, start=T0, duration=H, set_point_c=21.0)
    assert slot == ComfortSlot(start=T0, duration=H, set_point_c=21.0)
    assert (slot.lower, slot.upper) == (20.0, 22.0)


def test_utc_keeps_the_instant_as_an_instant_field_does() -> None:
    local = datetime(2024, 3, 31, 3, 30, tzinfo=BERLIN)
    assert utc(local) == PowerSlot(start=local, duration=H, power_w=0.0).start
    assert utc(local).tzinfo is UTC
    assert utc(T0) is T0


@pytest.mark.parametrize("day_ahead", [False, True])
def test_data_forecasts_give_the_slots_validation_would(day_ahead: bool) -> None:
    forecasts = DataForecasts(_data(), day_ahead=day_ahead)
    start = DATA_START + timedelta(days=3, minutes=30)
    end = start + timedelta(hours=36)
    outdoor = forecasts.outdoor_temperature(start, end)
    rows = _data().outdoor_forecast_c
    for hour in outdoor:
        _same_as_validated(hour)
        k = _data().index(hour.start)
        assert hour.temperature_c == float(rows[2][k - 24] if day_ahead and k >= 24 else _data().outdoor_c[k])
    draws = forecasts.hot_water_draws("tank", start, end)
    gains = forecasts.room_gains("room", start, end)
    assert [slot.heat_w for slot in draws] == [float(_data().dhw_demand_w[_data().index(s.start)]) for s in draws]
    for heat in [*draws, *gains]:
        _same_as_validated(heat)
    assert all(isinstance(slot, TemperatureSlot) for slot in outdoor)
    assert all(isinstance(slot, HeatSlot) for slot in [*draws, *gains])


def test_data_forecasts_refuse_invalid_data_as_validation_does() -> None:
    draws = _data().dhw_demand_w.copy()
    draws[5] = -1.0
    forecasts = DataForecasts(dataclasses.replace(_data(), dhw_demand_w=draws))
    with pytest.raises(ValidationError, match="heat_w"):
        forecasts.hot_water_draws("tank", DATA_START, DATA_START + timedelta(hours=12))
    assert len(forecasts.hot_water_draws("tank", DATA_START + timedelta(hours=6), DATA_START + timedelta(hours=9))) == 3


def test_base_load_and_pv_forecasts_are_the_series_validation_would_give() -> None:
    start = DATA_START + timedelta(days=10, minutes=20)
    end = start + timedelta(hours=48)
    base = BaseLoad(_data()).forecast(start, end)
    pv = pv_forecast_series(DEFAULT_PV, _data(), start, end)
    for series in (base, pv):
        _same_as_validated(series)
        assert series.start <= start and series.end >= end
    assert [slot.power_w for slot in base.slots] == [
        float(_data().base_load_w[_data().index(slot.start)]) for slot in base.slots
    ]
    assert max(slot.power_w for slot in pv.slots) <= 0.0


def test_base_load_of_data_that_is_not_finite_is_refused_as_before() -> None:
    load = _data().base_load_w.copy()
    load[3] = np.nan
    with pytest.raises(ValidationError, match="power_w"):
        BaseLoad(dataclasses.replace(_data(), base_load_w=load)).forecast(DATA_START, DATA_START + timedelta(hours=6))


def _book(prices: list[float]) -> PriceBook:
    book = PriceBook()
    slots = tuple(
        PriceSlot(start=T0 + i * H, duration=H, price_per_kwh=p, co2_g_per_kwh=100.0 + i % 2)
        for i, p in enumerate(prices)
    )
    book.add(PriceEnvironmentProfile(profile_id="tariff", issued_at=T0, slots=slots))
    return book


def test_price_view_slots_are_merged_and_valid_even_from_a_start_in_another_zone() -> None:
    book = _book([0.3, 0.3, 0.2, 0.2, 0.25])
    start = (T0 + timedelta(minutes=15)).astimezone(BERLIN)
    view = book.view(start, T0 + timedelta(hours=30))
    assert view.slots[0].start == start and view.slots[0].start.tzinfo is UTC
    for slot in view.slots:
        _same_as_validated(slot)
    for previous, current in zip(view.slots, view.slots[1:], strict=False):
        assert previous.end == current.start
        assert (previous.price_per_kwh, previous.co2_g_per_kwh) != (current.price_per_kwh, current.co2_g_per_kwh)
    assert view.assumed_from[0] == T0 + 5 * H
    assert view.slots[-1].end == T0 + timedelta(hours=30)


@dataclasses.dataclass
class _PlanSlots:
    """What :func:`_series` reads of a plan: its slot starts (here in another zone than UTC) and length."""

    slot_starts: tuple[datetime, ...]
    slot_duration: timedelta


def _plan(slots: int) -> Plan:
    quarter = timedelta(minutes=15)
    starts = tuple((T0 + k * quarter).astimezone(BERLIN) for k in range(slots))
    return cast(Plan, _PlanSlots(starts, quarter))


def test_a_setpoint_series_is_the_validated_series_of_its_runs() -> None:
    plan = _plan(6)
    series = _series(plan, [1.04, 1.0, np.float64(2.0), 2.0, -0.04, 0.0])
    _same_as_validated(series)
    assert [(slot.power_w, slot.duration) for slot in series.slots] == [
        (1.0, timedelta(minutes=30)),
        (2.0, timedelta(minutes=30)),
        (0.0, timedelta(minutes=30)),
    ]
    assert series.start == T0 and isinstance(series, PowerSeries)


def test_the_lp_handed_to_highs_holds_the_builders_values() -> None:
    builder = ModelBuilder()
    cols = builder.add_columns(3, lower=[0.0, -1.5, 2.0], upper=[1.0, INF, 4.0])
    binary = builder.add_binaries(1)
    rows = builder.add_rows(2, lower=[-INF, 1.0], upper=[5.0, 1.0])
    builder.add_entries(
        [rows[0], rows[0], rows[1], rows[1]], [cols[0], cols[2], cols[1], binary[0]], [1.0, 2.5, -1.0, 3.0]
    )
    lp = builder.to_lp(np.array([1.0, 0.0, -2.0, 0.5]))
    assert list(lp.col_lower_) == [0.0, -1.5, 2.0, 0.0]
    assert list(lp.col_upper_) == [1.0, INF, 4.0, 1.0]
    assert list(lp.row_lower_) == [-INF, 1.0] and list(lp.row_upper_) == [5.0, 1.0]
    assert list(lp.col_cost_) == [1.0, 0.0, -2.0, 0.5]
    assert (list(lp.a_matrix_.start_), list(lp.a_matrix_.index_), list(lp.a_matrix_.value_)) == (
        [0, 1, 2, 3, 4],
        [0, 1, 0, 1],
        [1.0, -1.0, 2.5, 3.0],
    )
    assert [int(kind) for kind in lp.integrality_] == [0, 0, 0, int(ColumnKind.INTEGER)]
