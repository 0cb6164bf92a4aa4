"""Coefficient of performance of an air-source heat pump from the outdoor temperature (docs/home-physics.md)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["carnot_cop", "carnot_cop_at", "cooling_eer", "cooling_eer_at"]

_KELVIN = 273.15
_MIN_LIFT_K = 5.0


def carnot_cop(
    outdoor_c: npt.ArrayLike, supply_c: float, carnot_efficiency: float, cop_max: float
) -> npt.NDArray[np.float64]:
    """Heating COP per value of outdoor temperature [°C] for a supply temperature [°C]: heat out / electricity in."""
    lift = np.maximum(supply_c - np.asarray(outdoor_c, dtype=np.float64), _MIN_LIFT_K)
    return np.asarray(np.clip(carnot_efficiency * (supply_c + _KELVIN) / lift, 1.0, cop_max), dtype=np.float64)


def cooling_eer(
    outdoor_c: npt.ArrayLike, evaporator_c: float, carnot_efficiency: float, eer_max: float
) -> npt.NDArray[np.float64]:
    """Cooling EER per outdoor temperature [°C] for an evaporator temperature [°C]: heat removed / electricity."""
    lift = np.maximum(np.asarray(outdoor_c, dtype=np.float64) - evaporator_c, _MIN_LIFT_K)
    return np.asarray(np.clip(carnot_efficiency * (evaporator_c + _KELVIN) / lift, 1.0, eer_max), dtype=np.float64)


def carnot_cop_at(outdoor_c: float, supply_c: float, carnot_efficiency: float, cop_max: float) -> float:
    """:func:`carnot_cop` for one outdoor temperature [°C], in plain floats (a device agent asks every step;
    numpy's per-call overhead is then most of the cost)."""
    lift = max(supply_c - outdoor_c, _MIN_LIFT_K)
    return min(max(carnot_efficiency * (supply_c + _KELVIN) / lift, 1.0), cop_max)


def cooling_eer_at(outdoor_c: float, evaporator_c: float, carnot_efficiency: float, eer_max: float) -> float:
    """:func:`cooling_eer` for one outdoor temperature [°C], in plain floats."""
    lift = max(outdoor_c - evaporator_c, _MIN_LIFT_K)
    return min(max(carnot_efficiency * (evaporator_c + _KELVIN) / lift, 1.0), eer_max)
