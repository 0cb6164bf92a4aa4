"""flexcem.planner — pure optimisation of a home's flexible devices (HiGHS MILP).

``solve(PlanningProblem) -> Plan``: the devices' flexibility (flexible starts with alternative programmes,
charging sessions), prices and CO2 per slot, the site's limits and committed load in; a schedule per device
with its cost, and every soft constraint it could not meet, out. No I/O, no bus, no clock.

See docs/planner.md for the formulation.
"""

from flexcem.planner.devices import (
    ChargingSessionDevice,
    DeviceFormulation,
    DeviceUnion,
    FlexibleStartDevice,
    PlannerDevice,
)
from flexcem.planner.exhaustive import Evaluation, ExhaustiveResult, evaluate, exhaustive_optimum
from flexcem.planner.problem import LimitSlot, PlanningProblem, SiteLimits
from flexcem.planner.result import DevicePlan, Plan, PlanStatus, Violation, ViolationKind
from flexcem.planner.solve import solve

__all__ = [
    "ChargingSessionDevice",
    "DeviceFormulation",
    "DevicePlan",
    "DeviceUnion",
    "Evaluation",
    "ExhaustiveResult",
    "FlexibleStartDevice",
    "LimitSlot",
    "Plan",
    "PlanStatus",
    "PlannerDevice",
    "PlanningProblem",
    "SiteLimits",
    "Violation",
    "ViolationKind",
    "evaluate",
    "exhaustive_optimum",
    "solve",
]
