"""Import/export power reduction requests the CEM takes and answers (JWG120x, JWG121x; uc-home §9–10).

The energy supplier asks the CEM to keep the site's export (or import) at or below a level for a window. The
CEM plans with that limit for the window and answers with the highest flow its plan expects there — from its
plan, never by echoing the request. How it may reduce the flow is the request's ``means``:

* ``absorb`` (JWG1201–1204) — generation is not curtailed: PV is planned at its forecast, and the planner
  adds consumption — the heat pump heats its tank (up to its maximum), the battery charges, flexible loads
  move into the window — cheapest first, so other loads come in once the tank is full;
* ``curtail`` (JWG1211–1213) — generation is switched off for the window: every curtailable PV system and
  every fuel cell is planned off in it (a fuel cell whose minimum on time keeps it on is reported); their
  schedules tell them so, and a refusal is journalled;
* ``any`` — the planner finds the cheapest mix of the two.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from flexcem.bus import MessageRefused
from flexcem.model import PowerFlow, PowerReductionRequest, PowerReductionResponse, ReductionMeans, Slot
from flexcem.planner import LimitSlot, Plan

__all__ = ["ComfortRelaxation", "ReductionBook", "TakenRequest", "response_from_plan"]

_TOLERANCE_W = 1.0
"""A planned flow this close above the limit [W] still counts as meeting it (solver rounding)."""


@dataclass(frozen=True)
class TakenRequest:
    """A request the CEM took, who sent it and when."""

    request: PowerReductionRequest
    sender: str
    received_at: datetime


@dataclass(frozen=True)
class ComfortRelaxation:
    """In ``[start, end)`` the comfort band of an air conditioner may widen by ``by_c`` [K] (a grid event, JWG14)."""

    start: datetime
    end: datetime
    by_c: float


class ReductionBook:
    """The grid's requests in force: limits for the planner, generators to switch off, comfort relaxations.

    Besides the import/export reduction requests, other grid signals (load management, energy saving, an
    announced power cut) hold limit slots and comfort relaxations under a key of their own until released.
    """

    def __init__(self) -> None:
        self._taken: dict[str, TakenRequest] = {}
        self._held: dict[str, tuple[PowerFlow, tuple[LimitSlot, ...]]] = {}
        self._relaxed: dict[str, dict[str, ComfortRelaxation]] = {}

    def hold(self, key: str, flow: PowerFlow, limits: Sequence[LimitSlot]) -> None:
        """Plan with ``limits`` on ``flow`` under ``key`` (replacing what ``key`` held) until :meth:`release`."""
        self._held[key] = (flow, tuple(limits))

    def relax(self, key: str, device_id: str, relaxation: ComfortRelaxation) -> None:
        """Let ``device_id``'s comfort band widen as ``relaxation`` says, under ``key``."""
        self._relaxed.setdefault(key, {})[device_id] = relaxation

    def release(self, key: str) -> None:
        """Drop the limits and relaxations held under ``key``."""
        self._held.pop(key, None)
        self._relaxed.pop(key, None)

    def relaxations(self, now: datetime) -> dict[str, tuple[ComfortRelaxation, ...]]:
        """Per device, the comfort relaxations that have not ended."""
        result: dict[str, list[ComfortRelaxation]] = {}
        for per_device in self._relaxed.values():
            for device_id, relaxation in per_device.items():
                if relaxation.end > now:
                    result.setdefault(device_id, []).append(relaxation)
        return {device_id: tuple(items) for device_id, items in result.items()}

    def take(self, request: PowerReductionRequest, sender: str, now: datetime, sources: tuple[str, ...]) -> None:
        """Keep ``request``; refuse it naming the field when the sender may not ask or the window has passed."""
        if sender not in sources:
            raise MessageRefused(f"{sender} may not ask this CEM to reduce its power", "from")
        if request.end <= now:
            raise MessageRefused(f"the window ended at {request.end.isoformat()}", "end")
        self._taken[request.request_id] = TakenRequest(request, sender, now)

    def active(self, now: datetime) -> list[PowerReductionRequest]:
        """Requests whose window has not ended."""
        return [taken.request for taken in self._taken.values() if taken.request.end > now]

    def limits(self, now: datetime, flow: PowerFlow) -> tuple[LimitSlot, ...]:
        """The planner's limit slots of one flow."""
        held = tuple(
            limit
            for held_flow, limits in self._held.values()
            if held_flow is flow
            for limit in limits
            if limit.start + limit.duration > now
        )
        return (
            tuple(
                LimitSlot(start=r.start, duration=r.end - r.start, limit_w=r.limit_w)
                for r in self.active(now)
                if r.flow is flow
            )
            + held
        )

    def generation_off(self, now: datetime) -> tuple[Slot, ...]:
        """Windows in which generation is to be switched off (``curtail`` requests on the export)."""
        return tuple(
            Slot(start=r.start, duration=r.end - r.start)
            for r in self.active(now)
            if r.flow is PowerFlow.EXPORT and r.means is ReductionMeans.CURTAIL
        )

    def generation_kept(self, now: datetime) -> bool:
        """Whether an ``absorb`` request forbids curtailing generation."""
        return any(r.flow is PowerFlow.EXPORT and r.means is ReductionMeans.ABSORB for r in self.active(now))


def response_from_plan(request: PowerReductionRequest, plan: Plan | None) -> PowerReductionResponse:
    """The answer to ``request`` from ``plan``: the highest flow the plan expects in the window."""
    if plan is None:
        return PowerReductionResponse(
            request_id=request.request_id,
            accepted=False,
            expected_max_w=0.0,
            reason="no plan: no tariff or no controllable device yet",
        )
    starts = np.array([(start - request.start).total_seconds() for start in plan.slot_starts])
    slot_s = plan.slot_duration.total_seconds()
    window_s = (request.end - request.start).total_seconds()
    inside = (starts + slot_s > 0.0) & (starts < window_s)
    site = np.array(plan.site_power_w)[inside]
    if not site.size:
        return PowerReductionResponse(
            request_id=request.request_id,
            accepted=False,
            expected_max_w=0.0,
            reason="the window lies outside the planning horizon",
        )
    flow = np.maximum(-site if request.flow is PowerFlow.EXPORT else site, 0.0)
    expected = float(flow.max())
    accepted = expected <= request.limit_w + _TOLERANCE_W
    reason = None
    if not accepted:
        reason = (
            f"the devices can bring the {request.flow.value} down to {expected:.0f} W at most, "
            f"{expected - request.limit_w:.0f} W above the limit"
        )
    return PowerReductionResponse(
        request_id=request.request_id, accepted=accepted, expected_max_w=round(expected, 3), reason=reason
    )
