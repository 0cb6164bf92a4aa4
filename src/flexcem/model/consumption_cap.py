"""A warning that a device's job would take the home past its consumption cap (story JWG4, "power limitation PV").

"The user caps consumption at local production (PV) … A starting device sends its load profile. If the cap
would be exceeded, the CEM may warn the device and a display. The user may postpone or overrule."
"""

from __future__ import annotations

from typing import Self

from pydantic import Field, model_validator

from flexcem.model.base import FlexModel, Identifier, Instant

__all__ = ["ConsumptionCapWarning"]


class ConsumptionCapWarning(FlexModel):
    """The CEM tells a device (and its display) that its planned run draws from the grid inside the cap window."""

    device_id: Identifier
    offer_id: Identifier | None = Field(default=None, description="The job the warning is about.")
    window_start: Instant = Field(description="Beginning of the cap window the run falls in.")
    window_end: Instant = Field(description="End of the cap window; after window_start.")
    excess_w: float = Field(gt=0.0, description="Highest import beyond the home's own generation while it runs [W].")
    excess_wh: float = Field(gt=0.0, description="Energy taken from the grid in the window while it runs [Wh].")

    @model_validator(mode="after")
    def _window(self) -> Self:
        if self.window_end <= self.window_start:
            raise ValueError(
                f"window_end {self.window_end.isoformat()} is not after window_start {self.window_start.isoformat()}"
            )
        return self
