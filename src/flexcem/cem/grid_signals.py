"""What every grid signal the CEM takes has in common: who may send it, refusals, and the plan in a window.

* **Role**: grid signals (traffic light, load management, emergency, energy saving, direct controls) are taken
  only from the endpoints in ``settings.tariff_sources`` (the retailer, the DSO, the aggregator of the
  contract); anyone else is refused naming ``from``.
* **Refusals** (issue 5, item 4): a signal sent to this CEM alone is refused with
  :class:`~flexcem.bus.MessageRefused` naming the field (the sender gets a Nack with it); one sent to a group or
  everyone cannot be Nacked, so the handler answers with a reject response carrying the reason.
* **Plan windows**: the site power a plan expects per slot in ``[start, end)`` [W], consumption positive.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, TypeVar

from flexcem.bus import MessageRefused
from flexcem.model import AddressKind, Envelope, FlexModel, parse_address
from flexcem.planner import LimitSlot, Plan

if TYPE_CHECKING:
    from flexcem.cem.manager import CustomerEnergyManager

__all__ = ["PlanWindow", "Refused", "check_source", "multicast", "plan_window", "refuse"]

R = TypeVar("R", bound=FlexModel)


class Refused(Exception):
    """A grid signal the CEM does not take: the reason and the field it is about."""

    def __init__(self, reason: str, field: str | None = None) -> None:
        super().__init__(reason)
        self.reason, self.field = reason, field


def multicast(envelope: Envelope) -> bool:
    """Whether ``envelope`` went to a group or everyone (no Nack goes back then)."""
    return parse_address(envelope.to).kind is not AddressKind.ENDPOINT


def check_source(cem: CustomerEnergyManager, envelope: Envelope, what: str) -> None:
    """:class:`Refused` naming ``from`` unless the sender may send grid signals to this CEM."""
    if envelope.sender not in cem.settings.tariff_sources:
        raise Refused(f"{envelope.sender} may not send {what} to this CEM", "from")


def check_window(start: datetime, end: datetime, now: datetime) -> None:
    """:class:`Refused` naming ``end`` when the window has passed."""
    if end <= now:
        raise Refused(f"the window ended at {end.isoformat()}, before now ({now.isoformat()})", "end")


def refuse(cem: CustomerEnergyManager, envelope: Envelope, refusal: Refused, reject: Callable[[str], R]) -> R:
    """Journal ``refusal``; raise it as a Nack for a unicast, return ``reject(reason)`` for a group send."""
    cem.note(f"refused {envelope.type} from {envelope.sender}: {refusal.reason}")
    if not multicast(envelope):
        raise MessageRefused(refusal.reason, refusal.field)
    return reject(f"{refusal.field}: {refusal.reason}" if refusal.field else refusal.reason)


@dataclass(frozen=True)
class PlanWindow:
    """A plan's slots in a window: their starts, length and site power [W] (consumption positive)."""

    starts: tuple[datetime, ...]
    slot: timedelta
    site_w: tuple[float, ...]

    @property
    def mean_w(self) -> float:
        """Average site power over the window [W]."""
        return sum(self.site_w) / len(self.site_w)

    def limits(self, values_w: list[float]) -> list[LimitSlot]:
        """Limit slots of ``values_w`` [W] on the window's slots."""
        return [
            LimitSlot(start=at, duration=self.slot, limit_w=max(0.0, w))
            for at, w in zip(self.starts, values_w, strict=True)
        ]

    def device_w(self, plan: Plan, device_id: str) -> list[float] | None:
        """``device_id``'s planned power [W] in the window's slots of ``plan``, when it is planned."""
        try:
            device = plan.device(device_id)
        except (KeyError, ValueError):
            return None
        index = {at: k for k, at in enumerate(plan.slot_starts)}
        return [device.power_w[index[at]] if at in index else 0.0 for at in self.starts]


def plan_window(plan: Plan | None, start: datetime, end: datetime) -> PlanWindow:
    """The slots of ``plan`` that lie in ``[start, end)``; :class:`Refused` when it does not cover the window."""
    if plan is None:
        raise Refused("no plan yet: no tariff or no controllable device", None)
    inside = [
        (at, w)
        for at, w in zip(plan.slot_starts, plan.site_power_w, strict=True)
        if start <= at and at + plan.slot_duration <= end
    ]
    if not inside or inside[-1][0] + plan.slot_duration < end - plan.slot_duration:
        raise Refused(f"the window [{start.isoformat()}, {end.isoformat()}) lies beyond the plan", "end")
    return PlanWindow(tuple(at for at, _ in inside), plan.slot_duration, tuple(w for _, w in inside))
