"""PV generation: a forecast per slot, fixed or curtailable (docs/home-physics.md, "PV").

The forecast is computed elsewhere (by the device, with pvlib) and given as AC power slots [W ≥ 0]; the
planner resamples it onto its grid (time-weighted averages). At the site balance generation is negative:

* not curtailable: the site sees ``−f_k`` (a constant: one fixed column with the forecast as coefficients);
* curtailable: ``g_k ∈ [0, f_k]`` and the site sees ``−g_k``; the curtailed energy is ``Σ (f_k − g_k)·Δt``.
  A tie-break of ``TIE_CO2`` per kWh curtailed (in kWh at the highest price) makes the plan curtail only
  when it pays or avoids a violation (an export limit, a negative export price), and store a surplus in a
  battery rather than curtail it when both cost the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import ClassVar, Literal, Self

import numpy as np
from pydantic import Field, field_validator, model_validator

from flexcem.model.home_parameters import PvParameters
from flexcem.model.timeseries import PowerSlot, Slot
from flexcem.planner.builder import Level, ModelBuilder
from flexcem.planner.context import resample_slots
from flexcem.planner.devices.base import (
    DeviceFormulation,
    FieldPath,
    PlannerDevice,
    overlap_message,
    uncovered_message,
)
from flexcem.planner.grid import FloatArray, touched_slots, watts
from flexcem.planner.objective import TIE_CO2
from flexcem.planner.result import DevicePlan, Violation

__all__ = ["GenerationSlot", "PvDevice", "PvFormulation"]


class GenerationSlot(Slot):
    """Forecast generation held over a slot."""

    power_w: float = Field(ge=0.0, description="Forecast AC generation in the slot [W, ≥ 0: generation positive].")


class PvDevice(PlannerDevice):
    """A PV system: its generation forecast, and whether the planner may curtail it."""

    kind: Literal["pv"] = Field(default="pv", description="Device kind tag.")
    windowed: ClassVar[bool] = False
    forecast: tuple[GenerationSlot, ...] = Field(
        min_length=1,
        description="Forecast AC generation [W ≥ 0] in slots of any length, without overlap; together they must "
        "cover the horizon.",
    )
    curtailable: bool = Field(
        description="Whether the inverter can be limited: then the plan may produce anything between 0 and the "
        "forecast; otherwise it produces the forecast."
    )
    off: tuple[Slot, ...] = Field(
        default=(),
        description="Windows in which the system is switched off (e.g. an export-reduction request, JWG1212): it "
        "produces nothing in every slot they touch. Needs a curtailable system.",
    )

    @model_validator(mode="after")
    def _off_needs_curtailable(self) -> Self:
        if self.off and not self.curtailable:
            raise ValueError("off: a PV system that is not curtailable cannot be switched off")
        return self

    @field_validator("forecast")
    @classmethod
    def _no_overlap(cls, forecast: tuple[GenerationSlot, ...]) -> tuple[GenerationSlot, ...]:
        message = overlap_message(forecast, "forecast")
        if message is not None:
            raise ValueError(message)
        return forecast

    @classmethod
    def from_parameters(cls, device_id: str, parameters: PvParameters, forecast: tuple[GenerationSlot, ...]) -> Self:
        """The planner's view of a PV system with the given parameters (whether it is curtailable) and forecast."""
        return cls(device_id=device_id, forecast=forecast, curtailable=parameters.curtailable)

    @classmethod
    def from_power_slots(cls, device_id: str, slots: Sequence[PowerSlot], curtailable: bool) -> Self:
        """From a forecast in the model's sign convention (generation negative, e.g. a device's
        ``PowerSeries``); a slot with consumption (positive power) is refused."""
        for index, slot in enumerate(slots):
            if slot.power_w > 0.0:
                raise ValueError(f"slots.{index} has consumption ({slot.power_w} W), not generation")
        forecast = tuple(GenerationSlot(start=s.start, duration=s.duration, power_w=-s.power_w + 0.0) for s in slots)
        return cls(device_id=device_id, forecast=forecast, curtailable=curtailable)

    def required_end(self, plan_start: datetime) -> datetime:
        """PV has no window: it needs no horizon of its own."""
        return plan_start

    def horizon_errors(self, start: datetime, end: datetime) -> list[tuple[FieldPath, str]]:
        """The forecast must cover the horizon."""
        message = uncovered_message(self.forecast, start, end, "forecast")
        return [] if message is None else [(("forecast",), message)]


class PvFormulation(DeviceFormulation[PvDevice]):
    """Fixed generation, or one column per slot with sun between 0 and the forecast."""

    def build(self, builder: ModelBuilder) -> None:
        """Add the generation to the site rows: a constant, or curtailable columns with their tie-break."""
        device, context = self.device, self.context
        grid = context.grid
        self.forecast_kw = resample_slots(grid, device.forecast, [slot.power_w / 1000.0 for slot in device.forecast])
        self.sunny = np.flatnonzero(self.forecast_kw > 0.0)
        rows = context.site_rows[self.sunny]
        if device.curtailable:
            self.upper_kw = np.where(
                touched_slots(grid, [(w.start, w.duration) for w in device.off]), 0.0, self.forecast_kw
            )
            self.cols = builder.add_columns(self.sunny.size, 0.0, self.upper_kw[self.sunny])
            builder.add_entries(rows, self.cols, -np.ones(self.sunny.size))
            hours = context.slot_hours
            builder.add_objective(Level.COST, self.cols, -context.scales.tie(TIE_CO2 * hours))
            if self.greenest:
                assert context.co2 is not None
                builder.add_objective(Level.CO2, self.cols, -context.scales.co2(context.co2[self.sunny] * hours))
        else:
            self.cols = np.zeros(0, dtype=np.int64)
            self.one = builder.add_columns(1, 1.0, 1.0)  # a constant 1: the forecast is its coefficients
            builder.add_entries(rows, np.full(self.sunny.size, self.one[0]), -self.forecast_kw[self.sunny])

    def peak_kw(self) -> float:
        """The highest forecast [kW]."""
        return float(np.max(self.forecast_kw, initial=0.0))

    def initial(self, x: FloatArray) -> None:
        """Produce the forecast (nothing where switched off)."""
        if self.device.curtailable:
            x[self.cols] = self.upper_kw[self.sunny]
        else:
            x[self.one] = 1.0

    def generation_kw(self, x: FloatArray) -> FloatArray:
        """Planned generation per slot [kW ≥ 0]."""
        if not self.device.curtailable:
            return self.forecast_kw.copy()
        generation = np.zeros(self.context.grid.count)
        generation[self.sunny] = np.clip(x[self.cols], 0.0, self.forecast_kw[self.sunny])
        return generation

    def power_kw(self, x: FloatArray) -> FloatArray:
        """Site power per slot [kW]: the generation, negative."""
        result: FloatArray = -self.generation_kw(x)
        return result

    def extract(self, x: FloatArray) -> tuple[DevicePlan, list[Violation]]:
        """Power (negative), energy, value at the import price, CO2 avoided and the curtailed energy."""
        power = self.power_kw(x)
        curtailed = np.maximum(self.forecast_kw + power, 0.0)
        curtailed[curtailed < 1e-9] = 0.0  # solver noise [kW]
        plan = DevicePlan(
            device_id=self.device.device_id,
            kind=self.device.kind,
            power_w=watts(power),
            energy_wh=float(np.sum(power) * self.context.slot_hours * 1000.0),
            cost=self.energy_cost(power),
            co2_g=self.energy_co2(power),
            curtailed_energy_wh=float(np.sum(curtailed) * self.context.slot_hours * 1000.0),
        )
        return plan, []
