"""A month of daily re-planning for each of the six CityLearn homes, executed on the device physics, against no control.

For every building of the CityLearn 2023 phase 3-1 data set (``--data``, default
``/work/shared/data/citylearn-2023-3-1``) over a month (default July 2021), one home:

* PV sized from ``schema.json`` (``pv.nominal_power`` kWp, south at 30°, pvlib forecast from ``weather.csv``);
* battery sized from ``schema.json`` (``electrical_storage``: capacity, nominal power, efficiency for charging
  and for discharging, band [1 − depth_of_discharge, 1]), 10 W standby;
* heat pump (1.5 kW electric, COP from the outdoor temperature) heating a tank sized from ``schema.json``
  (``dhw_storage.capacity`` kWh over the 10 K band 45–55 °C), draws = ``dhw_demand``;
* air conditioner sized from ``schema.json`` (``cooling_device.nominal_power`` kW electric) cooling one room
  (8 kWh/K, 200 W/K) against the gains implied by ``cooling_demand`` at the building's cooling set point,
  comfort band 23–26 °C; its 50 W indoor fan runs all the time (known to the CEM as committed load);
* per day an EV (58 kWh, 7.2 kW / 1.44 kW wallbox) home from 17–20 h to 06:30–09:00 the next morning, needing
  8–16 kWh of driving back to 85 %, and a washer (loaded 12–15 h, done 4–8 h later) and a dishwasher (loaded
  19–22 h, done by 07–09 h), each with its two programmes of :mod:`flexcem.devices.programmes`;
* base load = ``non_shiftable_load``; a 9.6 kW (40 A at 240 V) site import limit; feed-in at ``--export-share``
  of the import price (default 0.4).

**Controlled**: at 12:00 every day the day-ahead tariff of the next day arrives; the CEM plans from then to the
end of the next day (36 h; the first plan, at 00:00 on the 1st, covers the 1st) with the state of every device,
perfect forecasts of weather, draws, gains and base load (the data), and the plan's first 24 h (12 h for the
first) are executed on the physics models in 5-minute steps; then the next plan starts from the state reached.
**No control**: the same home, everything starts at once — the EV charges at full power on arrival, the
appliances start when loaded with their first programme, the battery stays idle, the heat pump and the air
conditioner follow their own thermostats (``HeatPumpModel.thermostat``, ``AirConditionerModel.thermostat``).

Both are metered alike: quarter-hour settlement of the net site energy at the hourly price (imports) and the
export price (exports). Reported per building and on average: cost ratio (controlled / no control), energy
imported and exported, peak quarter-hour import, energy above the import limit, tank and room violations (K·h
outside their bands, integrated every 5 minutes), solve times; and bounds that explain the ratio: the bill of each
home's energy if every kWh were bought at the month's lowest price (``time_shift_floor_ratio``: the best ratio any
shifting of the no-control energy could reach; ``controlled_over_its_floor``: how far the controlled bill is from
the lowest price for its own energy), with the cost in the peak hours and the inflexible part (base load, PV).

The tariff of the data set has two levels, 0.03025 USD/kWh and 0.06605 from 15:00 to 18:00 on weekdays only;
with no control about a quarter of the bill falls into those hours, so even moving every peak kWh to the low
price leaves a ratio of ~0.88 (``time_shift_floor_ratio``); below it only energy savings help.

The appliances and the EV come every day but the last (whose plan runs only to the end of the month), so every
job lies inside one rolling execution window.

Run: ``python benchmarks/planner_home_month.py [--data DIR] [--out benchmarks/results/planner_home_month.json]``
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from flexcem.data.citylearn import CityLearnData
from flexcem.devices import (
    DEFAULT_AIR_CONDITIONER,
    DEFAULT_HEAT_PUMP,
    DEFAULT_HEAT_PUMP_TANK,
    DEFAULT_ROOM,
    DISHWASHER_PROGRAMMES,
    WASHER_PROGRAMMES,
    AirConditionerModel,
    BaseLoad,
    BatteryModel,
    EvBattery,
    HeatPumpModel,
    HotWaterTank,
    PvGenerator,
    Room,
    pv_forecast_series,
    room_gains_w,
)
from flexcem.devices.air_conditioner import FAN_POWER_W
from flexcem.model import AcMode, FanSpeed, PowerSequence
from flexcem.model.home_parameters import BatteryParameters, HeatPumpParameters, PvParameters, TankParameters
from flexcem.model.tariff import PriceSlot
from flexcem.model.timeseries import PowerSlot
from flexcem.planner import ChargingSessionDevice, FlexibleStartDevice, Plan, PlanningProblem, SiteLimits, solve
from flexcem.planner.devices.air_conditioner import AirConditionerDevice
from flexcem.planner.devices.battery import BatteryDevice
from flexcem.planner.devices.heat_pump import HeatPumpDevice
from flexcem.planner.devices.pv import PvDevice
from flexcem.planner.devices.thermal_inputs import ComfortSlot, HeatSlot, RoomInput, TankInput, TemperatureSlot

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
SLOT = timedelta(minutes=15)
SUBSTEPS = 3
"""Physics steps per 15-minute slot (5 minutes each)."""
DEFAULT_DATA = Path("/work/shared/data/citylearn-2023-3-1")
GAP = 1e-3
TIME_LIMIT_S = 30.0
IMPORT_LIMIT_W = 9_600.0
COMFORT_C = (23.0, 26.0)
TARGET_RATIO = 0.85
HEAT_PUMP = HeatPumpParameters(power_max_w=1_500.0, carnot_efficiency=DEFAULT_HEAT_PUMP.carnot_efficiency)
EV_CAPACITY_WH, EV_TARGET_SOC = 58_000.0, 0.85
CHARGER_MAX_W, CHARGER_MIN_W = 7_200.0, 1_440.0
BATTERY_STANDBY_W = 10.0
AC_FAN = FanSpeed.AUTO
WASHER = WASHER_PROGRAMMES["cotton_40"]
DISHWASHER = DISHWASHER_PROGRAMMES["eco_50"]


# -- the homes -------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Spec:
    """One building's home: device sizes from schema.json."""

    name: str
    pv: PvParameters
    battery: BatteryParameters
    tank: TankParameters
    ac: HeatPumpParameters
    set_point_c: float

    def describe(self) -> dict[str, Any]:
        return {
            "pv_kwp": self.pv.nominal_power_w / 1000.0,
            "battery_kwh": self.battery.capacity_wh / 1000.0,
            "battery_kw": self.battery.charge_power_max_w / 1000.0,
            "battery_soc_band": [self.battery.soc_min, self.battery.soc_max],
            "battery_efficiency_each_way": self.battery.charge_efficiency,
            "tank_l": round(self.tank.volume_l, 1),
            "ac_kw": self.ac.power_max_w / 1000.0,
            "cooling_set_point_c": round(self.set_point_c, 2),
        }


def specs(directory: Path, buildings: list[int], first_hour: int, hours: int) -> list[Spec]:
    """The homes of ``buildings`` sized from the data set's schema.json."""
    schema = json.loads((directory / "schema.json").read_text())["buildings"]
    result = []
    for number in buildings:
        name = f"Building_{number}"
        b = schema[name]
        storage = b["electrical_storage"]["attributes"]
        band = DEFAULT_HEAT_PUMP_TANK.max_c - DEFAULT_HEAT_PUMP_TANK.min_c
        volume = b["dhw_storage"]["attributes"]["capacity"] / (4.186 / 3600.0 * band)
        set_points = CityLearnData.from_directory(directory, name).cooling_set_point_c[first_hour : first_hour + hours]
        result.append(
            Spec(
                name=name,
                pv=PvParameters(nominal_power_w=b["pv"]["attributes"]["nominal_power"] * 1000.0, curtailable=False),
                battery=BatteryParameters(
                    capacity_wh=storage["capacity"] * 1000.0,
                    soc_min=round(1.0 - storage["depth_of_discharge"], 6),
                    soc_max=1.0,
                    charge_power_max_w=storage["nominal_power"] * 1000.0,
                    discharge_power_max_w=storage["nominal_power"] * 1000.0,
                    charge_efficiency=storage["efficiency"],
                    discharge_efficiency=storage["efficiency"],
                    self_discharge_per_h=storage["loss_coefficient"],
                    standby_w=BATTERY_STANDBY_W,
                ),
                tank=DEFAULT_HEAT_PUMP_TANK.model_copy(update={"volume_l": volume}),
                ac=DEFAULT_AIR_CONDITIONER.model_copy(
                    update={"power_max_w": b["cooling_device"]["attributes"]["nominal_power"] * 1000.0}
                ),
                set_point_c=float(np.mean(set_points)),
            )
        )
    return result


@dataclass(frozen=True)
class Job:
    """An appliance run: when it is loaded, when it must be done, its programmes."""

    name: str
    earliest: datetime
    latest_end: datetime
    variants: tuple[PowerSequence, ...]


@dataclass(frozen=True)
class Session:
    """An EV at home: arrival, departure, state of charge on arrival and the energy to draw [Wh]."""

    name: str
    arrival: datetime
    departure: datetime
    soc: float

    @property
    def energy_wh(self) -> float:
        return EvBattery(EV_CAPACITY_WH, self.soc).ac_energy_to(EV_TARGET_SOC)


def day_jobs(noon: datetime, index: int, rng: random.Random) -> tuple[list[Job], Session]:
    """The day's appliance runs and EV session, all inside [noon, next noon)."""
    quarter = timedelta(minutes=15)
    washer_in = noon + quarter * rng.randrange(0, 13)  # 12:00–15:00
    dishes_in = noon + 7 * HOUR + quarter * rng.randrange(0, 13)  # 19:00–22:00
    jobs = [
        Job(f"washer_{index}", washer_in, washer_in + quarter * rng.randrange(16, 33), WASHER.variants),
        Job(f"dishwasher_{index}", dishes_in, noon + 19 * HOUR + quarter * rng.randrange(0, 9), DISHWASHER.variants),
    ]
    session = Session(
        name=f"ev_{index}",
        arrival=noon + 5 * HOUR + quarter * rng.randrange(0, 13),  # 17:00–20:00
        departure=noon + 18 * HOUR + 30 * timedelta(minutes=1) + quarter * rng.randrange(0, 11),  # 06:30–09:00
        soc=EV_TARGET_SOC - rng.uniform(8_000.0, 16_000.0) / EV_CAPACITY_WH,
    )
    return jobs, session


# -- the physics of one home -----------------------------------------------------------------------------------
@dataclass
class Meter:
    """Site power every physics step [W], and its price."""

    site_w: list[float] = field(default_factory=list)
    price: list[float] = field(default_factory=list)
    tank_kh: float = 0.0
    room_kh: float = 0.0
    ev_short_wh: float = 0.0

    def summary(self, export_share: float) -> dict[str, float]:
        steps = np.asarray(self.site_w).reshape(-1, SUBSTEPS)
        quarter = steps.mean(axis=1)
        price = np.asarray(self.price).reshape(-1, SUBSTEPS)[:, 0]
        kwh = quarter * SLOT.total_seconds() / 3600.0 / 1000.0
        imports, exports = np.maximum(kwh, 0.0), np.maximum(-kwh, 0.0)
        return {
            "cost_usd": float(np.sum(imports * price - exports * export_share * price)),
            "import_kwh": float(np.sum(imports)),
            "export_kwh": float(np.sum(exports)),
            "peak_import_kw": float(np.max(quarter) / 1000.0),
            "above_limit_kwh": float(np.sum(np.maximum(quarter - IMPORT_LIMIT_W, 0.0)) / 4.0 / 1000.0),
            "peak_hours_cost_usd": float(np.sum((imports * price)[price > np.min(price) + 1e-9])),
            "tank_violation_kh": self.tank_kh,
            "room_violation_kh": self.room_kh,
            "ev_shortfall_kwh": self.ev_short_wh / 1000.0,
        }


class Home:
    """The physics of one home over the month: battery, PV, heat pump + tank, air conditioner + room, base load."""

    def __init__(self, spec: Spec, data: CityLearnData, price: np.ndarray) -> None:
        self.spec, self.data, self.price_per_kwh = spec, data, price
        self.battery = BatteryModel(spec.battery, energy_wh=0.5 * spec.battery.capacity_wh)
        self.pv = PvGenerator(spec.pv, data)
        self.heat_pump = HeatPumpModel(HEAT_PUMP, HotWaterTank(spec.tank, 50.0))
        self.room_gains = room_gains_w(data, DEFAULT_ROOM, spec.set_point_c)
        self.ac = AirConditionerModel(spec.ac, Room(DEFAULT_ROOM, 25.0), mode=AcMode.COOL, fan=AC_FAN)
        self.base = BaseLoad(data)
        self.meter = Meter()
        self.cars: dict[str, tuple[EvBattery, float]] = {}  # session → (battery, energy drawn)

    def value(self, series: np.ndarray, instant: datetime) -> float:
        return self.data.value_at(series, instant)

    def step(
        self,
        instant: datetime,
        dt_h: float,
        *,
        battery_w: float | None,
        hot_water_w: float | None,
        ac_w: float | None,
        jobs: list[tuple[PowerSequence, datetime]],
        sessions: list[tuple[Session, float | None]],
    ) -> None:
        """One physics step; ``None`` powers mean the device's own control (idle battery, thermostats)."""
        d = self.data
        outdoor = self.value(d.outdoor_c, instant)
        draw = self.value(d.dhw_demand_w, instant)
        gains = self.value(self.room_gains, instant)
        site = self.base.advance(instant, dt_h)
        site -= self.pv.advance(instant, dt_h)[0]
        site += self.battery.step(0.0 if battery_w is None else battery_w, dt_h).site_power_w
        if hot_water_w is None:
            hot_water_w, _ = self.heat_pump.thermostat(outdoor, draw, 0.0, dt_h)
        site += self.heat_pump.step(hot_water_w, 0.0, outdoor_c=outdoor, draw_w=draw, gains_w=0.0, dt_h=dt_h).power_w
        if ac_w is None:
            ac_w = self.ac.thermostat(outdoor_c=outdoor, gains_w=gains, dt_h=dt_h, band=COMFORT_C)
        site += self.ac.step(ac_w, outdoor_c=outdoor, gains_w=gains, dt_h=dt_h)
        for sequence, start in jobs:
            site += _programme_power(sequence, instant - start, dt_h)
        for session, planned_w in sessions:
            site += self._charge(session, planned_w, instant, dt_h)
        tank_band = (self.spec.tank.min_c, self.spec.tank.max_c)
        self.meter.tank_kh += _outside(self.heat_pump.tank.temperature_c, tank_band) * dt_h
        self.meter.room_kh += _outside(self.ac.room.temperature_c, COMFORT_C) * dt_h
        self.meter.site_w.append(site)
        self.meter.price.append(self.value(self.price_per_kwh, instant))

    def _charge(self, session: Session, planned_w: float | None, instant: datetime, dt_h: float) -> float:
        """The car's power over the step: the plan's (or full power) within what the battery accepts."""
        car, drawn = self.cars.setdefault(session.name, (EvBattery(EV_CAPACITY_WH, session.soc), 0.0))
        if not session.arrival <= instant < session.departure:
            return 0.0
        accepts = car.accepts_w(CHARGER_MAX_W, CHARGER_MIN_W)
        power = min(CHARGER_MAX_W if planned_w is None else max(planned_w, 0.0), accepts)
        if power < CHARGER_MIN_W - 1.0:
            power = 0.0
        power = min(power, max(0.0, session.energy_wh - drawn) / dt_h)
        car.charge(power * dt_h)
        self.cars[session.name] = (car, drawn + power * dt_h)
        return power

    def settle_sessions(self, sessions: list[Session]) -> None:
        """Count what the cars that left lack."""
        for session in sessions:
            _, drawn = self.cars.get(session.name, (None, 0.0))
            self.meter.ev_short_wh += max(0.0, session.energy_wh - drawn)


def _programme_power(sequence: PowerSequence, elapsed: timedelta, dt_h: float) -> float:
    """Average power [W] of a programme over the step from ``elapsed`` after its start (phases need not fit steps)."""
    lo, hi = elapsed.total_seconds() / 3600.0, elapsed.total_seconds() / 3600.0 + dt_h
    energy, begin = 0.0, 0.0
    for phase in sequence.slots:
        end = begin + phase.duration.total_seconds() / 3600.0
        energy += phase.power_w * max(0.0, min(hi, end) - max(lo, begin))
        begin = end
    return sequence.sign * energy / dt_h


def _outside(value: float, band: tuple[float, float]) -> float:
    return max(0.0, band[0] - value, value - band[1])


# -- planning --------------------------------------------------------------------------------------------------
def _hourly(start: datetime, end: datetime, data: CityLearnData) -> list[tuple[datetime, int]]:
    first = data.index(start)
    return [(start + i * HOUR, first + i) for i in range(int((end - start) / HOUR))]


def make_problem(
    home: Home,
    tariff: CityLearnData,
    start: datetime,
    end: datetime,
    jobs: list[Job],
    sessions: list[Session],
    export_share: float,
) -> PlanningProblem:
    """The problem at ``start`` over the known tariff, from the home's present state."""
    spec, data = home.spec, home.data
    hours = _hourly(start, end, data)
    fan_w = FAN_POWER_W[AC_FAN]
    devices: list[Any] = [
        PvDevice.from_power_slots("pv", pv_forecast_series(spec.pv, data, start, end).slots, curtailable=False),
        BatteryDevice(
            device_id="battery",
            parameters=spec.battery,
            initial_energy_wh=min(max(home.battery.energy_wh, 0.0), spec.battery.capacity_wh),
        ),
        HeatPumpDevice(
            device_id="heat_pump",
            heat_pump=HEAT_PUMP,
            outdoor=tuple(
                TemperatureSlot(start=t, duration=HOUR, temperature_c=float(data.outdoor_c[h])) for t, h in hours
            ),
            tank=TankInput(
                parameters=spec.tank,
                initial_c=home.heat_pump.tank.temperature_c,
                draws=tuple(HeatSlot(start=t, duration=HOUR, heat_w=float(data.dhw_demand_w[h])) for t, h in hours),
            ),
        ),
        AirConditionerDevice(
            device_id="ac",
            unit=spec.ac,
            outdoor=tuple(
                TemperatureSlot(start=t, duration=HOUR, temperature_c=float(data.outdoor_c[h])) for t, h in hours
            ),
            room=RoomInput(
                parameters=DEFAULT_ROOM,
                initial_c=home.ac.room.temperature_c,
                comfort=(ComfortSlot(start=start, duration=end - start, lower_c=COMFORT_C[0], upper_c=COMFORT_C[1]),),
                gains=tuple(HeatSlot(start=t, duration=HOUR, heat_w=float(home.room_gains[h])) for t, h in hours),
            ),
            mode="cool",
        ),
    ]
    for job in jobs:
        devices.append(
            FlexibleStartDevice(
                device_id=job.name,
                earliest_start=job.earliest,
                latest_start=job.latest_end - job.variants[0].duration,
                latest_end=job.latest_end,
                alternatives=job.variants,
            )
        )
    for session in sessions:
        car = EvBattery(EV_CAPACITY_WH, session.soc)
        devices.append(
            ChargingSessionDevice(
                device_id=session.name,
                earliest_start=session.arrival,
                latest_end=session.departure,
                energy_wh=session.energy_wh,
                max_power_w=CHARGER_MAX_W,
                min_power_w=CHARGER_MIN_W,
                power_curve=car.power_curve(CHARGER_MAX_W, CHARGER_MIN_W),
            )
        )
    return PlanningProblem(
        start=start,
        end=end,
        slot_duration=SLOT,
        devices=tuple(devices),
        prices=tuple(
            PriceSlot(
                start=t,
                duration=HOUR,
                price_per_kwh=float(tariff.price_per_kwh[h]),
                co2_g_per_kwh=float(tariff.co2_g_per_kwh[h]),
            )
            for t, h in hours
        ),
        export_prices=tuple(
            PriceSlot(start=t, duration=HOUR, price_per_kwh=export_share * float(tariff.price_per_kwh[h]))
            for t, h in hours
        ),
        site=SiteLimits(
            import_limit_w=IMPORT_LIMIT_W,
            committed_load=tuple(
                PowerSlot(start=t, duration=HOUR, power_w=float(data.base_load_w[h]) + fan_w) for t, h in hours
            ),
        ),
        currency="USD",
    )


def _battery_setpoint(planned_w: float, standby_w: float) -> float:
    """The plan reports the standby as the site power of an idle battery; its set-point is then 0."""
    return 0.0 if abs(planned_w - standby_w) < 1e-6 else planned_w


# -- the month -------------------------------------------------------------------------------------------------
@dataclass
class Month:
    """The month's schedule of plans and the day's jobs."""

    start: datetime
    days: int
    seed: int
    plan_times: list[datetime] = field(init=False)
    jobs: dict[datetime, tuple[list[Job], Session | None]] = field(init=False)

    def __post_init__(self) -> None:
        rng = random.Random(self.seed)
        self.plan_times = [self.start] + [self.start + d * DAY + 12 * HOUR for d in range(self.days)]
        # Jobs on every day but the last: the last plan runs only to the end of the month (12 h).
        self.jobs = {noon: day_jobs(noon, i, rng) for i, noon in enumerate(self.plan_times[1:-1])}

    @property
    def end(self) -> datetime:
        return self.start + self.days * DAY

    def horizon_end(self, at: datetime) -> datetime:
        """End of the known tariff at ``at``: the end of the day, or of the next day from 12:00 on."""
        midnight = at.replace(hour=0, minute=0) + DAY
        return midnight + DAY if at.hour >= 12 else midnight

    def execute_until(self, index: int) -> datetime:
        return self.plan_times[index + 1] if index + 1 < len(self.plan_times) else self.end


def _steps(start: datetime, end: datetime) -> list[tuple[int, datetime]]:
    dt = SLOT / SUBSTEPS
    count = int((end - start) / dt)
    return [(i // SUBSTEPS, start + i * dt) for i in range(count)]


def run_controlled(
    spec: Spec, data: CityLearnData, tariff: CityLearnData, month: Month, export_share: float
) -> dict[str, Any]:
    """Daily plans executed on the physics; the meter's summary and the solver's figures."""
    home = Home(spec, data, tariff.price_per_kwh)
    solve_times: list[float] = []
    statuses: list[str] = []
    violations: list[str] = []
    deviation_w = 0.0
    dt_h = SLOT.total_seconds() / 3600.0 / SUBSTEPS
    for index, at in enumerate(month.plan_times):
        jobs, session = month.jobs.get(at, ([], None))
        sessions: list[Session] = [] if session is None else [session]
        problem = make_problem(home, tariff, at, month.horizon_end(at), jobs, sessions, export_share)
        t0 = time.perf_counter()
        plan = solve(problem, time_limit_s=TIME_LIMIT_S, mip_rel_gap=GAP)
        solve_times.append(time.perf_counter() - t0)
        statuses.append(plan.status.value)
        violations.extend(f"{at:%m-%d %H:%M} {v.constraint}: {v.amount:.2f} {v.unit}" for v in plan.violations)
        run = [(_sequence(plan, job), plan.device(job.name).start) for job in jobs]
        started = [(sequence, start) for sequence, start in run if start is not None]
        first = len(home.meter.site_w)
        for k, instant in _steps(at, month.execute_until(index)):
            home.step(
                instant,
                dt_h,
                battery_w=_battery_setpoint(plan.device("battery").power_w[k], spec.battery.standby_w),
                hot_water_w=plan.device("heat_pump").power_w[k],
                ac_w=plan.device("ac").power_w[k],
                jobs=started,
                sessions=[(s, plan.device(s.name).power_w[k]) for s in sessions],
            )
        executed = np.asarray(home.meter.site_w[first:]).reshape(-1, SUBSTEPS).mean(axis=1)
        deviation_w = max(deviation_w, float(np.max(np.abs(executed - np.asarray(plan.site_power_w[: executed.size])))))
        home.settle_sessions(sessions)
    summary: dict[str, Any] = dict(home.meter.summary(export_share))
    summary.update(
        {
            "plans": len(solve_times),
            "solve_s": {
                "median": statistics.median(solve_times),
                "p95": float(np.percentile(solve_times, 95)),
                "max": max(solve_times),
                "total": sum(solve_times),
            },
            "statuses": {s: statuses.count(s) for s in sorted(set(statuses))},
            "plan_violations": len(violations),
            "plan_violation_examples": violations[:5],
            "max_executed_vs_planned_site_w": deviation_w,
        }
    )
    return summary


def _sequence(plan: Plan, job: Job) -> PowerSequence:
    chosen = plan.device(job.name).sequence_id
    return next(v for v in job.variants if v.sequence_id == chosen)


def run_uncontrolled(
    spec: Spec, data: CityLearnData, tariff: CityLearnData, month: Month, export_share: float
) -> dict[str, Any]:
    """Everything at once: EV at full power on arrival, appliances when loaded, battery idle, thermostats."""
    home = Home(spec, data, tariff.price_per_kwh)
    dt_h = SLOT.total_seconds() / 3600.0 / SUBSTEPS
    for index, at in enumerate(month.plan_times):
        jobs, session = month.jobs.get(at, ([], None))
        sessions: list[Session] = [] if session is None else [session]
        started = [(job.variants[0], job.earliest) for job in jobs]
        for _, instant in _steps(at, month.execute_until(index)):
            home.step(
                instant,
                dt_h,
                battery_w=None,
                hot_water_w=None,
                ac_w=None,
                jobs=started,
                sessions=[(s, None) for s in sessions],
            )
        home.settle_sessions(sessions)
    return home.meter.summary(export_share)


def decomposition(
    spec: Spec, data: CityLearnData, tariff: CityLearnData, month: Month, share: float
) -> dict[str, float]:
    """Where the bill comes from: base load alone, base load with PV (both inflexible) [USD]."""
    first = data.index(month.start)
    hours = range(first, first + month.days * 24)
    pv = PvGenerator(spec.pv, data)
    base = data.base_load_w[hours]
    solar = np.array([pv.available_w(month.start + (h - first) * HOUR) for h in hours])
    price = tariff.price_per_kwh[hours]

    def bill(net_w: np.ndarray) -> float:
        kwh = net_w / 1000.0
        return float(np.sum(np.maximum(kwh, 0.0) * price - np.maximum(-kwh, 0.0) * share * price))

    return {
        "base_load_only_usd": bill(base),
        "base_load_with_pv_usd": bill(base - solar),
        "pv_kwh": float(np.sum(solar) / 1000.0),
        "base_load_kwh": float(np.sum(base) / 1000.0),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the CityLearn 2023 phase 3-1 directory")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/planner_home_month.json"))
    parser.add_argument("--buildings", type=int, nargs="+", default=[1, 2, 3, 4, 5, 6])
    parser.add_argument("--start", default="2021-07-01", help="first day (the data's clock, UTC−6)")
    parser.add_argument("--days", type=int, default=31)
    parser.add_argument("--export-share", type=float, default=0.4, help="feed-in price / import price")
    parser.add_argument("--seed", type=int, default=2021)
    args = parser.parse_args(argv)
    if not (args.data / "schema.json").exists():
        print(f"no CityLearn data set in {args.data} (schema.json missing)", file=sys.stderr)
        return 2
    first_day = datetime.fromisoformat(args.start)
    probe = CityLearnData.from_directory(args.data, "Building_1")
    start = probe.start.replace(year=first_day.year, month=first_day.month, day=first_day.day)
    month = Month(start=start, days=args.days, seed=args.seed)
    first_hour = probe.index(start)
    rows: list[dict[str, Any]] = []
    for spec in specs(args.data, args.buildings, first_hour, args.days * 24):
        data = CityLearnData.from_directory(args.data, spec.name)
        tariff = CityLearnData.from_directory(args.data, spec.name)
        t0 = time.perf_counter()
        controlled = run_controlled(spec, data, tariff, month, args.export_share)
        uncontrolled = run_uncontrolled(spec, data, tariff, month, args.export_share)
        low = float(np.min(tariff.price_per_kwh[first_hour : first_hour + args.days * 24]))

        def floor(result: dict[str, Any], low: float = low) -> float:
            return float(result["import_kwh"] * low - result["export_kwh"] * args.export_share * low)

        row = {
            "building": spec.name,
            "home": spec.describe(),
            "controlled": controlled,
            "no_control": uncontrolled,
            "cost_ratio": controlled["cost_usd"] / uncontrolled["cost_usd"],
            "inflexible": decomposition(spec, data, tariff, month, args.export_share),
            "bounds": {
                "lowest_price_usd_per_kwh": low,
                "controlled_energy_at_lowest_price_usd": floor(controlled),
                "no_control_energy_at_lowest_price_usd": floor(uncontrolled),
                "time_shift_floor_ratio": floor(uncontrolled) / uncontrolled["cost_usd"],
                "controlled_over_its_floor": controlled["cost_usd"] / floor(controlled),
            },
            "wall_s": time.perf_counter() - t0,
        }
        rows.append(row)
        _print_row(row)
    report = _report(rows, args, month)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    _print_table(report)
    print(f"written to {args.out}")
    return 0


def _average(rows: list[dict[str, Any]], get: Callable[[dict[str, Any]], float]) -> float:
    return float(statistics.mean(get(row) for row in rows))


def _mean_of(rows: list[dict[str, Any]], run: str, key: str) -> float:
    return float(statistics.mean(row[run][key] for row in rows))


def _report(rows: list[dict[str, Any]], args: argparse.Namespace, month: Month) -> dict[str, Any]:
    ratio = _average(rows, lambda r: r["cost_ratio"])
    total_ratio = sum(r["controlled"]["cost_usd"] for r in rows) / sum(r["no_control"]["cost_usd"] for r in rows)
    keys = (
        "cost_usd",
        "import_kwh",
        "export_kwh",
        "peak_import_kw",
        "above_limit_kwh",
        "tank_violation_kh",
        "room_violation_kh",
        "ev_shortfall_kwh",
    )
    return {
        "benchmark": "planner_home_month",
        "data": str(args.data),
        "period": f"{month.start.isoformat()} + {month.days} days",
        "export_share": args.export_share,
        "import_limit_w": IMPORT_LIMIT_W,
        "comfort_band_c": COMFORT_C,
        "slot": "PT15M; physics in 5-minute steps; quarter-hour settlement",
        "mip_rel_gap": GAP,
        "forecasts": "perfect (the data): weather, draws, gains, base load, PV",
        "buildings": rows,
        "average": {
            "cost_ratio": ratio,
            "cost_ratio_of_totals": total_ratio,
            "target": TARGET_RATIO,
            "met": ratio <= TARGET_RATIO,
            "controlled": {key: _mean_of(rows, "controlled", key) for key in keys},
            "no_control": {key: _mean_of(rows, "no_control", key) for key in keys},
            "time_shift_floor_ratio": _average(rows, lambda r: r["bounds"]["time_shift_floor_ratio"]),
            "controlled_over_its_floor": _average(rows, lambda r: r["bounds"]["controlled_over_its_floor"]),
            "solve_median_s": _average(rows, lambda r: r["controlled"]["solve_s"]["median"]),
            "solve_p95_s": _average(rows, lambda r: r["controlled"]["solve_s"]["p95"]),
            "solve_max_s": max(r["controlled"]["solve_s"]["max"] for r in rows),
        },
    }


def _print_row(row: dict[str, Any]) -> None:
    c, n = row["controlled"], row["no_control"]
    print(
        f"{row['building']}: ratio {row['cost_ratio']:.3f} ({c['cost_usd']:.2f} / {n['cost_usd']:.2f} USD), "
        f"solve median {c['solve_s']['median'] * 1000:.0f} ms, max {c['solve_s']['max'] * 1000:.0f} ms, "
        f"wall {row['wall_s']:.0f} s",
        flush=True,
    )


def _print_table(report: dict[str, Any]) -> None:
    head = (
        f"{'building':<11} {'ratio':>6} {'cost c/n USD':>15} {'import c/n kWh':>16} {'export c/n kWh':>15} "
        f"{'peak c/n kW':>12} {'>limit c/n kWh':>15} {'tank c/n K·h':>13} {'room c/n K·h':>13} {'solve med/max s':>16}"
    )
    print(head)
    print("-" * len(head))

    def line(name: str, ratio: float, c: dict[str, Any], n: dict[str, Any], med: float, top: float) -> None:
        print(
            f"{name:<11} {ratio:>6.3f} {c['cost_usd']:>7.2f}/{n['cost_usd']:<7.2f} "
            f"{c['import_kwh']:>7.0f}/{n['import_kwh']:<8.0f} {c['export_kwh']:>6.0f}/{n['export_kwh']:<8.0f} "
            f"{c['peak_import_kw']:>5.1f}/{n['peak_import_kw']:<6.1f} "
            f"{c['above_limit_kwh']:>6.1f}/{n['above_limit_kwh']:<8.1f} "
            f"{c['tank_violation_kh']:>5.1f}/{n['tank_violation_kh']:<7.1f} "
            f"{c['room_violation_kh']:>5.1f}/{n['room_violation_kh']:<7.1f} "
            f"{med:>7.2f}/{top:<8.2f}"
        )

    for row in report["buildings"]:
        c = row["controlled"]
        line(row["building"], row["cost_ratio"], c, row["no_control"], c["solve_s"]["median"], c["solve_s"]["max"])
    a = report["average"]
    line("average", a["cost_ratio"], a["controlled"], a["no_control"], a["solve_median_s"], a["solve_max_s"])
    verdict = "met" if a["met"] else "MISSED"
    print(f"target: average cost ratio ≤ {a['target']} — {verdict} ({a['cost_ratio']:.3f})")
    print(
        f"time-shift floor (no-control energy all at the lowest price / no-control cost): "
        f"{a['time_shift_floor_ratio']:.3f}; controlled cost / its energy at the lowest price: "
        f"{a['controlled_over_its_floor']:.3f}"
    )


if __name__ == "__main__":
    raise SystemExit(main())
