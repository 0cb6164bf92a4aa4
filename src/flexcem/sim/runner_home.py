"""One simulated home on a shard's bus: its CEM (or, without control, a passive stand-in), its device agents with
their physics, its base-load meter, and what its user does (loads the washer, plugs the EV in).

Every endpoint is ``{domain}/{home_id}-{name}``. With ``controlled=False`` the home runs **without control**: the
address of the CEM is held by an endpoint that acknowledges everything and decides nothing, so the battery
stays idle, the heat pump keeps its tank on its own thermostat, PV produces all it can, and the EV and the
appliances start when the user activates them.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from flexcem.bus import Endpoint, Link
from flexcem.bus.access import Role
from flexcem.cem import CemSettings, CustomerEnergyManager
from flexcem.cem.grid_settings import FlexPermission, GridSettings
from flexcem.clock import Clock
from flexcem.data.citylearn import CityLearnData
from flexcem.devices import BatteryAgent, Dishwasher, ElectricVehicle, EvBattery, HeatPumpAgent, PvAgent, WashingMachine
from flexcem.devices.agent import DeviceAgent
from flexcem.devices.air_conditioner import DEFAULT_AIR_CONDITIONER, AirConditionerModel
from flexcem.devices.air_conditioner_agent import AirConditionerAgent
from flexcem.devices.base_load import BaseLoad
from flexcem.devices.battery import DEFAULT_BATTERY, BatteryModel
from flexcem.devices.heat_pump import DEFAULT_HEAT_PUMP, DEFAULT_HEAT_PUMP_TANK, HeatPumpModel
from flexcem.devices.home_agent import HomeDeviceAgent
from flexcem.devices.hot_water import HotWaterTank
from flexcem.devices.pv import DEFAULT_PV
from flexcem.devices.room import DEFAULT_ROOM, Room
from flexcem.grid import SmartMeter
from flexcem.model import (
    AcMode,
    DeviceCapabilities,
    DeviceFunction,
    DeviceKind,
    DeviceRegistration,
    Envelope,
    FlexibilityRequest,
    FlexModel,
    LoadForecast,
    PowerSeries,
    PowerSlot,
    message_types,
)
from flexcem.sim.forecasts import DataForecasts
from flexcem.sim.population import AirConditionerUnit, ApplianceRun, HomeSpec, data_set_point_c
from flexcem.sim.scenario import SITE_TIMEZONE, Scenario

__all__ = ["Connect", "HomeConnectError", "SimHome", "runs_of_equal_power"]

log = logging.getLogger("flexcem.sim")

Connect = Callable[[str, Role], Awaitable[Link]]
"""Connects endpoint ``name`` (without domain) in a role; returns its link."""

_ZONE = ZoneInfo(SITE_TIMEZONE)
_DEVICE_STEP: dict[str, Any] = {
    "step": timedelta(minutes=5),
    "log_interval": timedelta(minutes=15),
    "report_interval": timedelta(hours=1),
    "failsafe_after": timedelta(hours=3),
}
"""Device agents step at least every 5 min (and on every slot and data hour), report hourly."""

_MINUTE = timedelta(minutes=1)
"""The smart meter's resolution: the site's power is averaged over each minute."""
_MINUTE_US = 60_000_000
"""A minute [µs]."""
_MICROSECOND = timedelta(microseconds=1)

_PV_STEP = timedelta(minutes=15)
"""PV generation is constant within a data hour and a schedule slot, both of which end a step anyway: its agent
steps with its status log instead of every 5 min (the same energy, a third of the steps)."""


class HomeConnectError(RuntimeError):
    """An endpoint of a home could not connect to the bus; names the home, the endpoint and why."""

    def __init__(self, home_id: str, address: str, error: BaseException) -> None:
        super().__init__(f"home {home_id}: endpoint {address} could not connect: {error}")
        self.home_id, self.address = home_id, address


class BaseLoadMeter:
    """The base load on the bus: registers as ``base_load`` and sends a 48-h :class:`LoadForecast` of the data's
    ``non_shiftable_load`` (answering a ``FlexibilityRequest`` with a fresh one)."""

    def __init__(self, endpoint: Endpoint, cem_address: str, data: CityLearnData) -> None:
        self.endpoint, self.cem_address = endpoint, cem_address
        self.device_id = endpoint.address.split("/", 1)[1]
        self.load = BaseLoad(data)
        self.data = data
        endpoint.on(FlexibilityRequest, self._on_request)

    def forecast(self) -> LoadForecast:
        """The load of the next 48 h (within the data) [W]."""
        now = self.endpoint.clock.now()
        end = min(now + timedelta(hours=48), self.data.end)
        return LoadForecast(device_id=self.device_id, at=now, forecast=self.load.forecast(now, end))

    async def _on_request(self, request: FlexibilityRequest, envelope: Envelope) -> LoadForecast:
        return self.forecast()

    async def power_on(self) -> None:
        """Register and send the forecast."""
        await self.endpoint.start()
        capabilities = DeviceCapabilities(
            device_id=self.device_id,
            kind=DeviceKind.BASE_LOAD,
            functions=(DeviceFunction.POWER_MEASUREMENT,),
            max_power_w=float(self.data.base_load_w.max()),
        )
        await self.endpoint.deliver(self.cem_address, DeviceRegistration(capabilities=capabilities))
        await self.endpoint.deliver(self.cem_address, self.forecast())


class PassiveCem:
    """The CEM's address in a home without control: acknowledges every message, decides nothing."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint

        async def acknowledge(body: FlexModel, envelope: Envelope) -> None:
            return None

        for body_type in message_types().values():
            endpoint.on(body_type, acknowledge)


@dataclass
class SimHome:
    """One home of a shard."""

    spec: HomeSpec
    scenario: Scenario
    data: CityLearnData
    connect: Connect
    controlled: bool
    grid_sources: tuple[str, ...]
    domain: str
    clock: Clock
    with_meter: bool = False
    external_cem: bool = False
    """The CEM at :attr:`cem_address` runs elsewhere (e.g. a CEM service): none is made here."""
    head_end: str | None = None
    """Where the smart meter reports its readings (a grid head-end), if anywhere."""
    meter_address: str | None = None
    meter: SmartMeter | None = None
    cem: CustomerEnergyManager | None = None
    passive: PassiveCem | None = None
    agents: dict[str, HomeDeviceAgent] = field(default_factory=dict)
    appliances: dict[str, DeviceAgent] = field(default_factory=dict)
    endpoints: list[Endpoint] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    own_endpoints: list[Endpoint] = field(default_factory=list)
    links: dict[str, Link] = field(default_factory=dict)
    """Links connected ahead of :meth:`start` by :meth:`connect_all`, by endpoint name; :meth:`start` uses them."""
    room_band_c: tuple[float, float] | None = None
    """The air conditioner's comfort band [°C] (set point ± 1 K), if the home has one."""

    def address(self, name: str) -> str:
        """The address of this home's endpoint ``name``."""
        return f"{self.domain}/{self.spec.home_id}-{name}"

    @property
    def cem_address(self) -> str:
        """The address of its CEM."""
        return self.address("cem")

    def endpoint_names(self) -> list[tuple[str, Role]]:
        """The endpoints :meth:`start` makes, in its order: ``(name, role)``."""
        spec = self.spec
        names: list[tuple[str, Role]] = [] if self.external_cem else [("cem", Role.CONTROLLER)]
        names.append(("baseload", Role.ENDPOINT))
        present = {
            "pv": spec.pv_w is not None,
            "battery": spec.battery_wh is not None and spec.battery_w is not None,
            "heatpump": spec.heat_pump_w is not None,
            "ac": spec.ac is not None,
            "ev": spec.ev is not None,
            "washer": spec.washer is not None,
            "dishwasher": spec.dishwasher is not None,
            "meter": self.with_meter,
        }
        names += [(name, Role.ENDPOINT) for name, here in present.items() if here]
        return names

    async def connect_all(self, gate: asyncio.Semaphore | None = None) -> None:
        """Connect every endpoint of the home at once (each connection inside ``gate``, which bounds the
        connections in flight), ahead of :meth:`start`, which then only switches things on.

        Raises :class:`HomeConnectError` naming the home and the first endpoint that failed; the links of the
        home that did connect are closed again and the others' attempts cancelled.
        """
        gate = gate or asyncio.Semaphore(1 << 16)

        async def one(name: str, role: Role) -> None:
            async with gate:
                try:
                    self.links[name] = await self.connect(f"{self.spec.home_id}-{name}", role)
                except Exception as error:
                    raise HomeConnectError(self.spec.home_id, self.address(name), error) from error

        attempts = [asyncio.ensure_future(one(name, role)) for name, role in self.endpoint_names()]
        try:
            await asyncio.gather(*attempts)
        except BaseException:
            for attempt in attempts:
                attempt.cancel()
            await asyncio.gather(*attempts, return_exceptions=True)
            await self.disconnect()
            raise

    async def disconnect(self) -> None:
        """Close the links :meth:`connect_all` made that :meth:`start` has not taken over (after a failure)."""
        links, self.links = list(self.links.values()), {}
        await asyncio.gather(*(link.close() for link in links), return_exceptions=True)

    async def _endpoint(self, name: str, role: Role = Role.ENDPOINT) -> Endpoint:
        link = self.links.pop(name, None)
        if link is None:
            link = await self.connect(f"{self.spec.home_id}-{name}", role)
        endpoint = Endpoint(link, self.clock)
        self.endpoints.append(endpoint)
        return endpoint

    def settings(self) -> CemSettings:
        """The CEM's settings: the scenario's objective and limits; tariffs and grid signals from the grid side."""
        cem = self.scenario.cem
        allowed = [
            FlexPermission(
                device_id=f"{self.spec.home_id}-{name}",
                max_duration=timedelta(hours=8),
                comfort_range_c=cem.load_management_comfort_k,
            )
            for name in ("battery", "heatpump", "ev", "ac")
            if name in self.spec.devices
        ]
        return CemSettings(
            site_import_limit_w=cem.import_limit_w,
            site_export_limit_w=cem.export_limit_w,
            objective=cem.objective,
            slot_duration=self.scenario.period.slot,
            tariff_sources=self.grid_sources,
            timezone=SITE_TIMEZONE,
            grid=GridSettings(
                area="feeder",
                load_management=tuple(allowed),
                meter=self.meter_address,
                heartbeat_interval=_DEVICE_STEP["report_interval"],
                heartbeat_grace=timedelta(minutes=10),
            ),
        )

    def metered(self, start: datetime, end: datetime) -> PowerSeries:
        """The site's power as its smart meter measures it [W] (+ import, − export), on one-minute slots; minutes
        of equal power form one slot (the same energies and powers, a few slots instead of one per minute)."""
        first, power = self._minute_power(start, end)
        return runs_of_equal_power(first, _MINUTE, power)

    def metered_runs(self, start: datetime, end: datetime) -> tuple[list[tuple[float, float]], float]:
        """:meth:`metered` as the meter integrates it (:data:`~flexcem.grid.smart_meter.PowerRuns`): each run of
        equal power of ``metered(start, end + 1 µs)`` clipped to ``[start, end)`` as ``(seconds, power_w)`` [s, W],
        and the power at ``end`` [W] — the same numbers, without making slots."""
        first, power = self._minute_power(start, end + _MICROSECOND)
        values: list[float] = power.tolist()
        begin_us, end_us = (start - first) // _MICROSECOND, (end - first) // _MICROSECOND
        pieces: list[tuple[float, float]] = []
        run = 0
        for k in range(1, len(values) + 1):
            if k < len(values) and values[k] - values[k - 1] == 0:  # the test of runs_of_equal_power (np.diff)
                continue
            lo, hi = max(run * _MINUTE_US, begin_us), min(k * _MINUTE_US, end_us)
            if hi > lo:
                pieces.append(((hi - lo) / 1_000_000, values[run]))  # timedelta.total_seconds()'s arithmetic
            run = k
        return pieces, values[-1]

    def _minute_power(self, start: datetime, end: datetime) -> tuple[datetime, npt.NDArray[np.float64]]:
        """The first minute (UTC) at or before ``start`` and the site's mean power [W] in each minute from it that
        begins before ``end`` (at least one)."""
        first = start.astimezone(UTC).replace(second=0, microsecond=0)
        count = max(1, -(-(end - first) // _MINUTE))
        logs = [agent.power for agent in self.agents.values()] + [device.power for device in self.appliances.values()]
        data = self.data
        minutes = (first - data.start).total_seconds() / 60.0 + np.arange(count)
        hours = (minutes // 60).astype(np.int64)
        if hours[0] < 0 or hours[-1] >= data.hours:
            raise ValueError(f"[{first.isoformat()}, {end.isoformat()}) is outside the data")
        power = data.base_load_w[hours].astype(np.float64)
        for log in logs:
            power += log.average_power(first, _MINUTE, count)
        return first, power

    async def start(self) -> None:
        """Connect (what :meth:`connect_all` has not) and switch everything on, one endpoint after another."""
        spec = self.spec
        if self.with_meter:
            self.meter_address = self.address("meter")
        self.own_endpoints = []
        if not self.external_cem:
            cem_endpoint = await self._endpoint("cem", Role.CONTROLLER)
            if self.controlled:
                self.cem = CustomerEnergyManager(cem_endpoint, self.settings(), DataForecasts(self.data))
                await self.cem.start()
            else:
                self.passive = PassiveCem(cem_endpoint)
                await cem_endpoint.start()
            self.own_endpoints.append(cem_endpoint)
        meter = BaseLoadMeter(await self._endpoint("baseload"), self.cem_address, self.data)
        self.own_endpoints.append(meter.endpoint)
        await meter.power_on()
        if spec.pv_w is not None:
            pv = DEFAULT_PV.model_copy(update={"nominal_power_w": spec.pv_w, "inverter_ac_max_w": spec.pv_w * 0.92})
            self.agents["pv"] = PvAgent(
                await self._endpoint("pv"), self.cem_address, self.data, pv, **{**_DEVICE_STEP, "step": _PV_STEP}
            )
        if spec.battery_wh is not None and spec.battery_w is not None:
            parameters = DEFAULT_BATTERY.model_copy(
                update={
                    "capacity_wh": spec.battery_wh,
                    "charge_power_max_w": spec.battery_w,
                    "discharge_power_max_w": spec.battery_w,
                }
            )
            model = BatteryModel(parameters, energy_wh=spec.battery_soc * spec.battery_wh)
            endpoint = await self._endpoint("battery")
            self.agents["battery"] = BatteryAgent(endpoint, self.cem_address, self.data, model, **_DEVICE_STEP)
        if spec.heat_pump_w is not None:
            parameters_hp = DEFAULT_HEAT_PUMP.model_copy(update={"power_max_w": spec.heat_pump_w})
            tank = DEFAULT_HEAT_PUMP_TANK.model_copy(update={"volume_l": spec.tank_l})
            model_hp = HeatPumpModel(parameters_hp, HotWaterTank(tank, 50.0))
            endpoint = await self._endpoint("heatpump")
            self.agents["heatpump"] = HeatPumpAgent(
                endpoint, self.cem_address, self.data, model_hp, log_capacity=self._log_capacity(), **_DEVICE_STEP
            )
        if spec.ac is not None:
            self.agents["ac"] = self._air_conditioner(await self._endpoint("ac"), spec.ac)
        if spec.ev is not None:
            battery = EvBattery(soc=spec.ev.soc)
            self.appliances["ev"] = ElectricVehicle(
                await self._endpoint("ev"), self.cem_address, battery=battery, charger_max_w=spec.ev.charger_w
            )
        if spec.washer is not None:
            self.appliances["washer"] = WashingMachine(await self._endpoint("washer"), self.cem_address)
        if spec.dishwasher is not None:
            self.appliances["dishwasher"] = Dishwasher(await self._endpoint("dishwasher"), self.cem_address)
        if self.meter_address is not None:
            endpoint = await self._endpoint("meter")
            self.meter = SmartMeter(
                endpoint, self.cem_address, load=self.metered, runs=self.metered_runs, head_end=self.head_end
            )
            await self.meter.start()
        for agent in self.agents.values():
            await agent.power_on()
        for appliance in self.appliances.values():
            await appliance.power_on()

    def _air_conditioner(self, endpoint: Endpoint, unit: AirConditionerUnit) -> AirConditionerAgent:
        """The air conditioner and its room, starting at the set point; its status log covers the period."""
        period = self.scenario.period
        set_point = unit.set_point_c
        if set_point is None:
            set_point = data_set_point_c(self.data, period.start, period.end)
        self.room_band_c = unit.band_c(set_point)
        parameters = DEFAULT_AIR_CONDITIONER.model_copy(update={"power_max_w": unit.power_w})
        room = Room(DEFAULT_ROOM, set_point)
        model = AirConditionerModel(parameters, room, mode=AcMode(unit.mode), set_point_c=set_point)
        return AirConditionerAgent(
            endpoint, self.cem_address, self.data, model, log_capacity=self._log_capacity(), **_DEVICE_STEP
        )

    def _log_capacity(self) -> int:
        """Status-log entries that cover the whole period (the comfort KPIs read the log)."""
        period = self.scenario.period
        return int((period.end - period.start) / _DEVICE_STEP["log_interval"]) + 8

    def user_actions(self) -> list[tuple[datetime, str, Callable[[], Coroutine[Any, Any, None]]]]:
        """What the user does, every day of the period: ``(when, what, action)``."""
        period = self.scenario.period
        actions: list[tuple[datetime, str, Callable[[], Coroutine[Any, Any, None]]]] = []
        first = period.start.astimezone(_ZONE).date()
        days = int(-(-(period.end - period.start) // timedelta(days=1))) + 1
        for offset in range(-1, days):
            day = first + timedelta(days=offset)

            def at(hour: float, plus_days: int = 0, day: object = day) -> datetime:
                base = datetime.combine(day, time(0), _ZONE)  # type: ignore[arg-type]
                return base + timedelta(days=plus_days, hours=hour)

            ev = self.spec.ev
            if ev is not None:
                actions.append((at(ev.arrival_hour), "ev", self._ev_action(at(ev.departure_hour, 1), ev.target_soc)))
            for name, run in (("washer", self.spec.washer), ("dishwasher", self.spec.dishwasher)):
                if run is not None:
                    loaded = at(run.hour)
                    actions.append((loaded, name, self._appliance_action(name, run, loaded)))
        return sorted((a for a in actions if period.start <= a[0] < period.end), key=lambda action: action[0])

    def _ev_action(self, departure: datetime, target_soc: float) -> Callable[[], Coroutine[Any, Any, None]]:
        async def plug_in() -> None:
            ev = self.appliances["ev"]
            assert isinstance(ev, ElectricVehicle)
            try:
                ev.prepare_session(target_soc=max(target_soc, ev.battery.soc + 0.01), departure=departure)
                await self._go(ev)
            except (RuntimeError, ValueError) as error:
                self.notes.append(f"ev: {error}")

        return plug_in

    def _appliance_action(
        self, name: str, run: ApplianceRun, loaded: datetime
    ) -> Callable[[], Coroutine[Any, Any, None]]:
        async def load() -> None:
            device = self.appliances[name]
            assert isinstance(device, WashingMachine | Dishwasher)
            try:
                device.prepare(run.programme, latest_end=loaded + timedelta(hours=run.flexibility_h))
                await self._go(device)
            except (RuntimeError, ValueError) as error:
                self.notes.append(f"{name}: {error}")

        return load

    async def _go(self, device: DeviceAgent) -> None:
        if self.controlled:
            await device.activate()
        else:
            device.start_now()

    async def stop(self) -> None:
        """Switch everything off and leave the bus."""
        for agent in self.agents.values():
            await agent.power_off()
        for appliance in self.appliances.values():
            await appliance.power_off()
        if self.meter is not None:
            await self.meter.stop()
        if self.cem is not None:
            await self.cem.stop()
        for endpoint in self.own_endpoints:
            await endpoint.close()
        await asyncio.sleep(0)


def runs_of_equal_power(first: datetime, step: timedelta, power_w: npt.NDArray[np.float64]) -> PowerSeries:
    """The power ``power_w[k]`` [W] of the steps ``[first + k·step, first + (k+1)·step)`` as a series with one slot
    per run of equal values (exactly equal: the same energies and powers as one slot per step).

    ``first`` is a UTC instant and the values are computed by the caller: the slots are built without
    re-validation.
    """
    edges = [0, *(np.flatnonzero(np.diff(power_w)) + 1).tolist(), len(power_w)]
    values = power_w.tolist()
    slots = tuple(
        PowerSlot.model_construct(start=first + a * step, duration=(b - a) * step, power_w=values[a])
        for a, b in itertools.pairwise(edges)
    )
    return PowerSeries.model_construct(slots=slots)
