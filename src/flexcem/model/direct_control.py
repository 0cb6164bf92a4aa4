"""Direct device controls of TR Table 1 that the grid sends to a site (WGSP2121, JWG2121).

The report names them without fields ("No fields are given for any of these", uc-market §2); the fields
below are the least each needs to be carried out and checked:

* :class:`HeatPumpShutOffProfile` — "heat pump shut off signal profile": periods in which the site's heat
  pumps must not run (a utility block, e.g. up to three times two hours a day);
* :class:`StoreHeatRequest` — "request store heat": heat thermal storage (tank, building mass) in a window,
  e.g. to absorb surplus generation;
* :class:`VarModeInformation` — "VAR mode information": how inverters are to supply reactive power;
* :class:`VoltageSupportRequest` — "voltage supports": keep the voltage at the connection point in a band
  with reactive power (and, if allowed, active power);
* :class:`BatteryDispatch` — "battery ancillary service dispatch": a battery power schedule for a service;
* :class:`DirectControlResult` — the site's "… successful/unsuccessful" status for any of them.

A ``device_id`` of ``None`` addresses every device of the kind at the site; the CEM chooses.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Self

from pydantic import Field, field_validator, model_validator

from flexcem.model.base import Currency, FlexModel, Identifier, Instant
from flexcem.model.grid_state import TimeWindow, check_window
from flexcem.model.timeseries import PowerSeries

__all__ = [
    "AncillaryService",
    "BatteryDispatch",
    "DirectControlResult",
    "HeatPumpShutOffProfile",
    "StoreHeatRequest",
    "VarMode",
    "VarModeInformation",
    "VoltageSupportRequest",
]


class HeatPumpShutOffProfile(FlexModel):
    """Heat pumps off during each of ``blocks`` (time-ordered, not overlapping)."""

    profile_id: Identifier
    device_id: Identifier | None = Field(default=None, description="One heat pump; none: all at the site.")
    blocks: tuple[TimeWindow, ...] = Field(min_length=1, description="Periods the heat pumps must not run.")

    @field_validator("blocks")
    @classmethod
    def _ordered(cls, blocks: tuple[TimeWindow, ...]) -> tuple[TimeWindow, ...]:
        for index in range(1, len(blocks)):
            if blocks[index].start < blocks[index - 1].end:
                raise ValueError(f"block {index} starts before block {index - 1} ends; blocks must be ordered")
        return blocks


class StoreHeatRequest(FlexModel):
    """Store heat in ``[start, end)``: ``energy_wh`` of heat [Wh thermal] and/or up to ``target_c`` [°C]."""

    request_id: Identifier
    device_id: Identifier | None = Field(default=None, description="One heater or tank; none: the CEM chooses.")
    start: Instant
    end: Instant
    energy_wh: float | None = Field(default=None, gt=0.0, description="Heat to store [Wh, thermal].")
    target_c: float | None = Field(default=None, ge=20.0, le=95.0, description="Temperature to heat storage to [°C].")
    max_power_w: float | None = Field(default=None, gt=0.0, description="Most electric power to use for it [W].")

    @model_validator(mode="after")
    def _window(self) -> Self:
        check_window(self.start, self.end)
        return self


class VarMode(StrEnum):
    """How an inverter supplies reactive power."""

    OFF = "off"
    FIXED_POWER_FACTOR = "fixed_power_factor"
    FIXED_REACTIVE_POWER = "fixed_reactive_power"
    VOLT_VAR = "volt_var"


class VarModeInformation(FlexModel):
    """Reactive-power mode of the site's inverters (or one) from ``valid_from`` until ``valid_until``.

    Reactive power is positive when the inverter supplies it (over-excited, capacitive) and negative when it
    absorbs it (under-excited, inductive); ``absorbing`` gives the same sense for a power factor.
    """

    control_id: Identifier
    device_id: Identifier | None = Field(default=None, description="One inverter; none: all at the site.")
    mode: VarMode
    power_factor: float | None = Field(
        default=None, gt=0.0, le=1.0, description="Power factor for fixed_power_factor (0 < pf <= 1)."
    )
    absorbing: bool = Field(default=True, description="Whether reactive power is absorbed (under-excited).")
    reactive_power_var: float | None = Field(
        default=None, description="Reactive power for fixed_reactive_power [var]; + supplied, - absorbed."
    )
    valid_from: Instant
    valid_until: Instant | None = Field(default=None, description="None: until the next VAR mode information.")

    @model_validator(mode="after")
    def _parameters(self) -> Self:
        if self.mode is VarMode.FIXED_POWER_FACTOR and self.power_factor is None:
            raise ValueError("power_factor is required for fixed_power_factor")
        if self.mode is VarMode.FIXED_REACTIVE_POWER and self.reactive_power_var is None:
            raise ValueError("reactive_power_var is required for fixed_reactive_power")
        if self.valid_until is not None:
            check_window(self.valid_from, self.valid_until, what="valid_until", after="valid_from")
        return self


class VoltageSupportRequest(FlexModel):
    """Keep the voltage at the connection point in ``[low_v, high_v]`` during ``[start, end)``."""

    request_id: Identifier
    start: Instant
    end: Instant
    low_v: float = Field(gt=0.0, description="Lowest acceptable voltage [V].")
    high_v: float = Field(gt=0.0, description="Highest acceptable voltage [V].")
    max_reactive_power_var: float | None = Field(
        default=None, ge=0.0, description="Most reactive power to use, supplied or absorbed [var]."
    )
    active_power_allowed: bool = Field(
        default=False, description="Whether active power may also be changed (curtail or absorb)."
    )

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        check_window(self.start, self.end)
        if self.high_v <= self.low_v:
            raise ValueError(f"high_v {self.high_v} is not above low_v {self.low_v}")
        return self


class AncillaryService(StrEnum):
    """Services a battery may be dispatched for."""

    FREQUENCY_CONTAINMENT = "frequency_containment"
    FREQUENCY_RESTORATION = "frequency_restoration"
    REPLACEMENT_RESERVE = "replacement_reserve"
    PEAK_SHAVING = "peak_shaving"
    CONGESTION_RELIEF = "congestion_relief"


class BatteryDispatch(FlexModel):
    """Dispatch of a battery for ``service``: power per slot [W], + charging, - discharging."""

    dispatch_id: Identifier
    device_id: Identifier | None = Field(default=None, description="One battery; none: the CEM chooses.")
    service: AncillaryService
    schedule: PowerSeries = Field(description="Battery power per slot [W]; + charging, - discharging.")
    price_per_kwh: float | None = Field(default=None, description="Remuneration per kWh dispatched [currency/kWh].")
    currency: Currency = Field(default="EUR")


class DirectControlResult(FlexModel):
    """Whether the site carried out the control ``ref`` (its profile, request, control or dispatch id)."""

    ref: Identifier = Field(description="Id of the control answered.")
    control_type: str = Field(min_length=1, max_length=64, description="Message type of the control answered.")
    success: bool
    devices: tuple[Identifier, ...] = Field(default=(), description="The devices that carry it out.")
    reason: str | None = Field(default=None, max_length=256, description="Why it was not carried out.")

    @model_validator(mode="after")
    def _reason_on_failure(self) -> Self:
        if not self.success and not self.reason:
            raise ValueError("an unsuccessful result must give a reason")
        return self
