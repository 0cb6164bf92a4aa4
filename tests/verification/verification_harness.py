"""Plan, then execute the plan on the device physics and meter the site: the shared part of tests/verification.

Inputs are the embedded real data only (CityLearn 2023 phase 3, Building 1, MIT licence): the hourly
two-level tariff [USD/kWh] and CO2 of :class:`~flexcem.data.CityLearnData`, and the weather, base
load, hot-water draws and cooling demand of :class:`~flexcem.data.CityLearnData`; both start at the
same hour (row *i* = hour *i*), so every series is taken by row from ``CityLearnData.start``.

Execution steps each 15-minute planning slot in ``SUBSTEPS`` one-minute steps on the physics models
(:mod:`flexcem.devices`), with each device's planned power held over the slot, and meters the site at every
step: base load (the physics :class:`~flexcem.devices.BaseLoad`) plus every device. The bill is settled per
planning slot (a quarter-hour interval meter: imports and exports of the slot's net energy), at the data's
prices and an export price of ``EXPORT_SHARE`` of the import price — computed here from the data, not taken
from the plan. The per-minute (instantaneous) bill is metered too: within a slot the net power changes sign
only when an appliance phase ends inside it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache

import numpy as np
import numpy.typing as npt
import pytest

from flexcem.data.citylearn import CityLearnData
from flexcem.devices import BaseLoad
from flexcem.devices.room import room_gains_w
from flexcem.model.home_parameters import RoomParameters
from flexcem.model.tariff import PriceSlot
from flexcem.model.timeseries import PowerSlot
from flexcem.planner import Plan, PlanningProblem, SiteLimits, solve
from flexcem.planner.devices.thermal_inputs import HeatSlot, TemperatureSlot

FloatArray = npt.NDArray[np.float64]

HOUR = timedelta(hours=1)
SLOT = timedelta(minutes=15)
SUBSTEPS = 15
"""Physics steps per planning slot (one minute each)."""
EXPORT_SHARE = 0.4
"""Feed-in remuneration as a share of the import price."""
STATE_TOLERANCE = {"Wh": 1e-3, "°C": 1e-6}
"""Largest difference allowed between the executed and the planned state trajectory, per unit."""
COST_TOLERANCE = 1e-6
"""Largest difference allowed between the plan's cost and the metered cost [USD]."""


@cache
def home_data() -> CityLearnData:
    """Weather and Building 1's demands (embedded)."""
    return CityLearnData.embedded()


@cache
def tariff() -> CityLearnData:
    """Prices and CO2 of the data set (embedded)."""
    return CityLearnData.embedded()


def at(day: int, hour: int = 0) -> datetime:
    """``hour`` o'clock of day ``day`` of the data (0 = 1 June 2021, data clock UTC−6)."""
    return home_data().start + timedelta(days=day, hours=hour)


def row(instant: datetime) -> int:
    """The data row (hour) of ``instant``."""
    return home_data().index(instant)


def price_at(instant: datetime) -> float:
    """Import price [USD/kWh] of the hour of ``instant``."""
    return float(tariff().price_per_kwh[row(instant)])


def _hours(start: datetime, hours: int) -> list[tuple[datetime, int]]:
    first = row(start)
    return [(start + i * HOUR, first + i) for i in range(hours)]


def prices(start: datetime, hours: int) -> tuple[PriceSlot, ...]:
    """Hourly import prices [USD/kWh] and CO2 [g/kWh]."""
    t = tariff()
    return tuple(
        PriceSlot(
            start=s, duration=HOUR, price_per_kwh=float(t.price_per_kwh[h]), co2_g_per_kwh=float(t.co2_g_per_kwh[h])
        )
        for s, h in _hours(start, hours)
    )


def export_prices(start: datetime, hours: int) -> tuple[PriceSlot, ...]:
    """Hourly feed-in remuneration: ``EXPORT_SHARE`` of the import price."""
    t = tariff()
    return tuple(
        PriceSlot(start=s, duration=HOUR, price_per_kwh=EXPORT_SHARE * float(t.price_per_kwh[h]))
        for s, h in _hours(start, hours)
    )


def base_load(start: datetime, hours: int) -> tuple[PowerSlot, ...]:
    """The building's non-shiftable load [W]: the committed load."""
    load = home_data().base_load_w
    return tuple(PowerSlot(start=s, duration=HOUR, power_w=float(load[h])) for s, h in _hours(start, hours))


def outdoor(start: datetime, hours: int) -> tuple[TemperatureSlot, ...]:
    """Hourly outdoor temperature [°C]."""
    values = home_data().outdoor_c
    return tuple(
        TemperatureSlot(start=s, duration=HOUR, temperature_c=float(values[h])) for s, h in _hours(start, hours)
    )


def draws(start: datetime, hours: int) -> tuple[HeatSlot, ...]:
    """Hourly hot-water draws [W thermal] (``dhw_demand``)."""
    values = home_data().dhw_demand_w
    return tuple(HeatSlot(start=s, duration=HOUR, heat_w=float(values[h])) for s, h in _hours(start, hours))


def gains(start: datetime, hours: int, room: RoomParameters) -> tuple[HeatSlot, ...]:
    """Hourly internal and solar gains [W] implied by the cooling demand (:func:`room_gains_w`)."""
    values = room_gains_w(home_data(), room)
    return tuple(HeatSlot(start=s, duration=HOUR, heat_w=float(values[h])) for s, h in _hours(start, hours))


def problem(
    start: datetime,
    hours: int,
    devices: list[object],
    *,
    import_limit_w: float | None = None,
    export_limit_w: float | None = None,
) -> PlanningProblem:
    """A problem over ``hours`` from ``start`` in 15-minute slots, with the base load committed."""
    return PlanningProblem.model_validate(
        {
            "start": start,
            "end": start + hours * HOUR,
            "slot_duration": SLOT,
            "devices": devices,
            "prices": prices(start, hours),
            "export_prices": export_prices(start, hours),
            "site": SiteLimits(
                import_limit_w=import_limit_w, export_limit_w=export_limit_w, committed_load=base_load(start, hours)
            ),
            "currency": "USD",
        }
    )


def plan_for(problem_: PlanningProblem) -> Plan:
    """The plan, solved to a tight gap (the checks compare it with physics, not with an optimum)."""
    plan = solve(problem_, time_limit_s=60.0, mip_rel_gap=1e-6)
    assert plan.status.value in {"optimal", "feasible"}, plan.solves
    return plan


StepFunction = Callable[[int, datetime, float], float]
"""Steps every device over one physics step: (slot index, instant, Δt [h]) → the devices' site power [W]."""


@dataclass
class Execution:
    """What the meter saw: per physics step the site power [W]; per slot the energy and the bill."""

    start: datetime
    slot_count: int
    site_w: FloatArray = field(init=False)
    base_w: FloatArray = field(init=False)
    price: FloatArray = field(init=False)

    def __post_init__(self) -> None:
        n = self.slot_count * SUBSTEPS
        self.site_w = np.zeros(n)
        self.base_w = np.zeros(n)
        self.price = np.zeros(n)

    @property
    def dt_h(self) -> float:
        """Length of a physics step [h]."""
        return SLOT.total_seconds() / 3600.0 / SUBSTEPS

    def slot_site_w(self) -> FloatArray:
        """Average site power per planning slot [W]."""
        result: FloatArray = self.site_w.reshape(self.slot_count, SUBSTEPS).mean(axis=1)
        return result

    def settled_cost(self) -> float:
        """Bill with quarter-hour settlement [USD]: the net energy of each slot at its import or export price."""
        energy_kwh = self.slot_site_w() * SLOT.total_seconds() / 3600.0 / 1000.0
        price = self.price.reshape(self.slot_count, SUBSTEPS)[:, 0]
        return float(np.sum(np.maximum(energy_kwh, 0.0) * price - np.maximum(-energy_kwh, 0.0) * EXPORT_SHARE * price))

    def instantaneous_cost(self) -> float:
        """Bill with every minute metered on its own [USD] (imports and exports never netted)."""
        energy_kwh = self.site_w * self.dt_h / 1000.0
        return float(
            np.sum(np.maximum(energy_kwh, 0.0) * self.price - np.maximum(-energy_kwh, 0.0) * EXPORT_SHARE * self.price)
        )

    def imported_kwh(self) -> float:
        """Energy imported (quarter-hour settlement) [kWh]."""
        return float(np.sum(np.maximum(self.slot_site_w(), 0.0)) * SLOT.total_seconds() / 3600.0 / 1000.0)


def execute(plan: Plan, step: StepFunction) -> Execution:
    """Run the physics slot by slot and minute by minute; the base load is the physics' own."""
    load = BaseLoad(home_data())
    result = Execution(plan.start, plan.slot_count)
    dt = SLOT / SUBSTEPS
    dt_h = result.dt_h
    for k in range(plan.slot_count):
        for j in range(SUBSTEPS):
            i = k * SUBSTEPS + j
            instant = plan.start + k * SLOT + j * dt
            result.base_w[i] = load.advance(instant, dt_h)
            result.site_w[i] = result.base_w[i] + step(k, instant, dt_h)
            result.price[i] = price_at(instant)
    return result


def assert_trajectory(planned: tuple[float, ...] | None, executed: list[float], unit: str, what: str) -> None:
    """The executed state at the slot boundaries equals the plan's within ``STATE_TOLERANCE``."""
    assert planned is not None, f"the plan has no {what} trajectory"
    difference = np.abs(np.asarray(executed) - np.asarray(planned))
    worst = int(np.argmax(difference))
    assert difference[worst] <= STATE_TOLERANCE[unit], (
        f"{what}: executed {executed[worst]:.6f} {unit} at boundary {worst}, planned {planned[worst]:.6f} {unit}"
    )


def assert_cost(plan: Plan, execution: Execution, extra_planned: float = 0.0, extra_metered: float = 0.0) -> None:
    """The plan's cost (+ its fuel) equals the metered bill (+ the metered fuel); the site power matches too."""
    site = execution.slot_site_w()
    assert np.max(np.abs(site - np.asarray(plan.site_power_w))) < 1e-3, "site power differs from the plan"
    planned = plan.total_cost + extra_planned
    metered = execution.settled_cost() + extra_metered
    assert metered == pytest.approx(planned, abs=COST_TOLERANCE), f"metered {metered:.8f} USD, planned {planned:.8f}"


def assert_site_limits(
    execution: Execution, import_limit_w: float | None, export_limit_w: float | None, *, per_minute: bool = True
) -> None:
    """No minute (``per_minute``) or no quarter-hour average of the executed site power exceeds the limits."""
    site = execution.site_w if per_minute else execution.slot_site_w()
    if import_limit_w is not None:
        worst = int(np.argmax(site))
        assert site[worst] <= import_limit_w + 1e-6, f"imports {site[worst]:.1f} W at step {worst}"
    if export_limit_w is not None:
        worst = int(np.argmin(site))
        assert site[worst] >= -export_limit_w - 1e-6, f"exports {-site[worst]:.1f} W at step {worst}"


def slot_value(plan_power: tuple[float, ...], k: int) -> float:
    """A planned power of slot ``k`` [W]."""
    return float(plan_power[k])
