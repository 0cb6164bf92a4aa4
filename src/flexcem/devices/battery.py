"""A stationary storage battery stepped with the exact equation of docs/home-physics.md (JWG112x, JWG1131).

    E[k+1] = decay·E[k] + gain·(η_c·Pc − Pd/η_d),   decay = e^{−σΔt},  gain = (1 − e^{−σΔt})/σ   [Wh, W, h]

Power at the AC connection is signed: positive charges, negative discharges. A request beyond the power
limits is cut to them; one that would leave the state-of-charge band is cut so that the step ends exactly on
the band's edge. The system's own consumption ``standby_w`` (BMS, inverter control) is drawn from the site
at all times: site power = AC power + ``standby_w``. The DC side is reported with a linear open-circuit
voltage model, V = V_nom·(0.94 + 0.12·soc), and current I = P_dc/V (positive charging).
"""

from __future__ import annotations

from dataclasses import dataclass

from flexcem.model.home_parameters import BatteryParameters
from flexcem.physics import battery_step_coefficients

__all__ = ["DEFAULT_BATTERY", "BatteryModel", "BatteryStep"]

DEFAULT_BATTERY = BatteryParameters(
    capacity_wh=10_000.0,
    charge_power_max_w=5_000.0,
    discharge_power_max_w=5_000.0,
    charge_efficiency=0.96,
    discharge_efficiency=0.96,
    standby_w=10.0,
    nominal_voltage_v=51.2,
)
"""A 10 kWh, 5 kW home battery on a 51.2 V (16-cell LFP) DC bus."""


@dataclass(frozen=True)
class BatteryStep:
    """What one step did: AC power [W, + charging], DC power into the cells [W], site power incl. standby [W]."""

    power_w: float
    dc_power_w: float
    site_power_w: float


@dataclass
class BatteryModel:
    """The battery's state: stored energy [Wh] and its meters (cumulative AC energy in and out [Wh])."""

    parameters: BatteryParameters
    energy_wh: float
    charged_wh: float = 0.0
    discharged_wh: float = 0.0
    power_w: float = 0.0
    dc_power_w: float = 0.0

    def __post_init__(self) -> None:
        p = self.parameters
        if not 0.0 <= self.energy_wh <= p.capacity_wh:
            raise ValueError(f"energy_wh {self.energy_wh} is outside [0, {p.capacity_wh}]")

    @property
    def soc(self) -> float:
        """State of charge (0–1 of the capacity)."""
        return self.energy_wh / self.parameters.capacity_wh

    @property
    def voltage_v(self) -> float:
        """DC voltage [V] from the linear open-circuit model."""
        return self.parameters.nominal_voltage_v * (0.94 + 0.12 * self.soc)

    @property
    def current_a(self) -> float:
        """DC current [A], positive charging."""
        return self.dc_power_w / self.voltage_v

    @property
    def remaining_wh(self) -> float:
        """Energy that can still be discharged to the lower edge of the band, at the cells [Wh]."""
        return max(0.0, self.energy_wh - self.parameters.soc_min * self.parameters.capacity_wh)

    def feasible_power_w(self, power_w: float, dt_h: float) -> float:
        """``power_w`` cut to the power limits and to what keeps the state of charge in its band for ``dt_h``."""
        p = self.parameters
        power = min(max(power_w, -p.discharge_power_max_w), p.charge_power_max_w)
        k = battery_step_coefficients(p.self_discharge_per_h, dt_h)
        drift = k.decay * self.energy_wh
        if power > 0.0:
            room = max(0.0, p.soc_max * p.capacity_wh - drift)
            return min(power, room / (k.gain * p.charge_efficiency))
        if power < 0.0:
            available = max(0.0, drift - p.soc_min * p.capacity_wh)
            return max(power, -available * p.discharge_efficiency / k.gain)
        return 0.0

    def step(self, power_w: float, dt_h: float) -> BatteryStep:
        """Hold ``power_w`` (AC, + charging) for ``dt_h`` hours, as far as the battery allows; what it did."""
        p = self.parameters
        power = self.feasible_power_w(power_w, dt_h)
        charge, discharge = max(power, 0.0), max(-power, 0.0)
        dc = charge * p.charge_efficiency - discharge / p.discharge_efficiency
        k = battery_step_coefficients(p.self_discharge_per_h, dt_h)
        self.energy_wh = min(max(k.decay * self.energy_wh + k.gain * dc, 0.0), p.capacity_wh)
        self.charged_wh += charge * dt_h
        self.discharged_wh += discharge * dt_h
        self.power_w, self.dc_power_w = power, dc
        site = power + p.standby_w
        return BatteryStep(power_w=power, dc_power_w=dc, site_power_w=site)
