"""The grid connection: site power balance, import/export split, soft limits, energy cost and CO2.

Per slot k (powers in kW, Δt in h)::

    committed_k + Σ devices_k = import_k − export_k          (the site balance row)
    import_k = import_in_k + import_excess_k,   0 ≤ import_in_k ≤ import_limit
    export_k = export_in_k + export_excess_k,   0 ≤ export_in_k ≤ export_limit
    cost     = Σ (import_k · price_k − export_k · export_price_k) · Δt

The excess columns exist only when a limit is given; they are charged in the violation level. The imports
also go into the middle level for the objectives "co2" (× CO2 intensity) and "self_consumption" (kWh); the
objective "weighted" values them at ``context.import_value`` in the cost level. Where an exported kWh is
worth more than an imported one (export price above import price), importing and exporting at once would
pay, so a binary per such slot allows only one direction (big-M from the largest possible site power).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol

import numpy as np

from flexcem.planner.builder import Level, ModelBuilder
from flexcem.planner.context import PlanningContext
from flexcem.planner.grid import MICROSECOND, FloatArray, IntArray, TimeGrid
from flexcem.planner.objective import SITE_LIMIT_WEIGHT, TIE_CO2
from flexcem.planner.result import Violation, ViolationKind

__all__ = ["SiteFormulation", "site_cost", "site_limits_kw"]


class LimitSlotLike(Protocol):
    """A slot with a power limit (:class:`~flexcem.planner.problem.LimitSlot`)."""

    @property
    def start(self) -> datetime: ...

    @property
    def duration(self) -> timedelta: ...

    @property
    def limit_w(self) -> float: ...


_REPORT_KW = 1e-5
"""Excess below this power [kW] (0.01 W) is solver noise, not a violation."""


def site_limits_kw(grid: TimeGrid, constant_w: float | None, slots: Sequence[LimitSlotLike]) -> FloatArray | None:
    """The limit of each planning slot [kW]: the lowest of ``constant_w`` and the limit slots touching it
    (``inf`` where none applies); None when there is no limit at all."""
    if constant_w is None and not slots:
        return None
    limit = np.full(grid.count, np.inf if constant_w is None else constant_w / 1000.0)
    for slot in slots:
        begin = grid.offset_us(slot.start)
        first, fractions = grid.overlap_fractions(begin, begin + slot.duration // MICROSECOND)
        touched = slice(first, first + int(np.count_nonzero(fractions > 0.0)))
        limit[touched] = np.minimum(limit[touched], slot.limit_w / 1000.0)
    return limit


def site_cost(site_kw: FloatArray, context: PlanningContext) -> float:
    """Energy cost of a site power profile [currency]: imports at the price, exports at the export price."""
    imports = np.maximum(site_kw, 0.0)
    exports = np.maximum(-site_kw, 0.0)
    return float(np.sum(imports * context.price - exports * context.export_price) * context.slot_hours)


def site_co2(site_kw: FloatArray, context: PlanningContext) -> float | None:
    """CO2 of the site's imports [g]; None without CO2 data."""
    if context.co2 is None:
        return None
    return float(np.sum(np.maximum(site_kw, 0.0) * context.co2) * context.slot_hours)


class SiteFormulation:
    """Import/export columns and limits of the site balance rows, which the solver creates first."""

    def __init__(self, context: PlanningContext, import_limit: FloatArray | None, export_limit: FloatArray | None):
        """``import_limit`` and ``export_limit``: per slot [kW], ``inf`` where none applies; None: no limit."""
        self.context = context
        self.import_limit = import_limit
        self.export_limit = export_limit

    def build(self, builder: ModelBuilder, peak_kw: float) -> None:
        """Add the import/export columns to the balance rows, with their cost, CO2 and excess terms.

        ``peak_kw`` bounds the devices' total absolute power; it sizes the big-M of the direction binaries.
        """
        context = self.context
        n = context.grid.count
        rows = context.site_rows
        hours = context.slot_hours
        scales = context.scales
        self.import_in = builder.add_columns(n, 0.0, np.inf if self.import_limit is None else self.import_limit)
        self.export_in = builder.add_columns(n, 0.0, np.inf if self.export_limit is None else self.export_limit)
        # Slots without a limit keep their excess column at 0 (nothing can exceed an infinite limit).
        self.import_excess: IntArray | None = None
        self.export_excess: IntArray | None = None
        imports = [self.import_in]
        exports = [self.export_in]
        if self.import_limit is not None:
            self.import_excess = builder.add_columns(n)
            imports.append(self.import_excess)
            builder.add_objective(Level.VIOLATION, self.import_excess, SITE_LIMIT_WEIGHT * hours)
        if self.export_limit is not None:
            self.export_excess = builder.add_columns(n)
            exports.append(self.export_excess)
            builder.add_objective(Level.VIOLATION, self.export_excess, SITE_LIMIT_WEIGHT * hours)
        for cols in imports:
            builder.add_entries(rows, cols, -np.ones(n))
            builder.add_objective(Level.COST, cols, scales.cost(context.import_value * hours))
            if context.objective == "self_consumption":
                builder.add_objective(Level.CO2, cols, scales.energy(hours))
            if context.co2 is not None:
                grams = context.co2 * hours
                if context.objective == "co2":
                    builder.add_objective(Level.CO2, cols, scales.co2(grams))
                else:
                    builder.add_objective(Level.COST, cols, TIE_CO2 * scales.co2(grams))
        for cols in exports:
            builder.add_entries(rows, cols, np.ones(n))
            builder.add_objective(Level.COST, cols, -scales.cost(context.export_value * hours))

        # Committed load is the constant of the balance: Σ devices − import + export = −committed.
        self.rhs = -context.committed_kw
        self.direction_slots = np.flatnonzero(context.export_value > context.import_value)
        if self.direction_slots.size:
            slots = self.direction_slots
            m = len(slots)
            big_m = np.abs(context.committed_kw[slots]) + peak_kw + 1.0
            importing = builder.add_binaries(m)
            self.importing = importing
            upper_import = builder.add_rows(m, -np.inf, 0.0)  # Σ import − M z ≤ 0
            upper_export = builder.add_rows(m, -np.inf, big_m)  # Σ export + M z ≤ M
            for cols in imports:
                builder.add_entries(upper_import, cols[slots], np.ones(m))
            for cols in exports:
                builder.add_entries(upper_export, cols[slots], np.ones(m))
            builder.add_entries(upper_import, importing, -big_m)
            builder.add_entries(upper_export, importing, big_m)

    def value(self, cost: FloatArray, site_kw: FloatArray) -> FloatArray:
        """Objective value under ``cost`` of the site columns for each row of site power per slot [kW].

        The best split of a net power into the import/export columns is direct (within the limit first,
        then the excess), so the site's share of the objective is a piecewise-linear function of it.
        """
        imports = np.maximum(site_kw, 0.0)
        exports = np.maximum(-site_kw, 0.0)
        total = self._flow_value(cost, imports, self.import_in, self.import_excess, self.import_limit)
        return total + self._flow_value(cost, exports, self.export_in, self.export_excess, self.export_limit)

    @staticmethod
    def _flow_value(
        cost: FloatArray, flow: FloatArray, within: IntArray, excess: IntArray | None, limit: FloatArray | None
    ) -> FloatArray:
        if limit is None or excess is None:
            result: FloatArray = flow @ cost[within]
            return result
        inside = np.minimum(flow, limit)
        over = np.maximum(flow - limit, 0.0)
        result = inside @ cost[within] + over @ cost[excess]
        return result

    def is_integral(self, x: FloatArray) -> bool:
        """Whether the direction binaries (if any) are 0 or 1 in ``x``."""
        if not self.direction_slots.size:
            return True
        values = x[self.importing]
        return bool(np.all(np.minimum(values, 1.0 - values) <= 1e-6))

    def round(self, x: FloatArray, site_kw: FloatArray) -> None:
        """Set the direction binaries from the sign of the site power [kW]."""
        if self.direction_slots.size:
            x[self.importing] = (site_kw[self.direction_slots] > 0.0).astype(np.float64)

    def initial(self, x: FloatArray, devices_kw: FloatArray) -> None:
        """Import/export columns matching the devices' starting powers."""
        site = self.context.committed_kw + devices_kw
        imports = np.maximum(site, 0.0)
        exports = np.maximum(-site, 0.0)
        self._split(x, imports, self.import_in, self.import_excess, self.import_limit)
        self._split(x, exports, self.export_in, self.export_excess, self.export_limit)
        if self.direction_slots.size:
            x[self.importing] = (site[self.direction_slots] > 0.0).astype(np.float64)

    @staticmethod
    def _split(
        x: FloatArray, flow: FloatArray, within: IntArray, excess: IntArray | None, limit: FloatArray | None
    ) -> None:
        if limit is None or excess is None:
            x[within] = flow
            return
        x[within] = np.minimum(flow, limit)
        x[excess] = np.maximum(flow - limit, 0.0)

    def violations(self, site_kw: FloatArray) -> list[Violation]:
        """One violation per slot where the site power exceeds a limit."""
        grid = self.context.grid
        found: list[Violation] = []
        checks = (
            (self.import_limit, site_kw, ViolationKind.SITE_IMPORT_LIMIT, "imports"),
            (self.export_limit, -site_kw, ViolationKind.SITE_EXPORT_LIMIT, "exports"),
        )
        for limit, flow, kind, verb in checks:
            if limit is None:
                continue
            for k in np.flatnonzero(flow - limit > _REPORT_KW):
                excess_w = (float(flow[k]) - float(limit[k])) * 1000.0
                slot_start = grid.slot_start(int(k))
                found.append(
                    Violation(
                        constraint=kind,
                        slot_start=slot_start,
                        amount=excess_w,
                        unit="W",
                        message=f"the site {verb} {flow[k] * 1000.0:.0f} W in the slot from "
                        f"{slot_start.isoformat()}, {excess_w:.0f} W above its limit of "
                        f"{float(limit[k]) * 1000.0:.0f} W",
                    )
                )
        found.sort(key=lambda violation: (violation.slot_start, violation.constraint))
        return found
