"""Assembles the planning MILP of a problem: site balance rows, device formulations, site formulation."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from flexcem.model.flexibility import IncentiveProgram
from flexcem.planner.builder import Level, ModelBuilder
from flexcem.planner.context import PlanningContext
from flexcem.planner.devices import DeviceFormulation, formulation_for
from flexcem.planner.grid import FloatArray, IntArray
from flexcem.planner.problem import PlanningProblem
from flexcem.planner.site import SiteFormulation, site_limits_kw

__all__ = ["PlanningModel", "build_model"]


@dataclass
class PlanningModel:
    """A built planning MILP and the parts that read its solution back."""

    problem: PlanningProblem
    context: PlanningContext
    builder: ModelBuilder
    site: SiteFormulation
    devices: list[DeviceFormulation[Any]]
    levels: dict[Level, FloatArray] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def initial_solution(self) -> FloatArray:
        """A feasible point: each device's simple start, the site's flows to match."""
        x = np.zeros(self.builder.num_cols)
        for device in self.devices:
            device.initial(x)
        self.site.initial(x, self.devices_kw(x))
        return x

    def is_integral(self, x: FloatArray) -> bool:
        """Whether every discrete choice is integral in ``x`` (semi-continuous columns aside)."""
        return self.site.is_integral(x) and all(device.is_integral(x) for device in self.devices)

    def dive(self, x_relaxed: FloatArray) -> tuple[IntArray, FloatArray] | None:
        """The most decided fractional choice of any device, with the values to fix it at."""
        best: tuple[IntArray, FloatArray, float] | None = None
        for device in self.devices:
            choice = device.fractional_choice(x_relaxed)
            if choice is not None and (best is None or choice[2] > best[2]):
                best = choice
        return None if best is None else (best[0], best[1])

    def round(self, x_relaxed: FloatArray, cost: FloatArray) -> FloatArray:
        """A copy of a relaxed solution whose discrete choices are rounded greedily under ``cost``.

        Devices whose choices are already integral (and continuous ones) make the base load; the others
        choose, largest energy first, what is best for the site given the load so far.
        """
        x = x_relaxed.copy()
        load = self.context.committed_kw.copy()
        pending = []
        for device in self.devices:
            if device.is_integral(x):
                load += device.power_kw(x)
            else:
                pending.append(device)
        pending.sort(key=lambda device: -device.peak_kw())

        def site_value(site_kw: FloatArray) -> FloatArray:
            return self.site.value(cost, site_kw)

        for device in pending:
            device.round(x, load, cost, site_value)
            load += device.power_kw(x)
        self.site.round(x, load)
        return x

    def devices_kw(self, x: FloatArray) -> FloatArray:
        """Total average power of the devices per slot [kW] in solution ``x``."""
        total = np.zeros(self.context.grid.count)
        for device in self.devices:
            total += device.power_kw(x)
        return total


def build_model(problem: PlanningProblem) -> PlanningModel:
    """Resample the problem onto its grid and build every column, row and objective level."""
    context = PlanningContext.of(problem)
    builder = ModelBuilder()
    rhs = -context.committed_kw
    site_rows = builder.add_rows(context.grid.count, rhs, rhs)
    assert np.array_equal(site_rows, context.site_rows)
    devices = [formulation_for(device, context) for device in problem.devices]
    for device in devices:
        device.build(builder)
    site = SiteFormulation(
        context,
        site_limits_kw(context.grid, problem.site.import_limit_w, problem.site.import_limits),
        site_limits_kw(context.grid, problem.site.export_limit_w, problem.site.export_limits),
    )
    site.build(builder, peak_kw=sum(device.peak_kw() for device in devices))
    model = PlanningModel(problem=problem, context=context, builder=builder, site=site, devices=devices)
    model.levels = {level: builder.objective(level) for level in Level}
    if context.co2 is None:
        if problem.objective == "co2":
            model.warnings.append("objective 'co2' ignored: the prices carry no CO2 intensity for the whole horizon")
        if problem.weights is not None and problem.weights.co2_price_per_kg > 0.0:
            model.warnings.append(
                "weights.co2_price_per_kg ignored: the prices carry no CO2 intensity for the whole horizon"
            )
        for item in problem.devices:
            if item.incentive is IncentiveProgram.GREENEST:
                model.warnings.append(
                    f"{item.device_id}: incentive 'greenest' planned as 'cheapest': the prices carry no "
                    "CO2 intensity for the whole horizon"
                )
    return model
