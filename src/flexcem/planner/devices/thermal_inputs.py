"""Inputs shared by the thermal device kinds: per-slot profiles, a hot-water tank, a room, a hot-water request.

Profiles are lists of slots of any length, in any order, without overlap; each must cover the planning
horizon (the devices' ``horizon_errors``, which the problem checks). On the planning grid they
become time-weighted averages per slot (:func:`resample_slots`), except comfort bands, which are taken
conservatively: the highest lower bound and the lowest upper bound of the slots that overlap a grid slot.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Self

import numpy as np
from pydantic import AwareDatetime, Field, ValidationInfo, field_validator, model_validator

from flexcem.model.base import FlexModel
from flexcem.model.home_parameters import RoomParameters, TankParameters
from flexcem.model.timeseries import Slot
from flexcem.planner.devices.base import FieldPath, overlap_message, uncovered_message
from flexcem.planner.grid import MICROSECOND, FloatArray, TimeGrid

__all__ = [
    "ComfortSlot",
    "GasPriceSlot",
    "HeatSlot",
    "HotWaterRequest",
    "RoomInput",
    "TankInput",
    "TemperatureSlot",
    "check_no_overlap",
    "comfort_bounds",
    "uncovered",
]


class TemperatureSlot(Slot):
    """A temperature held over a slot (the outdoor temperature forecast)."""

    temperature_c: float = Field(ge=-80.0, le=80.0, description="Temperature in the slot [°C].")


class HeatSlot(Slot):
    """A thermal power held over a slot: hot-water draws, internal and solar gains."""

    heat_w: float = Field(ge=0.0, description="Thermal power in the slot [W thermal], ≥ 0.")


class GasPriceSlot(Slot):
    """The price of natural gas over a slot."""

    price_per_m3: float = Field(ge=0.0, description="Gas price in the slot [currency/m³].")


class ComfortSlot(Slot):
    """A comfort band over a slot: a lower and/or upper temperature, or a set point s meaning [s − 1, s + 1]."""

    lower_c: float | None = Field(default=None, description="Lowest comfortable temperature [°C]; none: no bound.")
    upper_c: float | None = Field(default=None, description="Highest comfortable temperature [°C]; none: no bound.")
    set_point_c: float | None = Field(
        default=None,
        description="Set point s [°C]: the band is [s − 1, s + 1] where lower_c / upper_c are not given.",
    )

    @model_validator(mode="after")
    def _band(self) -> Self:
        if self.lower_c is None and self.upper_c is None and self.set_point_c is None:
            raise ValueError("a comfort slot needs lower_c, upper_c or set_point_c")
        if self.lower is not None and self.upper is not None and self.lower > self.upper:
            raise ValueError(f"lower_c {self.lower} is above upper_c {self.upper}")
        return self

    @property
    def lower(self) -> float | None:
        """Lower bound [°C] (from the set point when not given)."""
        if self.lower_c is not None:
            return self.lower_c
        return None if self.set_point_c is None else self.set_point_c - 1.0

    @property
    def upper(self) -> float | None:
        """Upper bound [°C] (from the set point when not given)."""
        if self.upper_c is not None:
            return self.upper_c
        return None if self.set_point_c is None else self.set_point_c + 1.0


def check_no_overlap(slots: Sequence[Slot], field: str) -> None:
    """Raise ``ValueError`` naming ``field`` when two slots overlap."""
    message = overlap_message(slots, field)
    if message is not None:
        raise ValueError(message)


def uncovered(slots: Sequence[Slot], start: datetime, end: datetime, path: FieldPath) -> list[tuple[FieldPath, str]]:
    """``[(path, message)]`` when ``slots`` leave part of ``[start, end)`` uncovered, else ``[]``."""
    message = uncovered_message(slots, start, end, ".".join(str(part) for part in path))
    return [] if message is None else [(path, message)]


def comfort_bounds(grid: TimeGrid, slots: Sequence[ComfortSlot]) -> tuple[FloatArray, FloatArray]:
    """Lower and upper bound per grid slot [°C]: the tightest of the comfort slots overlapping it (±inf: none)."""
    lower = np.full(grid.count, -np.inf)
    upper = np.full(grid.count, np.inf)
    for slot in slots:
        begin = grid.offset_us(slot.start)
        first, fractions = grid.overlap_fractions(begin, begin + slot.duration // MICROSECOND)
        if not fractions.size:
            continue
        span = slice(first, first + fractions.size)
        if slot.lower is not None:
            lower[span] = np.maximum(lower[span], slot.lower)
        if slot.upper is not None:
            upper[span] = np.minimum(upper[span], slot.upper)
    return lower, upper


class HotWaterRequest(FlexModel):
    """Extra hot water (JWG1121): the tank at ``min_c`` or warmer by ``by``."""

    min_c: float = Field(description="Tank temperature wanted [°C].")
    by: AwareDatetime = Field(description="When it is wanted; the plan checks the last slot boundary not after it.")


class TankInput(FlexModel):
    """A hot-water tank as the planner sees it: parameters, temperature now, draws and an optional request."""

    parameters: TankParameters = Field(description="Volume, losses and temperature band of the tank.")
    initial_c: float = Field(ge=0.0, le=100.0, description="Tank temperature at the start of the horizon [°C].")
    draws: tuple[HeatSlot, ...] = Field(
        default=(),
        description="Hot-water draws [W thermal] per slot (e.g. CityLearn dhw_demand); when given they must "
        "cover the horizon; empty: no draws.",
    )
    extra_hot_water: HotWaterRequest | None = Field(
        default=None, description="A request for extra hot water (JWG1121); soft, like the band."
    )

    @field_validator("draws")
    @classmethod
    def _draws(cls, draws: tuple[HeatSlot, ...]) -> tuple[HeatSlot, ...]:
        check_no_overlap(draws, "draws")
        return draws

    @field_validator("extra_hot_water")
    @classmethod
    def _request(cls, request: HotWaterRequest | None, info: ValidationInfo) -> HotWaterRequest | None:
        parameters: TankParameters | None = info.data.get("parameters")
        if request is not None and parameters is not None and request.min_c > parameters.max_c:
            raise ValueError(f"extra_hot_water.min_c {request.min_c} is above the tank's max_c {parameters.max_c}")
        return request

    def horizon_errors(self, start: datetime, end: datetime, field: str) -> list[tuple[FieldPath, str]]:
        """``[((field, "draws"), message)]`` when the draws do not cover ``[start, end)``."""
        return uncovered(self.draws, start, end, (field, "draws")) if self.draws else []

    def required_end(self, plan_start: datetime) -> datetime:
        """The extra-hot-water time, or ``plan_start`` without a request."""
        request = self.extra_hot_water
        return plan_start if request is None else max(plan_start, request.by)


class RoomInput(FlexModel):
    """A room (one thermal zone) as the planner sees it: parameters, temperature now, gains and comfort."""

    parameters: RoomParameters = Field(description="Heat capacity and heat-loss coefficient of the room.")
    initial_c: float = Field(ge=-50.0, le=80.0, description="Room temperature at the start of the horizon [°C].")
    comfort: tuple[ComfortSlot, ...] = Field(
        min_length=1,
        description="Comfort band per slot (a temperature profile); must cover the horizon. Soft: each K·h "
        "outside it is a violation.",
    )
    gains: tuple[HeatSlot, ...] = Field(
        default=(),
        description="Internal and solar gains [W thermal] per slot; when given they must cover the horizon; "
        "empty: none.",
    )

    @field_validator("comfort")
    @classmethod
    def _comfort(cls, comfort: tuple[ComfortSlot, ...]) -> tuple[ComfortSlot, ...]:
        check_no_overlap(comfort, "comfort")
        return comfort

    @field_validator("gains")
    @classmethod
    def _gains(cls, gains: tuple[HeatSlot, ...]) -> tuple[HeatSlot, ...]:
        check_no_overlap(gains, "gains")
        return gains

    def horizon_errors(self, start: datetime, end: datetime, field: str) -> list[tuple[FieldPath, str]]:
        """Where the comfort band or the gains leave ``[start, end)`` uncovered, as (path, message)."""
        errors = uncovered(self.comfort, start, end, (field, "comfort"))
        return errors + (uncovered(self.gains, start, end, (field, "gains")) if self.gains else [])
