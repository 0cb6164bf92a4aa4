"""Metering data, load curves and overload warnings (JWG2111 / WGSP2111, JWG2121 steps 19–21, JWG2113, JWG3102).

The smart meter (Actor B's end of the metering channel) is the reference for billing: it sends
:class:`MeterReading` on its schedule (register values and the present power), answers a
:class:`LoadCurveRequest` with the :class:`LoadCurve` of a period (average power per interval: the "load
curve recorded for this period" of a load-management event, or history the CEM lacks, story JWG10), and
sends an :class:`OverloadWarning` when the site's consumption passes the contracted power (SmartInfo's
"overload warning notification", JWG3102). The CEM and devices use the same warning for their own (2113).

Powers are signed as at the connection point: import (consumption) positive, export negative. Registers
are cumulative and never decrease.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Self

from pydantic import Field, model_validator

from flexcem.model.base import FlexModel, Identifier, Instant, PositiveDuration
from flexcem.model.grid_state import check_window
from flexcem.model.timeseries import PowerSeries

__all__ = [
    "MAX_CURVE_INTERVALS",
    "LimitKind",
    "LoadCurve",
    "LoadCurveRequest",
    "MeterReading",
    "OverloadWarning",
    "WarningSource",
]

MAX_CURVE_INTERVALS = 1000
"""Most intervals one load curve may have (a month of hours fits; the codec's message-size limit holds)."""


class MeterReading(FlexModel):
    """A meter's registers [Wh] and present power [W] at ``at``."""

    meter_id: Identifier
    at: Instant = Field(description="When the values were taken (meter time).")
    power_w: float = Field(description="Present power [W]; + import, - export.")
    import_energy_wh: float = Field(ge=0.0, description="Import register: energy taken from the grid [Wh].")
    export_energy_wh: float = Field(default=0.0, ge=0.0, description="Export register: energy fed in [Wh].")
    contracted_power_w: float | None = Field(default=None, gt=0.0, description="Contracted (subscribed) power [W].")
    tariff_id: Identifier | None = Field(default=None, description="The tariff register active now.")


class LoadCurveRequest(FlexModel):
    """Ask for the load curve of ``[start, end)`` at ``resolution`` (at most :data:`MAX_CURVE_INTERVALS`)."""

    request_id: Identifier
    meter_id: Identifier | None = Field(default=None, description="The meter; none: the site's main meter.")
    start: Instant
    end: Instant
    resolution: PositiveDuration = Field(description="Length of each interval (e.g. PT15M).")

    @model_validator(mode="after")
    def _window(self) -> Self:
        check_window(self.start, self.end)
        intervals = (self.end - self.start) / self.resolution
        if intervals > MAX_CURVE_INTERVALS:
            raise ValueError(
                f"resolution {self.resolution} gives {intervals:.0f} intervals over the window; "
                f"at most {MAX_CURVE_INTERVALS}"
            )
        return self


class LoadCurve(FlexModel):
    """A meter's load curve: average power [W] per interval, + import, - export; actual or forecast."""

    meter_id: Identifier
    request_id: Identifier | None = Field(default=None, description="The request answered, when one.")
    actual: bool = Field(default=True, description="Metered (true) or forecast (false).")
    curve: PowerSeries = Field(description="Average power per interval [W]; + import, - export.")

    @model_validator(mode="after")
    def _bounded(self) -> Self:
        if len(self.curve.slots) > MAX_CURVE_INTERVALS:
            raise ValueError(f"curve has {len(self.curve.slots)} intervals; at most {MAX_CURVE_INTERVALS}")
        return self


class LimitKind(StrEnum):
    """Which limit a warning is about (2113: upper near the contracted power, lower for the usual residual load)."""

    UPPER = "upper"
    LOWER = "lower"


class WarningSource(StrEnum):
    """Who noticed (2113.1 device-generated, 2113.2 CEM-generated, JWG3102 the meter's SmartInfo)."""

    METER = "meter"
    CEM = "cem"
    DEVICE = "device"


class OverloadWarning(FlexModel):
    """Power ``power_w`` [W] is beyond ``limit_w`` [W] (above an upper, below a lower limit) since ``since``."""

    warning_id: Identifier
    source: WarningSource = Field(default=WarningSource.METER)
    origin_id: Identifier = Field(description="The meter, CEM or device that noticed.")
    at: Instant = Field(description="When the warning was raised.")
    since: Instant | None = Field(default=None, description="Since when the limit is passed.")
    power_w: float = Field(description="The power seen, or expected for a device's next operation [W].")
    limit_w: float = Field(ge=0.0, description="The limit passed [W], e.g. the contracted power.")
    limit: LimitKind = Field(default=LimitKind.UPPER)

    @model_validator(mode="after")
    def _beyond(self) -> Self:
        if self.limit is LimitKind.UPPER and self.power_w <= self.limit_w:
            raise ValueError(f"power_w {self.power_w} is not above the upper limit_w {self.limit_w}")
        if self.limit is LimitKind.LOWER and self.power_w >= self.limit_w:
            raise ValueError(f"power_w {self.power_w} is not below the lower limit_w {self.limit_w}")
        if self.since is not None and self.since > self.at:
            raise ValueError(f"since {self.since.isoformat()} is after at {self.at.isoformat()}")
        return self
