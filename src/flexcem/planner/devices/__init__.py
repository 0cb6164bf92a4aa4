"""Device kinds the planner knows: one module each, with an input model and a MILP formulation.

To add a kind, write its module (see :mod:`flexcem.planner.devices.base`), add its model to
:data:`DeviceUnion` and its formulation to :data:`FORMULATIONS`.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from flexcem.planner.context import PlanningContext
from flexcem.planner.devices.air_conditioner import AirConditionerDevice, AirConditionerFormulation
from flexcem.planner.devices.base import DeviceFormulation, PlannerDevice
from flexcem.planner.devices.battery import BatteryDevice, BatteryFormulation
from flexcem.planner.devices.charging_session import ChargingSessionDevice, ChargingSessionFormulation
from flexcem.planner.devices.flexible_start import FlexibleStartDevice, FlexibleStartFormulation
from flexcem.planner.devices.fuel_cell import FuelCellDevice, FuelCellFormulation
from flexcem.planner.devices.heat_pump import HeatPumpDevice, HeatPumpFormulation
from flexcem.planner.devices.pv import PvDevice, PvFormulation
from flexcem.planner.devices.water_heater import WaterHeaterDevice, WaterHeaterFormulation

__all__ = [
    "FORMULATIONS",
    "AirConditionerDevice",
    "BatteryDevice",
    "ChargingSessionDevice",
    "DeviceFormulation",
    "DeviceUnion",
    "FlexibleStartDevice",
    "FuelCellDevice",
    "HeatPumpDevice",
    "PlannerDevice",
    "PvDevice",
    "WaterHeaterDevice",
    "formulation_for",
]

DeviceUnion = Annotated[
    FlexibleStartDevice
    | ChargingSessionDevice
    | HeatPumpDevice
    | WaterHeaterDevice
    | AirConditionerDevice
    | FuelCellDevice
    | BatteryDevice
    | PvDevice,
    Field(discriminator="kind"),
]
"""A device of a planning problem, told apart by its ``kind``."""

FORMULATIONS: dict[type[PlannerDevice], type[DeviceFormulation[Any]]] = {
    FlexibleStartDevice: FlexibleStartFormulation,
    ChargingSessionDevice: ChargingSessionFormulation,
    HeatPumpDevice: HeatPumpFormulation,
    WaterHeaterDevice: WaterHeaterFormulation,
    AirConditionerDevice: AirConditionerFormulation,
    FuelCellDevice: FuelCellFormulation,
    BatteryDevice: BatteryFormulation,
    PvDevice: PvFormulation,
}
"""The formulation class of every device model."""


def formulation_for(device: PlannerDevice, context: PlanningContext) -> DeviceFormulation[Any]:
    """A fresh formulation of ``device`` in ``context``."""
    return FORMULATIONS[type(device)](device, context)
