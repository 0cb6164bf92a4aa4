"""An inverter's reactive power under the grid's VAR mode and voltage support (TR Table 1, WGSP2121).

Sign: reactive power [var] is positive when the inverter supplies it (over-excited) and negative when it absorbs
it (under-excited), as in :class:`~flexcem.model.VarModeInformation`. The inverter's rating ``apparent_max_va``
[VA] bounds it: |Q| ≤ √(S² − P²) at active power P [W].

* **VAR mode** in force (``valid_from`` ≤ now < ``valid_until``): ``off`` → 0; ``fixed_power_factor`` →
  |Q| = |P| · tan(acos pf), absorbed or supplied as the mode says; ``fixed_reactive_power`` → the given Q.
  ``volt_var`` needs the voltage at the terminals, which this inverter does not measure: refused.
* **Voltage support** in its window takes precedence: the inverter follows the cos φ(P) characteristic used
  for feed-in voltage control (pf 1 up to half its rating, falling linearly to 0.9 at full output, absorbing,
  since feed-in raises the voltage), limited to ``max_reactive_power_var``. Active power is not changed.
"""

from __future__ import annotations

import math
from datetime import datetime

from flexcem.model import VarMode, VarModeInformation, VoltageSupportRequest

__all__ = ["ReactivePowerControl", "characteristic_power_factor"]


def characteristic_power_factor(active_w: float, apparent_max_va: float) -> float:
    """cos φ(P): 1 up to half the rating, falling linearly to 0.9 at the rating."""
    share = min(abs(active_w) / apparent_max_va, 1.0)
    return 1.0 if share <= 0.5 else 1.0 - 0.1 * (share - 0.5) / 0.5


class ReactivePowerControl:
    """The VAR mode and voltage support an inverter was given, and the reactive power they ask for."""

    def __init__(self, apparent_max_va: float) -> None:
        if apparent_max_va <= 0:
            raise ValueError(f"apparent_max_va {apparent_max_va} must be positive")
        self.apparent_max_va = apparent_max_va
        self.mode: VarModeInformation | None = None
        self.support: VoltageSupportRequest | None = None

    def take_mode(self, info: VarModeInformation) -> str | None:
        """Take ``info``; the reason when the inverter cannot follow it."""
        if info.mode is VarMode.VOLT_VAR:
            return "volt_var needs the terminal voltage, which this inverter does not measure"
        self.mode = info
        return None

    def take_support(self, request: VoltageSupportRequest) -> str | None:
        """Take ``request``; the reason when the inverter cannot follow it."""
        if request.max_reactive_power_var == 0.0:
            return "max_reactive_power_var is 0: no reactive power may be used"
        self.support = request
        return None

    def reactive_power_var(self, now: datetime, active_w: float) -> float:
        """The reactive power [var] at ``now`` with active power ``active_w`` [W] (see the module)."""
        headroom = math.sqrt(max(self.apparent_max_va**2 - active_w**2, 0.0))
        support = self.support
        if support is not None and support.start <= now < support.end:
            pf = characteristic_power_factor(active_w, self.apparent_max_va)
            wanted = abs(active_w) * math.tan(math.acos(pf))
            limit = support.max_reactive_power_var if support.max_reactive_power_var is not None else headroom
            return -min(wanted, limit, headroom)
        mode = self.mode
        if mode is None or now < mode.valid_from or (mode.valid_until is not None and now >= mode.valid_until):
            return 0.0
        if mode.mode is VarMode.FIXED_POWER_FACTOR:
            assert mode.power_factor is not None
            magnitude = min(abs(active_w) * math.tan(math.acos(mode.power_factor)), headroom)
            return -magnitude if mode.absorbing else magnitude
        if mode.mode is VarMode.FIXED_REACTIVE_POWER:
            assert mode.reactive_power_var is not None
            return max(-headroom, min(headroom, mode.reactive_power_var))
        return 0.0
