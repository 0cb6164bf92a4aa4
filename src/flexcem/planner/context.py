"""The data every formulation shares: the grid and the problem's prices, CO2 and committed load on it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from flexcem.model.tariff import PriceSlot
from flexcem.model.timeseries import Slot
from flexcem.planner.grid import MICROSECOND, FloatArray, IntArray, TimeGrid, step_average
from flexcem.planner.objective import Scales

if TYPE_CHECKING:
    from flexcem.planner.problem import Objective, PlanningProblem

__all__ = ["PlanningContext", "resample_slots", "slot_bounds_us"]


def resample_slots(grid: TimeGrid, slots: Sequence[Slot], values: Sequence[float]) -> FloatArray:
    """Time-weighted average per grid slot of ``values`` held over ``slots`` (overlaps add, gaps are 0)."""
    starts, ends = slot_bounds_us(grid, slots)
    return step_average(starts, ends, values, grid.edges_us)


def slot_bounds_us(grid: TimeGrid, slots: Sequence[Slot]) -> tuple[FloatArray, FloatArray]:
    """Start and end of each of ``slots`` [µs after the grid start] (exact integers, as float64)."""
    offsets = np.array(grid.offsets_us([slot.start for slot in slots]), dtype=np.int64)
    durations = np.fromiter((slot.duration // MICROSECOND for slot in slots), dtype=np.int64, count=len(slots))
    return offsets.astype(np.float64), (offsets + durations).astype(np.float64)


def _co2(
    grid: TimeGrid, prices: Sequence[PriceSlot], bounds: tuple[FloatArray, FloatArray] | None = None
) -> FloatArray | None:
    """CO2 intensity per grid slot [g/kWh] from the price slots that overlap the horizon; None when one of them
    has none. ``bounds``: the prices' :func:`slot_bounds_us`, when already known."""
    starts, ends = slot_bounds_us(grid, prices) if bounds is None else bounds
    # later(start, duration) > grid.start and start < grid.end, on the exact µs offsets from the grid start
    mask = (ends > 0.0) & (starts < float(grid.end_us))
    inside = [slot for slot, keep in zip(prices, mask.tolist(), strict=True) if keep]
    if not inside or any(slot.co2_g_per_kwh is None for slot in inside):
        return None
    values = [float(slot.co2_g_per_kwh or 0.0) for slot in inside]
    return step_average(starts[mask], ends[mask], values, grid.edges_us)


@dataclass(frozen=True)
class PlanningContext:
    """A problem's data on its planning grid, and where the site balance rows are."""

    grid: TimeGrid
    price: FloatArray
    """Import price per slot [currency/kWh]."""
    export_price: FloatArray
    """Export remuneration per slot [currency/kWh]."""
    co2: FloatArray | None
    """CO2 intensity per slot [g/kWh]; None when the prices carry none."""
    committed_kw: FloatArray
    """Committed load per slot [kW], consumption positive."""
    scales: Scales
    objective: Objective
    site_rows: IntArray
    """Row index of each slot's site power balance."""
    import_value: FloatArray
    """What the cost level charges per kWh imported in each slot [currency/kWh]: the price, or for the
    objective "weighted" cost weight × price + CO2 price × intensity + import weight."""
    export_value: FloatArray
    """What the cost level credits per kWh exported in each slot [currency/kWh]: the export price (× the cost
    weight for "weighted")."""

    @classmethod
    def of(cls, problem: PlanningProblem, site_rows: IntArray | None = None) -> PlanningContext:
        """Resample the problem's prices, CO2 and committed load onto its grid."""
        grid = problem.grid()
        price_bounds = slot_bounds_us(grid, problem.prices)
        price = step_average(*price_bounds, [slot.price_per_kwh for slot in problem.prices], grid.edges_us)
        export_price = resample_slots(
            grid, problem.export_prices, [slot.price_per_kwh for slot in problem.export_prices]
        )
        co2 = _co2(grid, problem.prices, price_bounds)
        committed = problem.site.committed_load
        committed_kw = resample_slots(grid, committed, [slot.power_w / 1000.0 for slot in committed])
        import_value, export_value = price, export_price
        weights = problem.weights
        if problem.objective == "weighted" and weights is not None:
            import_value = weights.cost * price + weights.import_weight_per_kwh
            if co2 is not None:
                import_value = import_value + weights.co2_price_per_kg * co2 / 1000.0
            export_value = weights.cost * export_price
        return cls(
            grid=grid,
            price=price,
            export_price=export_price,
            co2=co2,
            committed_kw=committed_kw,
            scales=Scales.of(import_value, export_value, co2),
            objective=problem.objective,
            site_rows=site_rows if site_rows is not None else np.arange(grid.count, dtype=np.int64),
            import_value=import_value,
            export_value=export_value,
        )

    @property
    def slot_hours(self) -> float:
        """Length of a planning slot [h]."""
        return self.grid.slot_hours

    def completion_fraction(self, offset_us: float | FloatArray) -> FloatArray:
        """How far into the horizon ``offset_us`` lies (0 at the start, 1 at the end)."""
        return np.asarray(offset_us, dtype=np.float64) / float(max(self.grid.end_us, 1))
