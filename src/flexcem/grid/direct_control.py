"""Direct device controls of TR Table 1 sent by the grid (WGSP2121): heat-pump shut-off profile, store heat,
VAR mode, voltage support, battery ancillary-service dispatch, and the import/export power reduction request.

:meth:`DirectControlProgram.send` sends one control to an endpoint, group, area or everyone and records the
site's :class:`~flexcem.model.DirectControlResult` ("… successful/unsuccessful") — or, for a
:class:`~flexcem.model.PowerReductionRequest`, its :class:`~flexcem.model.PowerReductionResponse` — until
``answer_within`` has passed.
"""

from __future__ import annotations

from datetime import timedelta

from flexcem.bus import Endpoint
from flexcem.grid.program import GridProgram
from flexcem.grid.records import SignalRecord, SignalStore
from flexcem.grid.registry import GridRegistry
from flexcem.model import (
    BatteryDispatch,
    DirectControlResult,
    FlexModel,
    HeatPumpShutOffProfile,
    PowerReductionRequest,
    PowerReductionResponse,
    StoreHeatRequest,
    VarModeInformation,
    VoltageSupportRequest,
)

__all__ = ["CONTROL_TYPES", "DirectControlProgram"]

Control = (
    HeatPumpShutOffProfile
    | StoreHeatRequest
    | VarModeInformation
    | VoltageSupportRequest
    | BatteryDispatch
    | PowerReductionRequest
)
CONTROL_TYPES: tuple[type[FlexModel], ...] = (
    HeatPumpShutOffProfile,
    StoreHeatRequest,
    VarModeInformation,
    VoltageSupportRequest,
    BatteryDispatch,
    PowerReductionRequest,
)
"""The controls this program sends."""


def control_id(control: FlexModel) -> str:
    """The identifier a control carries (profile, request, control or dispatch id)."""
    for name in ("profile_id", "request_id", "control_id", "dispatch_id"):
        value = getattr(control, name, None)
        if isinstance(value, str):
            return value
    raise TypeError(f"{type(control).__name__} carries no control id")


class DirectControlProgram(GridProgram):
    """Sends Table 1 device controls and records the results."""

    name = "direct-control"
    response_types = (DirectControlResult, PowerReductionResponse)

    def __init__(
        self,
        endpoint: Endpoint,
        registry: GridRegistry,
        store: SignalStore | None = None,
        *,
        answer_within: timedelta = timedelta(minutes=1),
    ) -> None:
        super().__init__(endpoint, registry, store)
        self.answer_within = answer_within

    def kind_of(self, body: FlexModel) -> str:
        """Every answer counts as the result of its control."""
        return "result"

    async def send(self, target: str, control: Control) -> SignalRecord:
        """Send ``control`` to ``target``; results are due within :attr:`answer_within`."""
        if not isinstance(control, CONTROL_TYPES):
            raise TypeError(f"{type(control).__name__} is not a direct control")
        resolved = self.registry.resolve(target)
        deadline = self.clock.now() + self.answer_within
        return await self.issue(resolved, control_id(control), control, deadlines={"result": deadline})
