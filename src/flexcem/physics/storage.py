"""Battery and hot-water tank steps, and the status quantities derived from their state (docs/home-physics.md)."""

from __future__ import annotations

from flexcem.physics.exact_step import StepCoefficients, step_coefficients

__all__ = ["battery_step_coefficients", "hot_water_remaining_l", "tank_step_coefficients"]


def battery_step_coefficients(self_discharge_per_h: float, dt_h: float) -> StepCoefficients:
    """E[k+1] = decay·E[k] + gain·(η_c·Pc − Pd/η_d), E in Wh, powers in W, gain in h."""
    return step_coefficients(self_discharge_per_h, dt_h)


def tank_step_coefficients(heat_capacity_kwh_per_k: float, loss_w_per_k: float, dt_h: float) -> StepCoefficients:
    """Tank temperature step: T[k+1] = decay·T[k] + gain·(Q_net_kW/C + λ·T_amb), λ = UA/(1000·C) [1/h].

    With ``b = (Q_in − Q_draw)/C + λ·T_amb`` [K/h] this is the exact step of C·dT/dt = Q − UA·(T − T_amb).
    The same coefficients serve a room (C_room, UA_room, T_out in place of T_amb).
    """
    if heat_capacity_kwh_per_k <= 0.0:
        raise ValueError(f"heat capacity must be > 0 kWh/K, got {heat_capacity_kwh_per_k}")
    return step_coefficients(loss_w_per_k / 1000.0 / heat_capacity_kwh_per_k, dt_h)


def hot_water_remaining_l(temperature_c: float, volume_l: float, cold_c: float, min_c: float, max_c: float) -> float:
    """Litres of water at ``min_c`` the tank's heat above ``cold_c`` could make (0 when colder than cold water)."""
    t = min(max(temperature_c, cold_c), max_c)
    return volume_l * (t - cold_c) / (min_c - cold_c)
