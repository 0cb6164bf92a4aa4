"""What every device kind of the planner provides: an input model and a formulation.

A new kind (PV, battery, heat pump with tank, …) is one module in this package with

* a :class:`PlannerDevice` subclass with a ``kind`` literal (the discriminator of the input union), and
* a :class:`DeviceFormulation` subclass that adds the device's columns, rows and objective terms to the
  :class:`~flexcem.planner.builder.ModelBuilder`, writes a feasible starting point, and reads its result
  back from the solution vector,

registered in :mod:`flexcem.planner.devices`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from datetime import datetime
from typing import Generic, TypeVar

import numpy as np
from pydantic import Field

from flexcem.model.base import FlexModel, Identifier
from flexcem.model.flexibility import IncentiveProgram
from flexcem.planner.builder import ModelBuilder
from flexcem.planner.context import PlanningContext
from flexcem.planner.grid import FloatArray, IntArray
from flexcem.planner.result import DevicePlan, Violation

__all__ = ["DeviceFormulation", "PlannerDevice", "SiteValue"]

SiteValue = Callable[[FloatArray], FloatArray]
"""Objective value of the site for each row of a (rows × slots) matrix of site power [kW]."""


class PlannerDevice(FlexModel):
    """Fields every device of a planning problem has."""

    device_id: Identifier = Field(description="Identifier of the device, unique in the problem.")
    incentive: IncentiveProgram = Field(
        default=IncentiveProgram.CHEAPEST,
        description="'cheapest' minimises cost; 'greenest' minimises the device's CO2 first, cost breaks ties.",
    )

    def required_end(self, plan_start: datetime) -> datetime:
        """The latest instant the horizon must reach for this device when planning from ``plan_start``."""
        raise NotImplementedError


DeviceT = TypeVar("DeviceT", bound=PlannerDevice)


class DeviceFormulation(ABC, Generic[DeviceT]):
    """The MILP part of one device: variables, rows, objective terms, starting point and result."""

    def __init__(self, device: DeviceT, context: PlanningContext) -> None:
        self.device = device
        self.context = context

    @property
    def greenest(self) -> bool:
        """Whether the device's CO2 goes into the CO2 level (incentive greenest, with CO2 data)."""
        return self.device.incentive is IncentiveProgram.GREENEST and self.context.co2 is not None

    @abstractmethod
    def build(self, builder: ModelBuilder) -> None:
        """Add the device's columns, rows, site-balance coefficients and objective terms."""

    @abstractmethod
    def peak_kw(self) -> float:
        """The largest absolute power [kW] the device can have in any slot (a big-M bound)."""

    @abstractmethod
    def initial(self, x: FloatArray) -> None:
        """Write a feasible starting point of the device's columns into ``x``."""

    @abstractmethod
    def power_kw(self, x: FloatArray) -> FloatArray:
        """The device's average power per slot [kW] in solution ``x``."""

    @abstractmethod
    def extract(self, x: FloatArray) -> tuple[DevicePlan, list[Violation]]:
        """The device's plan and violations in solution ``x``."""

    def is_integral(self, x: FloatArray) -> bool:
        """Whether the device's discrete choices are integral in ``x`` (kinds without choices: True)."""
        return True

    def fractional_choice(self, x: FloatArray) -> tuple[IntArray, FloatArray, float] | None:
        """For diving: the columns of a fractional choice, the 0/1 values to fix them at, and how decided
        the relaxation already is about it (0–1); None when the device's choices are integral."""
        return None

    def round(self, x: FloatArray, load_kw: FloatArray, cost: FloatArray, site_value: SiteValue) -> None:
        """Round the device's discrete choices in ``x`` given the rest of the site's load [kW].

        ``site_value`` prices rows of site power per slot [kW] under objective ``cost``; kinds without
        discrete choices do nothing.
        """

    def move_cost(self, x: FloatArray) -> float:
        """Penalty [currency] charged in solution ``x`` for moving the device from its commitment."""
        return 0.0

    # -- helpers shared by kinds -------------------------------------------------------------------
    def energy_cost(self, power_kw: FloatArray) -> float:
        """Energy × import price of a power profile [currency]."""
        return float(np.sum(power_kw * self.context.price) * self.context.slot_hours)

    def energy_co2(self, power_kw: FloatArray) -> float | None:
        """Energy × CO2 intensity of a power profile [g]; None without CO2 data."""
        if self.context.co2 is None:
            return None
        return float(np.sum(power_kw * self.context.co2) * self.context.slot_hours)
