"""What the grid server adds around the grid programs: the operator's tariff publication, one error for bad
operator input, and whether a stored signal is still in force.

* :class:`TariffPublication` — a program that publishes an operator's
  :class:`~flexcem.model.PriceEnvironmentProfile` (retained) to everyone, a group, an area or an endpoint and
  records it like every other signal (the daily scheduled publisher is :class:`~flexcem.grid.TariffProgram`).
* :class:`OperatorError` — bad operator input (an unknown target, an impossible window, a deadline in the
  past, a duplicate id), raised **before** anything is sent or stored, with the field at fault.
* :func:`signal_active` — whether a signal is in force at an instant: a load-management event until its
  window ends (unless ended or cancelled), an emergency until its duration or end, the traffic light in force
  for its area, a tariff until its last slot, anything else while answers are awaited.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from pydantic import ValidationError

from flexcem.grid.program import GridProgram
from flexcem.grid.records import SignalRecord
from flexcem.grid.registry import UnknownTarget
from flexcem.model import (
    EmergencyEnd,
    EmergencySignal,
    FlexModel,
    LoadAdjustmentEnd,
    LoadManagementRequest,
    PriceEnvironmentProfile,
    TrafficLight,
)
from flexcem.store import StoreError

__all__ = ["OperatorError", "TariffPublication", "operator_error", "signal_active"]


class OperatorError(ValueError):
    """Bad operator input, refused before anything was sent or stored; ``field`` names the culprit."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def operator_error(error: Exception, *, field: str | None = None, prefix: str = "") -> OperatorError:
    """``error`` (a model validation error, an unknown target, a store error) as an :class:`OperatorError`."""
    if isinstance(error, OperatorError):
        return error
    if isinstance(error, ValidationError):
        first = error.errors()[0]
        location = ".".join(str(part) for part in first["loc"])
        named = ".".join(part for part in (prefix.rstrip("."), location) if part) or field
        return OperatorError(str(first["msg"]).removeprefix("Value error, "), named)
    if isinstance(error, UnknownTarget):
        return OperatorError(str(error), field or "target")
    if isinstance(error, StoreError):
        return OperatorError(str(error), error.field or field)
    return OperatorError(str(error), field)


class TariffPublication(GridProgram):
    """Publishes operator tariffs, retained, and records each as a signal (corrections as revisions)."""

    name: ClassVar[str] = "tariff"

    async def publish(self, target: str, profile: PriceEnvironmentProfile) -> SignalRecord:
        """Send ``profile`` to ``target`` (retained, so a CEM that connects later gets it)."""
        return await self.issue(target, profile.profile_id, profile, revision=profile.revision, retain=True)


def _ended(record: SignalRecord, instant: datetime) -> bool:
    return any(isinstance(body, LoadAdjustmentEnd | EmergencyEnd) and body.at <= instant for _, body in record.sent)


def signal_active(record: SignalRecord, instant: datetime, current_lights: dict[str, str] | None = None) -> bool:
    """Whether ``record``'s signal is in force at ``instant``.

    ``current_lights`` maps each area to the signal id of its newest traffic light: an older one is superseded.
    """
    body: FlexModel = record.body
    if isinstance(body, LoadManagementRequest):
        return instant < body.end and not _ended(record, instant)
    if isinstance(body, EmergencySignal):
        end = body.ends_at()
        return (end is None or instant < end) and not _ended(record, instant)
    if isinstance(body, TrafficLight):
        newest = (current_lights or {}).get(body.area, body.signal_id)
        return newest == body.signal_id and (body.valid_until is None or instant < body.valid_until)
    if isinstance(body, PriceEnvironmentProfile):
        return instant < body.end
    return any(kind not in record.missing for kind in record.deadlines)
