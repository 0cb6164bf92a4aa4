"""PV forecast through pvlib on the real CityLearn 2023 weather (Austin, Texas; docs/home-physics.md "PV").

Zero at night, peak near solar noon, and close to the data set's own simulated PV output (``solar_generation``)
hour by hour; the generator never gives more than the forecast and is curtailed to any limit. The sun position
of the data's hours is computed once and kept: the forecasts from it equal those computed from scratch.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import numpy as np
import pytest
from home_devices_harness import MID_JUNE, data

from flexcem.devices import DATA_CLOCK, DEFAULT_PV, PvGenerator, pv_forecast_series, pv_forecast_w
from flexcem.devices.pv import data_sun, sun_position
from flexcem.model.home_parameters import PvParameters

ONE_KW = PvParameters(nominal_power_w=1000.0)


def _forecast(parameters: PvParameters = ONE_KW) -> np.ndarray:  # type: ignore[type-arg]
    d = data()
    return pv_forecast_w(parameters, d.site, d.hour_starts(), d.dni_w_per_m2, d.dhi_w_per_m2, d.outdoor_c)


def test_forecast_is_zero_at_night_and_peaks_near_solar_noon() -> None:
    forecast = _forecast()
    hours = np.array([start.astimezone(DATA_CLOCK).hour for start in data().hour_starts()])
    night = (hours < 5) | (hours >= 21)
    assert np.all(forecast[night] == 0.0)
    profile = np.array([forecast[hours == hour].mean() for hour in range(24)])
    # Solar noon in Austin is ≈ 12:33 CST; the hour 12:00–13:00 or 13:00–14:00 carries the peak.
    assert int(np.argmax(profile)) in {12, 13}
    assert profile[12] > 2 * profile[7] and profile[12] > 2 * profile[18]


def test_forecast_follows_the_data_sets_own_pv_simulation() -> None:
    forecast, reference = _forecast(), data().solar_generation_w_per_kw
    assert np.corrcoef(forecast, reference)[0, 1] > 0.98
    assert forecast.sum() == pytest.approx(reference.sum(), rel=0.15)  # summer energy per kWp within 15 %
    assert 550.0 < forecast.max() < 800.0  # hourly AC per kWp in a Texan summer (hot cells, losses)


def test_forecast_series_is_generation_on_hourly_slots() -> None:
    series = pv_forecast_series(DEFAULT_PV, data(), MID_JUNE, MID_JUNE + timedelta(days=1))
    assert len(series.slots) == 24 and series.start == MID_JUNE
    assert all(slot.power_w <= 0.0 for slot in series.slots)
    assert max(-slot.power_w for slot in series.slots) <= (DEFAULT_PV.inverter_ac_max_w or 0.0)
    assert -series.energy_wh > 10_000.0  # a sunny June day on 5 kWp


def test_generator_gives_the_forecast_or_less_when_curtailed() -> None:
    generator = PvGenerator(DEFAULT_PV, data())
    noon = MID_JUNE + timedelta(hours=12, minutes=20)
    available = generator.available_w(noon)
    assert generator.output_w(noon) == available > 1000.0
    generator.limit_w = 800.0
    generated, exported = generator.advance(noon, 0.5, site_load_w=500.0)
    assert generated == 800.0 and exported == 300.0
    assert generator.generated_wh == 400.0 and generator.exported_wh == 150.0
    fixed = PvGenerator(DEFAULT_PV.model_copy(update={"curtailable": False}), data(), limit_w=0.0)
    assert fixed.output_w(noon) == available


def test_cached_sun_gives_the_forecast_computed_from_scratch() -> None:
    d = data()
    starts = d.hour_starts()
    # The generator (whole data) and forecast series (a day from any instant) use the cached sun position.
    generator = PvGenerator(DEFAULT_PV, d)
    scratch = pv_forecast_w(DEFAULT_PV, d.site, starts, d.dni_w_per_m2, d.dhi_w_per_m2, d.outdoor_c)
    assert np.array_equal([generator.available_w(start) for start in starts], scratch)
    for offset in (timedelta(0), timedelta(days=3, hours=7, minutes=45), timedelta(days=20, hours=23)):
        begin = MID_JUNE + offset
        series = pv_forecast_series(DEFAULT_PV, d, begin, begin + timedelta(days=1))
        first = d.index(begin)
        hours = slice(first, first + len(series.slots))
        expected = pv_forecast_w(
            DEFAULT_PV, d.site, starts[hours], d.dni_w_per_m2[hours], d.dhi_w_per_m2[hours], d.outdoor_c[hours]
        )
        assert [slot.start for slot in series.slots] == starts[hours]
        assert np.array_equal([-slot.power_w for slot in series.slots], expected)


def test_sun_position_is_computed_once_per_site_and_period() -> None:
    d = data()
    sun = data_sun(d)
    assert data_sun(d) is sun
    assert len(sun.apparent_zenith_deg) == d.hours and not sun.azimuth_deg.flags.writeable
    assert np.array_equal(
        sun.sliced(24, 48).extra_w_per_m2, sun_position(d.site, d.hour_starts()[24:48]).extra_w_per_m2
    )
    elsewhere = dataclasses.replace(d.site, latitude_deg=d.site.latitude_deg + 10.0)
    assert not np.array_equal(
        sun_position(elsewhere, d.hour_starts()[:24]).apparent_zenith_deg, sun.apparent_zenith_deg[:24]
    )


def test_a_sun_position_of_other_hours_is_refused() -> None:
    d = data()
    with pytest.raises(ValueError, match="sun position"):
        pv_forecast_w(
            DEFAULT_PV,
            d.site,
            d.hour_starts()[:24],
            d.dni_w_per_m2[:24],
            d.dhi_w_per_m2[:24],
            d.outdoor_c[:24],
            sun=data_sun(d).sliced(0, 23),
        )
