"""Import/export power reduction (TR Table 1 "Request exported power reduction"; JWG120x, JWG121x).

The energy supplier monitors the site's exported (or imported) power and asks the CEM to keep it at or below
a level for a window. How the CEM may do it is the request's ``means``:

* ``absorb`` — consume more locally: switch loads on, raise the heat pump, charge storage; generation is not
  curtailed (JWG1201–1204);
* ``curtail`` — switch generation off or limit it (JWG1211–1213);
* ``any`` — whatever the CEM finds cheapest.

The CEM answers with a :class:`PowerReductionResponse`: accepted or not, and the level it expects to reach,
computed from its plan (not an echo of the request).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Self

from pydantic import Field, model_validator

from flexcem.model.base import FlexModel, Identifier, Instant

__all__ = ["PowerFlow", "PowerReductionRequest", "PowerReductionResponse", "ReductionMeans"]


class PowerFlow(StrEnum):
    """Which flow at the grid connection a request is about."""

    EXPORT = "export"
    IMPORT = "import"


class ReductionMeans(StrEnum):
    """How the CEM may reduce the flow."""

    ABSORB = "absorb"
    CURTAIL = "curtail"
    ANY = "any"


class PowerReductionRequest(FlexModel):
    """Keep the site's export (or import) at or below ``limit_w`` from ``start`` to ``end``."""

    request_id: Identifier
    flow: PowerFlow = Field(default=PowerFlow.EXPORT, description="The flow to reduce.")
    limit_w: float = Field(ge=0.0, description="Most power the flow may have in the window [W].")
    start: Instant = Field(description="Beginning of the window.")
    end: Instant = Field(description="End of the window; after start.")
    means: ReductionMeans = Field(default=ReductionMeans.ANY, description="How the CEM may reduce it.")

    @model_validator(mode="after")
    def _window(self) -> Self:
        if self.end <= self.start:
            raise ValueError(f"end {self.end.isoformat()} is not after start {self.start.isoformat()}")
        return self


class PowerReductionResponse(FlexModel):
    """The CEM's answer: whether it takes the request and the highest flow it expects in the window."""

    request_id: Identifier
    accepted: bool = Field(description="Whether the CEM expects to keep the flow at or below the limit.")
    expected_max_w: float = Field(ge=0.0, description="Highest flow [W] the CEM's plan expects in the window.")
    reason: str | None = Field(default=None, max_length=256, description="Why not, or how only partly.")
