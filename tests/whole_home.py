"""A whole home for the use-case tests: the home devices' agents on the harness's bus, the base load, forecasts
from the CityLearn data, and the site's cost measured from the devices' own meters."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TypeVar

from flexcem.bus import Endpoint
from flexcem.data.citylearn import CityLearnData
from flexcem.devices import AirConditionerAgent, BatteryAgent, HeatPumpAgent, PvAgent, WaterHeaterAgent
from flexcem.devices.base_load import BaseLoad
from flexcem.devices.home_agent import HomeDeviceAgent
from flexcem.devices.power_log import PowerLog
from flexcem.devices.room import DEFAULT_ROOM
from flexcem.model import (
    DeviceCapabilities,
    DeviceFunction,
    DeviceKind,
    DeviceRegistration,
    Envelope,
    FlexibilityRequest,
    LoadForecast,
)
from flexcem.model.home_parameters import RoomParameters
from flexcem.planner import Plan
from flexcem.sim.forecasts import DataForecasts as SimDataForecasts
from home_harness import DATA, Home

HOUR = timedelta(hours=1)
A = TypeVar("A", bound=HomeDeviceAgent)


class DataForecasts(SimDataForecasts):
    """:class:`flexcem.sim.forecasts.DataForecasts` of the harness's building (``DATA``) by default."""

    def __init__(
        self, data: CityLearnData = DATA, room: RoomParameters = DEFAULT_ROOM, day_ahead: bool = False
    ) -> None:
        super().__init__(data, room, day_ahead)

class BaseLoadMeter:
    """The home's base load on the bus: it registers as ``base_load``, sends a :class:`LoadForecast` of the data's
    ``non_shiftable_load`` for the next ``horizon`` and answers a ``FlexibilityRequest`` with a fresh one. What it
    consumes is the data itself (:class:`BaseLoad`)."""

    def __init__(
        self, endpoint: Endpoint, cem_address: str, data: CityLearnData = DATA, horizon: timedelta = 48 * HOUR
    ):
        self.endpoint, self.cem_address, self.data, self.horizon = endpoint, cem_address, data, horizon
        self.load = BaseLoad(data)
        endpoint.on(FlexibilityRequest, self._on_request)

    def forecast(self) -> LoadForecast:
        """The load of the next ``horizon`` [W]."""
        now = self.endpoint.clock.now()
        return LoadForecast(device_id="baseload", at=now, forecast=self.load.forecast(now, now + self.horizon))

    async def _on_request(self, request: FlexibilityRequest, envelope: Envelope) -> LoadForecast:
        return self.forecast()

    async def power_on(self) -> None:
        """Register and send the forecast."""
        await self.endpoint.start()
        capabilities = DeviceCapabilities(
            device_id="baseload",
            kind=DeviceKind.BASE_LOAD,
            functions=(DeviceFunction.POWER_MEASUREMENT,),
            max_power_w=float(self.data.base_load_w.max()),
        )
        await self.endpoint.deliver(self.cem_address, DeviceRegistration(capabilities=capabilities))
        await self.endpoint.deliver(self.cem_address, self.forecast())

    def meter(self, start: datetime, end: datetime) -> PowerLog:
        """The base load as a meter would have recorded it over ``[start, end)``."""
        log = PowerLog(start, self.data.value_at(self.data.base_load_w, start))
        at = self.data.start + (self.data.index(start) + 1) * HOUR
        while at < end:
            log.set(at, self.data.value_at(self.data.base_load_w, at))
            at += HOUR
        return log


async def agent(home: Home, make: Callable[[Endpoint, str, CityLearnData], A], name: str) -> A:
    """A home device agent ``make(endpoint, cem, data)`` as ``home/{name}``, powered on and registered."""
    device = make(await home.endpoint(name), home.cem_address, DATA)
    await device.power_on()
    await device.registered.wait()
    return device


async def base_load(home: Home) -> BaseLoadMeter:
    """The base-load meter, registered with its forecast."""
    meter = BaseLoadMeter(await home.endpoint("baseload"), home.cem_address)
    await meter.power_on()
    return meter


def site_cost(
    meters: Sequence[PowerLog],
    start: datetime,
    count: int,
    prices: Sequence[float],
    export_prices: Sequence[float] | None = None,
    slot: timedelta = timedelta(minutes=15),
) -> float:
    """What the site's meter would bill over ``count`` slots from ``start``: per slot, the net of all ``meters``
    imported at ``prices`` and exported at ``export_prices`` (0 without) [currency]."""
    hours = slot.total_seconds() / 3600.0
    site = [sum(values) for values in zip(*(m.average_power_w(start, slot, count) for m in meters), strict=True)]
    exports = export_prices or [0.0] * count
    return sum(
        (max(w, 0.0) * p - max(-w, 0.0) * e) * hours / 1000.0 for w, p, e in zip(site, prices, exports, strict=True)
    )


def planned_cost(
    history: Sequence[tuple[datetime, Plan]], start: datetime, count: int, slot: timedelta = timedelta(minutes=15)
) -> float:
    """What the plans said the site would cost over ``count`` slots from ``start`` [currency]: each slot at the
    site power, import and export price of the plan in force for most of it (the latest adopted before its
    middle)."""
    hours = slot.total_seconds() / 3600.0
    total = 0.0
    for k in range(count):
        middle = start + k * slot + slot / 2
        plan = [plan for adopted, plan in history if adopted <= middle][-1]
        index = int((start + k * slot - plan.start) / plan.slot_duration)
        w = plan.site_power_w[index]
        total += (max(w, 0.0) * plan.price_per_kwh[index] - max(-w, 0.0) * plan.export_price_per_kwh[index]) * hours
    return total / 1000.0


def slot_prices(start: datetime, count: int, slot: timedelta = timedelta(minutes=15)) -> list[float]:
    """The real CityLearn price of each slot [USD/kWh]."""
    hourly = DATA.price_slots(start, start + count * slot)
    return [next(s.price_per_kwh for s in hourly if s.start <= start + k * slot < s.end) for k in range(count)]


__all__ = [
    "AirConditionerAgent",
    "BaseLoadMeter",
    "BatteryAgent",
    "DataForecasts",
    "HeatPumpAgent",
    "PvAgent",
    "WaterHeaterAgent",
    "agent",
    "base_load",
    "planned_cost",
    "site_cost",
    "slot_prices",
]
