"""The equations of ``docs/home-physics.md``: pure functions shared by the devices and the planner.

Knows nothing of flexcem but numpy; powers in kW or W as each function says, time in hours.
"""

from flexcem.physics.exact_step import StepCoefficients, step, step_coefficients
from flexcem.physics.heat_pump import carnot_cop, carnot_cop_at, cooling_eer, cooling_eer_at
from flexcem.physics.storage import battery_step_coefficients, hot_water_remaining_l, tank_step_coefficients

__all__ = [
    "StepCoefficients",
    "battery_step_coefficients",
    "carnot_cop",
    "carnot_cop_at",
    "cooling_eer",
    "cooling_eer_at",
    "hot_water_remaining_l",
    "step",
    "step_coefficients",
    "tank_step_coefficients",
]
