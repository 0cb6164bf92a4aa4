"""Real data for the home planner tests: CityLearn 2023 prices, CO2, base load and PV (Building 1, June–August).

Prices, CO2 intensity and base load come from the embedded subset (:class:`flexcem.data.CityLearnData`),
and the PV output per installed kW from the same subset.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cache
from typing import Any

import numpy as np

from flexcem.data.citylearn import DATA_START, CityLearnData
from flexcem.model.home_parameters import BatteryParameters
from flexcem.model.tariff import PriceSlot
from flexcem.model.timeseries import PowerSlot
from flexcem.planner import PlanningProblem, SiteLimits
from flexcem.planner.devices.battery import BatteryDevice
from flexcem.planner.devices.pv import GenerationSlot, PvDevice

HOUR = timedelta(hours=1)


@cache
def data() -> CityLearnData:
    """The embedded CityLearn subset."""
    return CityLearnData.embedded()


def solar_w_per_kw() -> np.ndarray:
    """PV output per installed kW [W/kW], hourly from ``DATA_START`` (CityLearn's own PV simulation)."""
    return data().solar_generation_w_per_kw


def day_start(day: int, hour: int = 0) -> datetime:
    """``hour`` o'clock of day ``day`` of the data (0 = 1 June)."""
    return DATA_START + timedelta(days=day, hours=hour)


def prices(start: datetime, hours: int, *, co2: bool = True) -> tuple[PriceSlot, ...]:
    """Hourly import prices [USD/kWh] (and CO2 [g/kWh]) of the data."""
    slots = data().price_slots(start, start + hours * HOUR)
    if co2:
        return tuple(slots)
    return tuple(slot.model_copy(update={"co2_g_per_kwh": None}) for slot in slots)


def export_prices(start: datetime, hours: int, share: float) -> tuple[PriceSlot, ...]:
    """Feed-in remuneration: ``share`` of the import price of each hour [USD/kWh]."""
    return tuple(
        PriceSlot(start=slot.start, duration=slot.duration, price_per_kwh=share * slot.price_per_kwh)
        for slot in prices(start, hours, co2=False)
    )


def base_load(start: datetime, hours: int) -> tuple[PowerSlot, ...]:
    """The building's non-shiftable load [W] as committed load."""
    return data().base_load(start, start + hours * HOUR).slots


def pv_forecast(start: datetime, hours: int, kw: float) -> tuple[GenerationSlot, ...]:
    """Hourly PV generation [W] of a ``kw`` kW system."""
    first = data().hour_index(start)
    solar = solar_w_per_kw()
    return tuple(
        GenerationSlot(start=start + index * HOUR, duration=HOUR, power_w=float(solar[first + index]) * kw)
        for index in range(hours)
    )


def pv(start: datetime, hours: int, kw: float = 6.0, *, curtailable: bool = True, device_id: str = "pv") -> PvDevice:
    """A PV system with the data's generation scaled to ``kw``."""
    return PvDevice(device_id=device_id, forecast=pv_forecast(start, hours, kw), curtailable=curtailable)


PARAMETERS = BatteryParameters(
    capacity_wh=10_000.0,
    soc_min=0.1,
    soc_max=0.95,
    charge_power_max_w=5_000.0,
    discharge_power_max_w=5_000.0,
    charge_efficiency=0.95,
    discharge_efficiency=0.95,
    self_discharge_per_h=0.0001,
    standby_w=0.0,
)
"""A 10 kWh home battery with a 5 kW inverter."""


def battery(initial_soc: float = 0.5, *, device_id: str = "battery", **extra: Any) -> BatteryDevice:
    """A home battery (``PARAMETERS`` unless ``parameters`` is given)."""
    parameters = extra.pop("parameters", PARAMETERS)
    return BatteryDevice(device_id=device_id, parameters=parameters, initial_soc=initial_soc, **extra)


def home(
    start: datetime,
    hours: int,
    devices: list[Any],
    *,
    import_limit_w: float | None = None,
    export_limit_w: float | None = None,
    export_share: float | None = None,
    load: bool = True,
    **extra: Any,
) -> PlanningProblem:
    """A planning problem over ``hours`` from ``start`` on the data, with the base load as committed load."""
    return PlanningProblem(
        start=start,
        end=start + hours * HOUR,
        devices=tuple(devices),
        prices=prices(start, hours),
        export_prices=() if export_share is None else export_prices(start, hours, export_share),
        site=SiteLimits(
            import_limit_w=import_limit_w,
            export_limit_w=export_limit_w,
            committed_load=base_load(start, hours) if load else (),
        ),
        currency="USD",
        **extra,
    )
