"""PV: the forecast from irradiance and temperature through pvlib, and the curtailable generator it drives.

The forecast (docs/home-physics.md, "PV"), per hour of :class:`~flexcem.data.CityLearnData`:

1. solar position for the site at the middle of each hour (the data are hourly means), NREL SPA;
2. global horizontal irradiance GHI = DNI·cos(zenith) + DHI from the data's beam-normal and diffuse-horizontal
   irradiance, then transposition to the plane of array by the Perez model (extraterrestrial irradiance and
   Kasten–Young air mass), ground albedo 0.2;
3. cell temperature by the SAPM model for a close-mounted glass/glass rooftop module, wind 1 m/s (the data
   have no wind);
4. DC power by PVWatts (nominal power, temperature coefficient), less the system losses;
5. AC power by the PVWatts inverter model (nominal efficiency, AC limit).

:class:`PvGenerator` produces the forecast power of the present hour, or less when curtailed.

Step 1 depends only on the site and the hours: for the data's own hours (:func:`pv_forecast_series`,
:class:`PvGenerator`) it is computed once per site and data period and kept (:func:`data_sun`), since every
home of a simulation on the same data, and every re-plan, asks for the same hours.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import NamedTuple

import numpy as np
import pandas as pd
import pvlib

from flexcem.data.citylearn import CityLearnData, FloatArray, Site
from flexcem.model import PowerSeries, PowerSlot
from flexcem.model.home_parameters import PvParameters
from flexcem.model.timeseries import trusted, utc

__all__ = [
    "DEFAULT_PV",
    "PvGenerator",
    "SunPosition",
    "data_sun",
    "pv_forecast_series",
    "pv_forecast_w",
    "sun_position",
]

DEFAULT_PV = PvParameters(nominal_power_w=5_000.0, tilt_deg=25.0, azimuth_deg=180.0, inverter_ac_max_w=4_600.0)
"""A typical Texan rooftop system: 5 kWp facing south at 25°, 4.6 kW inverter."""

WIND_SPEED_M_PER_S = 1.0
"""Wind speed assumed for the cell temperature (the data set has none) [m/s]."""

ALBEDO = 0.2
"""Ground reflectance for the transposition."""

_SAPM = pvlib.temperature.TEMPERATURE_MODEL_PARAMETERS["sapm"]["close_mount_glass_glass"]
_HOUR = timedelta(hours=1)


class SunPosition(NamedTuple):
    """Where the sun is at the middle of each hour (step 1 of the module docstring), arrays per hour."""

    apparent_zenith_deg: FloatArray
    azimuth_deg: FloatArray
    extra_w_per_m2: FloatArray
    """Extraterrestrial irradiance [W/m²]."""

    def sliced(self, first: int, stop: int) -> SunPosition:
        """The hours ``first`` to ``stop`` (exclusive)."""
        return SunPosition(*(values[first:stop] for values in self))


def sun_position(site: Site, hour_starts: list[datetime]) -> SunPosition:
    """The sun at the middle of each hour from ``hour_starts``: NREL SPA, seen from ``site``."""
    middle = pd.DatetimeIndex([start + timedelta(minutes=30) for start in hour_starts]).tz_convert("UTC")
    position = pvlib.solarposition.get_solarposition(
        middle, site.latitude_deg, site.longitude_deg, altitude=site.altitude_m
    )
    extra = np.asarray(pvlib.irradiance.get_extra_radiation(middle.day_of_year.to_numpy()), dtype=np.float64)
    result = SunPosition(
        np.asarray(position["apparent_zenith"].to_numpy(), dtype=np.float64),
        np.asarray(position["azimuth"].to_numpy(), dtype=np.float64),
        extra,
    )
    for values in result:
        values.flags.writeable = False  # shared by the cache
    return result


@lru_cache(maxsize=16)
def _sun_of_hours(site: Site, start: datetime, hours: int) -> SunPosition:
    return sun_position(site, [start + k * _HOUR for k in range(hours)])


def data_sun(data: CityLearnData) -> SunPosition:
    """The sun for every hour of ``data``, computed once per site and period (read-only arrays)."""
    return _sun_of_hours(data.site, data.start, data.hours)


def pv_forecast_w(
    parameters: PvParameters,
    site: Site,
    hour_starts: list[datetime],
    dni_w_per_m2: FloatArray,
    dhi_w_per_m2: FloatArray,
    air_c: FloatArray,
    sun: SunPosition | None = None,
) -> FloatArray:
    """AC power [W, ≥ 0] of each hour from its beam-normal and diffuse-horizontal irradiance [W/m²], air [°C].

    ``sun``: the sun position of these hours when known (e.g. a slice of :func:`data_sun`), else computed.
    """
    if not len(hour_starts) == len(dni_w_per_m2) == len(dhi_w_per_m2) == len(air_c):
        raise ValueError("hour_starts and the weather series differ in length")
    if sun is None:
        sun = sun_position(site, hour_starts)
    elif len(sun.apparent_zenith_deg) != len(hour_starts):
        raise ValueError("hour_starts and the sun position differ in length")
    zenith = sun.apparent_zenith_deg
    up = zenith < 90.0
    dni = np.where(up, np.asarray(dni_w_per_m2, dtype=np.float64), 0.0)
    dhi = np.where(up, np.asarray(dhi_w_per_m2, dtype=np.float64), 0.0)
    ghi = dni * np.clip(np.cos(np.radians(zenith)), 0.0, None) + dhi
    irradiance = pvlib.irradiance.get_total_irradiance(
        surface_tilt=parameters.tilt_deg,
        surface_azimuth=parameters.azimuth_deg,
        solar_zenith=zenith,
        solar_azimuth=sun.azimuth_deg,
        dni=dni,
        ghi=ghi,
        dhi=dhi,
        dni_extra=sun.extra_w_per_m2,
        airmass=pvlib.atmosphere.get_relative_airmass(zenith),
        albedo=ALBEDO,
        model="perez",
    )
    poa = np.nan_to_num(np.asarray(irradiance["poa_global"], dtype=np.float64), nan=0.0)
    poa = np.where(up, np.clip(poa, 0.0, None), 0.0)
    cell_c = pvlib.temperature.sapm_cell(poa, np.asarray(air_c, dtype=np.float64), WIND_SPEED_M_PER_S, **_SAPM)
    dc = pvlib.pvsystem.pvwatts_dc(poa, cell_c, parameters.nominal_power_w, parameters.temperature_coefficient_per_k)
    dc = np.asarray(dc, dtype=np.float64) * (1.0 - parameters.system_losses)
    ac_max = parameters.inverter_ac_max_w or parameters.nominal_power_w
    ac = pvlib.inverter.pvwatts(dc, ac_max / parameters.inverter_efficiency, parameters.inverter_efficiency)
    return np.clip(np.nan_to_num(np.asarray(ac, dtype=np.float64), nan=0.0), 0.0, ac_max)


def pv_forecast_series(parameters: PvParameters, data: CityLearnData, start: datetime, end: datetime) -> PowerSeries:
    """The forecast on the data's hourly slots covering ``[start, end)``, generation negative [W]."""
    first, last = data.index(start), data.index(end - timedelta(microseconds=1))
    starts = [data.start + k * _HOUR for k in range(first, last + 1)]  # as data.hour_starts()[first : last + 1]
    power = pv_forecast_w(
        parameters,
        data.site,
        starts,
        data.dni_w_per_m2[first : last + 1],
        data.dhi_w_per_m2[first : last + 1],
        data.outdoor_c[first : last + 1],
        sun=data_sun(data).sliced(first, last + 1),
    )
    return _generation_series(starts, power)


def _generation_series(starts: list[datetime], power_w: FloatArray) -> PowerSeries:
    """Hourly slots from ``starts`` of the AC powers ``power_w`` [W ≥ 0], as generation (negative) [W]."""
    # Contiguous hourly slots of finite powers (the model clips and replaces NaN): built without validation.
    slots = tuple(
        trusted(PowerSlot, start=utc(slot_start), duration=_HOUR, power_w=-value)
        for slot_start, value in zip(starts, np.asarray(power_w, dtype=np.float64).tolist(), strict=True)
    )
    return trusted(PowerSeries, slots=slots) if slots else PowerSeries(slots=slots)  # none: refused as before


@dataclass
class PvGenerator:
    """The PV system over the data: available power from the forecast, optionally curtailed, and its meters.

    ``limit_w`` is the most it may generate [W ≥ 0] (``None``: no limit). Counters in Wh never decrease.
    """

    parameters: PvParameters
    data: CityLearnData
    limit_w: float | None = None
    generated_wh: float = 0.0
    exported_wh: float = 0.0
    _available: FloatArray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._available = pv_forecast_w(
            self.parameters,
            self.data.site,
            self.data.hour_starts(),
            self.data.dni_w_per_m2,
            self.data.dhi_w_per_m2,
            self.data.outdoor_c,
            sun=data_sun(self.data),
        )

    def forecast_series(self, start: datetime, end: datetime) -> PowerSeries:
        """The forecast on the data's hourly slots covering ``[start, end)``, generation negative [W]: the same
        numbers as :func:`pv_forecast_series` (every step of the model works hour by hour, so the hours of the
        whole data computed once are those of any window), sliced from the forecast the generator keeps."""
        data = self.data
        first, last = data.index(start), data.index(end - timedelta(microseconds=1))
        starts = [data.start + k * _HOUR for k in range(first, last + 1)]  # as data.hour_starts()[first : last + 1]
        return _generation_series(starts, self._available[first : last + 1])

    def available_w(self, instant: datetime) -> float:
        """What the array could give in the hour of ``instant`` [W]."""
        return self.data.value_at(self._available, instant)

    def output_w(self, instant: datetime) -> float:
        """What it gives at ``instant`` [W ≥ 0]: the available power, capped by the limit when curtailable."""
        available = self.available_w(instant)
        if self.limit_w is None or not self.parameters.curtailable:
            return available
        return min(available, max(0.0, self.limit_w))

    def advance(self, instant: datetime, dt_h: float, site_load_w: float | None = None) -> tuple[float, float]:
        """Generate for ``dt_h`` hours from ``instant``; (generated, exported) power [W].

        ``site_load_w``: the rest of the home's consumption [W], which the PV feeds first; ``None`` when the
        inverter has no meter at the connection point (everything counts as exported).
        """
        generated = self.output_w(instant)
        exported = generated if site_load_w is None else max(0.0, generated - max(0.0, site_load_w))
        self.generated_wh += generated * dt_h
        self.exported_wh += exported * dt_h
        return generated, exported
