"""One thermal zone (1R1C) stepped with the exact equation of docs/home-physics.md (heat pump, air conditioner).

    C_room·dT_in/dt = (Q_heat − Q_cool + Q_gain)/1000 + UA_room·(T_out − T_in)/1000      C [kWh/K], Q [W], UA [W/K]

The gains Q_gain (people, appliances, sun) come from the data: CityLearn's ``cooling_demand`` is the heat a
building's cooling removed to hold its set point, so at that balance Q_gain = Q_cool − UA·(T_out − T_set);
:func:`room_gains_w` gives it per hour (never negative).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flexcem.data.citylearn import CityLearnData, FloatArray
from flexcem.model.home_parameters import RoomParameters
from flexcem.physics import tank_step_coefficients

__all__ = ["DATA_COOLING_SET_POINT_C", "DEFAULT_ROOM", "Room", "most_power_in_band", "room_gains_w"]

DEFAULT_ROOM = RoomParameters(heat_capacity_kwh_per_k=8.0, loss_w_per_k=200.0)
"""A single-family house of ~180 m²: 8 kWh/K of air, walls and furniture, UA 200 W/K."""

DATA_COOLING_SET_POINT_C = 24.1
"""Mean cooling set point of the data's Building 1 [°C] (``indoor_dry_bulb_temperature_cooling_set_point``)."""


def room_gains_w(
    data: CityLearnData, room: RoomParameters, set_point_c: float = DATA_COOLING_SET_POINT_C
) -> FloatArray:
    """Hourly internal and solar gains [W] implied by the data's cooling demand for this room."""
    gains = data.cooling_demand_w - room.loss_w_per_k * (data.outdoor_c - set_point_c)
    return np.clip(gains, 0.0, None)


@dataclass
class Room:
    """The zone's state: indoor air temperature [°C]."""

    parameters: RoomParameters
    temperature_c: float

    def _forcing(self, net_heat_w: float, outdoor_c: float) -> float:
        p = self.parameters
        rate = p.loss_w_per_k / 1000.0 / p.heat_capacity_kwh_per_k
        return net_heat_w / 1000.0 / p.heat_capacity_kwh_per_k + rate * outdoor_c

    def next_temperature_c(self, net_heat_w: float, outdoor_c: float, dt_h: float) -> float:
        """Temperature after ``dt_h`` hours with net heat (heating − cooling + gains) [W] and outdoor [°C] held."""
        p = self.parameters
        k = tank_step_coefficients(p.heat_capacity_kwh_per_k, p.loss_w_per_k, dt_h)
        return k.decay * self.temperature_c + k.gain * self._forcing(net_heat_w, outdoor_c)

    def heat_to_reach_w(self, target_c: float, gains_w: float, outdoor_c: float, dt_h: float) -> float:
        """Heating [W, negative: cooling] held over the step that ends it at ``target_c``, given the gains."""
        p = self.parameters
        k = tank_step_coefficients(p.heat_capacity_kwh_per_k, p.loss_w_per_k, dt_h)
        rate = p.loss_w_per_k / 1000.0 / p.heat_capacity_kwh_per_k
        forcing = (target_c - k.decay * self.temperature_c) / k.gain
        return (forcing - rate * outdoor_c) * p.heat_capacity_kwh_per_k * 1000.0 - gains_w

    def step(self, net_heat_w: float, outdoor_c: float, dt_h: float) -> None:
        """Advance ``dt_h`` hours."""
        self.temperature_c = self.next_temperature_c(net_heat_w, outdoor_c, dt_h)


@dataclass(frozen=True)
class ZonePower:
    """Electric power [W] a heat pump spends on a zone and the heat [W] it moves (+ heating, − cooling)."""

    electric_w: float
    heat_w: float


def power_to_band(
    room: Room,
    band: tuple[float, float],
    *,
    gains_w: float,
    outdoor_c: float,
    dt_h: float,
    cop: float,
    eer: float,
    power_max_w: float,
    heat: bool,
    cool: bool,
) -> ZonePower:
    """The least heating or cooling that ends the step inside ``band`` (low, high) [°C], within ``power_max_w``."""
    low, high = band
    drift = room.next_temperature_c(gains_w, outdoor_c, dt_h)
    if heat and drift < low:
        electric = min(power_max_w, max(0.0, room.heat_to_reach_w(low, gains_w, outdoor_c, dt_h)) / cop)
        return ZonePower(electric_w=electric, heat_w=electric * cop)
    if cool and drift > high:
        electric = min(power_max_w, max(0.0, -room.heat_to_reach_w(high, gains_w, outdoor_c, dt_h)) / eer)
        return ZonePower(electric_w=electric, heat_w=-electric * eer)
    return ZonePower(electric_w=0.0, heat_w=0.0)


def most_power_in_band(
    room: Room,
    band: tuple[float, float],
    *,
    gains_w: float,
    outdoor_c: float,
    dt_h: float,
    efficiency: float,
    heating: bool,
) -> float:
    """The most electric power [W] that, held over the step, does not carry the room past the band's far edge:
    heating ends it at ``high`` [°C] at most, cooling at ``low`` at least (``band`` = (low, high)). ``efficiency``
    is the heating COP or the cooling EER. 0 when the room ends beyond that edge on its own: then the least
    change to a plan that would carry it further is to stop."""
    low, high = band
    heat_w = room.heat_to_reach_w(high if heating else low, gains_w, outdoor_c, dt_h)
    return max(0.0, heat_w if heating else -heat_w) / efficiency
