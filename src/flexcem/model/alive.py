"""The CEM's alive status (TR Table 1 "Status Report of the CEM (Alive or Not)", JWG2042).

A CEM reports regularly that it is alive, how many of its devices are reachable and when to expect the
next report; a grid actor may ask for it with an :class:`AliveRequest`. A receiver that hears nothing
for ``next_report_in`` (plus its own margin) considers the CEM silent.
"""

from __future__ import annotations

from typing import Self

from pydantic import Field, model_validator

from flexcem.model.base import FlexModel, Identifier, Instant, PositiveDuration

__all__ = ["AliveRequest", "AliveStatus"]


class AliveRequest(FlexModel):
    """A grid actor asks a CEM for its alive status."""

    request_id: Identifier


class AliveStatus(FlexModel):
    """A CEM is alive (or going down: ``alive`` false), with its devices' reachability."""

    cem_id: Identifier
    at: Instant = Field(description="When the status was taken.")
    alive: bool = Field(default=True, description="False in a last report before an orderly shutdown.")
    up_since: Instant | None = Field(default=None, description="When the CEM last started.")
    devices_online: int = Field(default=0, ge=0, description="Devices that answered their last heartbeat.")
    devices_total: int = Field(default=0, ge=0, description="Devices registered.")
    next_report_in: PositiveDuration | None = Field(default=None, description="When the next report is due.")
    request_id: Identifier | None = Field(default=None, description="The request answered, when one.")

    @model_validator(mode="after")
    def _counts(self) -> Self:
        if self.devices_online > self.devices_total:
            raise ValueError(f"devices_online {self.devices_online} exceeds devices_total {self.devices_total}")
        if self.up_since is not None and self.up_since > self.at:
            raise ValueError(f"up_since {self.up_since.isoformat()} is after at {self.at.isoformat()}")
        return self
