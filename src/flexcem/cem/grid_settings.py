"""What the household agreed with the grid side (the contract profile) and allows it to do (JWG8, JWG14, 2122)."""

from __future__ import annotations

from pydantic import Field

from flexcem.model import Address, FlexModel, Identifier, PositiveDuration

__all__ = ["FlexPermission", "GridSettings"]


class FlexPermission(FlexModel):
    """The user lets the grid adjust ``device_id`` for load management, for at most ``max_duration`` per event.

    For an air conditioner, ``comfort_range_c`` is how far its set point may move in the event's window (JWG14:
    "the customer lets the supplier raise the AC set point within a range") [K].
    """

    device_id: Identifier
    max_duration: PositiveDuration = Field(description="Longest event window the device takes part in.")
    comfort_range_c: float = Field(default=0.0, ge=0.0, le=10.0, description="Set-point range for the grid [K].")


class GridSettings(FlexModel):
    """The CEM's part in the grid's traffic-light states and signals."""

    area: Identifier | None = Field(default=None, description="The grid area the site is in (traffic light).")
    load_management: tuple[FlexPermission, ...] = Field(
        default=(), description="Devices the grid may adjust for load management, and how far (JWG14)."
    )
    emergency_exempt: tuple[Identifier, ...] = Field(
        default=(), description="Devices the contract profile keeps on in an emergency (JWG8: e.g. a gas boiler)."
    )
    meter: Address | None = Field(default=None, description="The site's smart meter (load curves, JWG2121 19–21).")

    def permission(self, device_id: str) -> FlexPermission | None:
        """The user's permission for ``device_id``, or ``None``."""
        return next((p for p in self.load_management if p.device_id == device_id), None)
