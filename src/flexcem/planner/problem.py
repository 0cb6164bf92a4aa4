"""The planner's input: a :class:`PlanningProblem` (horizon, prices, site limits, devices, objective).

Validation refuses malformed input with pydantic's ``ValidationError`` naming the field (for example
``prices`` when the prices leave part of the horizon uncovered, ``devices.0.flexible_start.latest_start``
when a window is inverted). A problem that is well formed but cannot be met — limits too tight, a window
already passed — is not an error: the planner returns a plan with named violations.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any, Literal, Self

from pydantic import AwareDatetime, Field, ValidationInfo, field_validator, model_validator

from flexcem.model.base import Currency, FlexModel, PositiveDuration
from flexcem.model.tariff import PriceSlot
from flexcem.model.timeseries import PowerSlot, Slot
from flexcem.planner.devices import DeviceUnion, PlannerDevice
from flexcem.planner.devices.base import FieldPath, field_errors
from flexcem.planner.grid import MICROSECOND, TimeGrid, coverage_gaps, elapsed, later

__all__ = ["MAX_SLOTS", "Objective", "ObjectiveWeights", "PlanningProblem", "SiteLimits"]

MAX_SLOTS = 20_000
"""Most planning slots a problem may have (e.g. 69 days of 5-minute slots)."""


class LimitSlot(Slot):
    """A power limit [W] over a time slot."""

    limit_w: float = Field(ge=0.0, description="Most power the flow may have in the slot [W].")


class SiteLimits(FlexModel):
    """The grid connection: soft import and export limits, and the load already committed."""

    import_limit_w: float | None = Field(
        default=None,
        ge=0.0,
        description="Most the site should import [W] (soft: exceeding it is a violation).",
    )
    export_limit_w: float | None = Field(
        default=None,
        ge=0.0,
        description="Most the site should export [W] (soft: exceeding it is a violation).",
    )
    import_limits: tuple[LimitSlot, ...] = Field(
        default=(),
        description="Import limits [W] for parts of the horizon (e.g. a grid operator's request); where one "
        "and import_limit_w both apply, the lower counts. A slot only partly covered takes the limit (soft).",
    )
    export_limits: tuple[LimitSlot, ...] = Field(
        default=(),
        description="Export limits [W] for parts of the horizon (e.g. an export-reduction request, JWG120x/121x); "
        "where one and export_limit_w both apply, the lower counts. A slot only partly covered takes the limit.",
    )
    committed_load: tuple[PowerSlot, ...] = Field(
        default=(),
        description="Load already committed [W] (base-load forecast, devices already running); consumption "
        "positive, generation negative. Overlapping slots add up; outside them the committed load is 0.",
    )


Objective = Literal["cost", "co2", "self_consumption", "weighted"]
"""What the planner minimises after the violations (see :attr:`PlanningProblem.objective`)."""


class ObjectiveWeights(FlexModel):
    """The weighted objective: cost × ``cost`` + CO2 × ``co2_price_per_kg`` + imports × ``import_weight_per_kwh``.

    Every term is in the problem's currency, so the sum is one amount of money per plan.
    """

    cost: float = Field(
        default=1.0, ge=0.0, description="Weight of the site's energy cost (dimensionless; 1 = the cost as it is)."
    )
    co2_price_per_kg: float = Field(
        default=0.0, ge=0.0, description="Price put on the CO2 of the site's imports [currency/kg CO2]."
    )
    import_weight_per_kwh: float = Field(
        default=0.0,
        ge=0.0,
        description="Charge put on every kWh imported from the grid [currency/kWh] (favours self-consumption).",
    )

    @model_validator(mode="after")
    def _something(self) -> Self:
        if self.cost == 0.0 and self.co2_price_per_kg == 0.0 and self.import_weight_per_kwh == 0.0:
            raise ValueError("cost, co2_price_per_kg and import_weight_per_kwh are all 0: nothing to minimise")
        return self


def _horizon_end(start: datetime, slot: timedelta, devices: Sequence[PlannerDevice], end: datetime | None) -> datetime:
    """``end`` (or the latest end the devices need), rounded up to a slot boundary; at least one slot."""
    raw = end if end is not None else max(device.required_end(start) for device in devices)
    slots = max(1, -(-elapsed(start, raw) // slot))
    return later(start, slots * slot)


def _overlaps(slots: Sequence[PriceSlot], field: str) -> None:
    order = sorted(range(len(slots)), key=lambda index: slots[index].start)
    for previous, current in pairwise(order):
        if slots[current].start < later(slots[previous].start, slots[previous].duration):
            raise ValueError(
                f"{field}.{current} (from {slots[current].start.isoformat()}) overlaps {field}.{previous} "
                f"(until {later(slots[previous].start, slots[previous].duration).isoformat()})"
            )


class PlanningProblem(FlexModel):
    """Everything the planner needs: horizon, prices, the site, the devices and the objective."""

    start: AwareDatetime = Field(description="Beginning of the first planning slot.")
    slot_duration: PositiveDuration = Field(
        default=timedelta(minutes=15), description="Length of every planning slot (ISO 8601, e.g. PT15M)."
    )
    devices: tuple[DeviceUnion, ...] = Field(
        default=(), description="The devices to plan, each with a 'kind': flexible_start or charging_session."
    )
    end: AwareDatetime | None = Field(
        default=None,
        description="End of the horizon; default: the latest latest_end of the devices. Rounded up to a slot "
        "boundary; it must not cut any device's window.",
    )
    currency: Currency = Field(default="EUR", description="ISO 4217 currency of every price and cost.")
    site: SiteLimits = Field(default_factory=SiteLimits, description="Grid connection limits and committed load.")
    prices: tuple[PriceSlot, ...] = Field(
        min_length=1,
        description="Import price [currency/kWh] and CO2 intensity [g/kWh] per slot; slots of any length, "
        "in any order, without overlap; together they must cover the horizon.",
    )
    export_prices: tuple[PriceSlot, ...] = Field(
        default=(), description="Remuneration of exported energy [currency/kWh]; 0 where no slot is given."
    )
    objective: Objective = Field(
        default="cost",
        description="'cost' minimises the site's energy cost; 'co2' minimises the CO2 of its imports first "
        "and the cost second; 'self_consumption' minimises the energy imported from the grid first and the "
        "cost second; 'weighted' minimises the weighted sum given in `weights`. Devices with incentive "
        "'greenest' minimise their own CO2 first in every case.",
    )
    weights: ObjectiveWeights | None = Field(
        default=None,
        validate_default=True,
        description="Weights of the objective 'weighted' (required with it, refused with any other).",
    )

    @field_validator("weights")
    @classmethod
    def _weights(cls, weights: ObjectiveWeights | None, info: ValidationInfo) -> ObjectiveWeights | None:
        objective = info.data.get("objective")
        if objective == "weighted" and weights is None:
            raise ValueError("weights is required when objective is 'weighted'")
        if objective is not None and objective != "weighted" and weights is not None:
            raise ValueError(f"weights is only used with objective 'weighted', not {objective!r}")
        return weights

    @field_validator("slot_duration")
    @classmethod
    def _at_least_a_second(cls, slot: timedelta) -> timedelta:
        if slot < timedelta(seconds=1):
            raise ValueError(f"slot_duration {slot} is shorter than one second")
        return slot

    @field_validator("devices")
    @classmethod
    def _unique_ids(cls, devices: tuple[PlannerDevice, ...]) -> tuple[PlannerDevice, ...]:
        first: dict[str, int] = {}
        for index, device in enumerate(devices):
            if device.device_id in first:
                raise ValueError(
                    f"device_id {device.device_id!r} appears more than once "
                    f"(devices.{first[device.device_id]} and devices.{index})"
                )
            first[device.device_id] = index
        return devices

    @field_validator("end")
    @classmethod
    def _end(cls, end: datetime | None, info: ValidationInfo) -> datetime | None:
        start: datetime | None = info.data.get("start")
        devices: tuple[PlannerDevice, ...] | None = info.data.get("devices")
        if start is None or devices is None or "slot_duration" not in info.data:
            return end  # reported on their own fields
        if end is None:
            if not devices:
                raise ValueError("end is required when there are no devices")
            if not any(device.windowed for device in devices):
                kinds = sorted({str(getattr(device, "kind", type(device).__name__)) for device in devices})
                raise ValueError(f"end is required when no device has a window of its own (kinds {kinds})")
        elif end <= start:
            raise ValueError(f"end {end.isoformat()} is not after start {start.isoformat()}")
        else:
            for index, device in enumerate(devices):
                needed = device.required_end(start)
                if end < needed:
                    raise ValueError(
                        f"end {end.isoformat()} cuts devices.{index} ({device.device_id}), which needs the "
                        f"horizon to reach {needed.isoformat()}"
                    )
        horizon = _horizon_end(start, info.data["slot_duration"], devices, end)
        slots = elapsed(start, horizon) // info.data["slot_duration"]
        if slots > MAX_SLOTS:
            raise ValueError(
                f"the horizon from {start.isoformat()} to {horizon.isoformat()} has {slots} slots of "
                f"{info.data['slot_duration']}, more than {MAX_SLOTS}; use longer slots or a shorter horizon"
            )
        return end

    @field_validator("prices")
    @classmethod
    def _prices_cover(cls, prices: tuple[PriceSlot, ...], info: ValidationInfo) -> tuple[PriceSlot, ...]:
        _overlaps(prices, "prices")
        data: dict[str, Any] = info.data
        if not {"start", "slot_duration", "devices", "end"} <= data.keys():
            return prices  # the horizon is unknown; its fields report their own errors
        start: datetime = data["start"]
        devices: tuple[PlannerDevice, ...] = data["devices"]
        if data["end"] is None and not devices:
            return prices
        horizon = _horizon_end(start, data["slot_duration"], devices, data["end"])
        offsets = [elapsed(start, p.start) // MICROSECOND for p in prices]
        intervals = [(lo, lo + p.duration // MICROSECOND) for lo, p in zip(offsets, prices, strict=True)]
        gaps = coverage_gaps(intervals, 0, elapsed(start, horizon) // MICROSECOND)
        if gaps:
            at = [(later(start, lo * MICROSECOND), later(start, hi * MICROSECOND)) for lo, hi in gaps[:3]]
            described = ", ".join(f"[{lo.isoformat()}, {hi.isoformat()})" for lo, hi in at)
            more = f" and {len(gaps) - 3} more" if len(gaps) > 3 else ""
            raise ValueError(
                f"prices do not cover the horizon [{start.isoformat()}, {horizon.isoformat()}): "
                f"no price for {described}{more}"
            )
        return prices

    @field_validator("export_prices")
    @classmethod
    def _export_prices(cls, prices: tuple[PriceSlot, ...]) -> tuple[PriceSlot, ...]:
        _overlaps(prices, "export_prices")
        return prices

    @model_validator(mode="after")
    def _device_data_cover_horizon(self) -> Self:
        """Each device's data (forecasts, profiles) must fit the horizon; errors name the device's field."""
        errors: list[tuple[FieldPath, str]] = []
        end = self.horizon_end
        for index, device in enumerate(self.devices):
            for path, message in device.horizon_errors(self.start, end):
                kind = str(getattr(device, "kind", type(device).__name__))  # pydantic's location of a union member
                errors.append((("devices", index, kind, *path), f"{device.device_id}: {message}"))
        if errors:
            raise field_errors(type(self).__name__, errors)
        return self

    @property
    def horizon_end(self) -> datetime:
        """End of the horizon: ``end`` or the devices' latest end, rounded up to a slot boundary."""
        return _horizon_end(self.start, self.slot_duration, self.devices, self.end)

    @property
    def slot_count(self) -> int:
        """Number of planning slots."""
        return elapsed(self.start, self.horizon_end) // self.slot_duration

    def grid(self) -> TimeGrid:
        """The planning grid."""
        return TimeGrid(start=self.start, slot=self.slot_duration, count=self.slot_count)

    def device(self, device_id: str) -> PlannerDevice:
        """The device with the given id; :class:`KeyError` when there is none."""
        for device in self.devices:
            if device.device_id == device_id:
                return device
        raise KeyError(device_id)
