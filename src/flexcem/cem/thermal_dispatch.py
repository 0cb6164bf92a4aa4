"""Hot-water tanks for a load increase (JWG2121 "increase the load"; uc-market §2; story JWG14's allowed devices).

After the batteries (:mod:`flexcem.cem.storage_dispatch`), the tanks the user allows for load management take what
is left of the increase asked: each heater gets power set points for the window on top of what the plan had for
it (its baseline), slot by slot, up to its rated electric power and only as long as its tank has room:

    room [Wh thermal] = C [kWh/K] · 1000 · (T_top − T_now)        electric [Wh] = thermal / COP

``T_top`` is the tank's ``max_c`` (for a water heater at most its set point, from its last status), ``T_now`` its
last reported temperature; the COP is 1 for an element and the hot-water COP of the heat pump at the forecast
outdoor temperature of the window. Draws and losses, which free more room, are not counted: the expected change
errs low. A full tank takes 0.

Order: electric water heaters first, then heat pumps. An element turns the extra load into heat one to one and
stops at its set point, so its part is exactly what its tank can take; a heat pump's part is smaller per kelvin
of headroom (÷ COP) and depends on the outdoor temperature, so it makes up the rest.

:func:`thermal_setpoints` is the pure part; the set points go out as :class:`~flexcem.model.PowerSetpointSchedule`
(the heat pump's on its ``hot_water`` circuit) at the window's start, and the heaters are held out of the plans
until the event lets go (the same path as the batteries').
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from flexcem.cem.forecasts import ConstantForecasts
from flexcem.model import HeaterKind, HeatPumpStatus, ThermalStorageDescription, WaterHeaterStatus
from flexcem.physics import carnot_cop_at

if TYPE_CHECKING:
    from flexcem.cem.load_management import LoadEvent
    from flexcem.cem.manager import CustomerEnergyManager

__all__ = ["TankState", "tank_states", "thermal_setpoints"]


@dataclass(frozen=True)
class TankState:
    """A heater and its tank as the CEM knows them, for a load increase."""

    device_id: str
    heater: HeaterKind
    power_max_w: float
    """Rated electric power [W]."""
    cop: float
    """Heat into the tank per electric energy (1 for an element) [-]."""
    room_wh: float
    """Heat the tank can still take up to its top temperature [Wh thermal]."""
    baseline_w: tuple[float, ...]
    """Planned electric power per slot [W]."""


def thermal_setpoints(tanks: list[TankState], amounts_w: list[float], slot: timedelta) -> dict[str, list[float]]:
    """Electric set points [W] per heater and slot adding ``amounts_w[k]`` to the heaters' baselines in slot ``k``,
    heaters in the given order, each within its rated power and what its tank can still take after the heat its
    baseline puts in over all the slots."""
    hours = slot.total_seconds() / 3600.0
    setpoints: dict[str, list[float]] = {t.device_id: [] for t in tanks}

    def base_w(tank: TankState, k: int) -> float:
        return max(tank.baseline_w[k] if k < len(tank.baseline_w) else 0.0, 0.0)

    # the heat the plan puts in over the whole window is kept for it: the extra comes on top of all of it
    room = {
        t.device_id: max(0.0, t.room_wh - sum(base_w(t, k) for k in range(len(amounts_w))) * t.cop * hours)
        for t in tanks
    }
    for k, amount in enumerate(amounts_w):
        remaining = max(amount, 0.0)
        for tank in tanks:
            base = base_w(tank, k)
            extra = min(remaining, max(0.0, tank.power_max_w - base), room[tank.device_id] / (tank.cop * hours))
            remaining -= extra
            room[tank.device_id] = max(0.0, room[tank.device_id] - extra * tank.cop * hours)
            setpoints[tank.device_id].append(base + extra)
    return setpoints


def tank_states(
    cem: CustomerEnergyManager, event: LoadEvent, baselines: dict[str, tuple[float, ...]]
) -> list[TankState]:
    """The allowed heat pumps and water heaters of ``event`` (water heaters first), from their descriptions and
    newer statuses; ``baselines`` gives each one's planned power over the window and ramp-down [W]."""
    request = event.request
    forecasts = cem.home.forecasts or ConstantForecasts(cem.settings.home)
    outdoor = forecasts.outdoor_temperature(request.start, request.end)
    span = sum((s.duration.total_seconds() for s in outdoor), 0.0)
    outdoor_c = sum(s.temperature_c * s.duration.total_seconds() for s in outdoor) / span if span > 0 else 15.0
    states = []
    for device_id in event.devices:
        description = cem.home.book.get(device_id)
        if not isinstance(description, ThermalStorageDescription) or description.heater is HeaterKind.FUEL_CELL:
            continue
        tank = description.tank
        temperature, top = description.temperature_c, tank.max_c
        status = cem.grid_side.status.latest.get(device_id)
        if isinstance(status, HeatPumpStatus | WaterHeaterStatus) and status.at >= description.at:
            temperature = status.hot_water_c
        if isinstance(status, WaterHeaterStatus):
            top = min(top, status.set_point_c)
        cop = 1.0
        if description.heater is HeaterKind.HEAT_PUMP and description.heat_pump is not None:
            p = description.heat_pump
            cop = carnot_cop_at(outdoor_c, p.supply_hot_water_c, p.carnot_efficiency, p.cop_max)
        room_wh = max(0.0, tank.heat_capacity_kwh_per_k * 1000.0 * (top - temperature))
        baseline = baselines.get(device_id, ())
        states.append(TankState(device_id, description.heater, description.heater_power_max_w, cop, room_wh, baseline))
    return sorted(states, key=lambda s: s.heater is HeaterKind.HEAT_PUMP)
