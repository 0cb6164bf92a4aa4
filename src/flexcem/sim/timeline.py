"""A readable timeline of what crosses the SG CP: tariffs, offers, start times, slot shifts, starts, finishes.

:class:`Timeline` observes a bus and turns each significant envelope into one line in the home's local
time; user actions are added by the scenario with :meth:`Timeline.add`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, tzinfo

from flexcem.model import (
    ChargingSessionOffer,
    CostEstimate,
    DeviceRegistration,
    DeviceState,
    DeviceStatus,
    Envelope,
    FlexibleStartOffer,
    FlexModel,
    Nack,
    PriceEnvironmentProfile,
    SlotShift,
    SlotShiftResponse,
    StartTimeAssignment,
    parse_address,
)

__all__ = ["Timeline", "TimelineEntry"]

_SHOWN_STATES = {
    DeviceState.RUNNING,
    DeviceState.PAUSED,
    DeviceState.FINISHED,
    DeviceState.ABORTED,
    DeviceState.FAILED,
}


@dataclass(frozen=True)
class TimelineEntry:
    """One line of the timeline."""

    at: datetime
    actor: str
    text: str


class Timeline:
    """Collects timeline entries; ``echo`` (e.g. ``print``) sees each line as it happens."""

    def __init__(self, timezone: tzinfo, echo: Callable[[str], None] | None = None) -> None:
        self.timezone = timezone
        self.entries: list[TimelineEntry] = []
        self._echo = echo

    def _clock(self, instant: datetime) -> str:
        return f"{instant.astimezone(self.timezone):%H:%M}"

    def add(self, at: datetime, actor: str, text: str) -> None:
        """Add a line."""
        entry = TimelineEntry(at, actor, text)
        self.entries.append(entry)
        if self._echo is not None:
            self._echo(self.format(entry))

    def format(self, entry: TimelineEntry) -> str:
        """``HH:MM  actor        text`` in local time."""
        return f"{entry.at.astimezone(self.timezone):%a %H:%M}  {entry.actor:<22} {entry.text}"

    def lines(self) -> list[str]:
        """Every entry formatted."""
        return [self.format(entry) for entry in self.entries]

    def observe(self, envelope: Envelope) -> None:
        """Bus observer: add a line for significant messages."""
        text = self._describe(envelope.body)
        if text is None:
            return
        sender = parse_address(envelope.sender).name
        recipient = envelope.to.split("/", 1)[1]
        recipient = "everyone" if recipient == "all" else recipient
        self.add(envelope.created, f"{sender} → {recipient}", text)

    def _describe(self, body: FlexModel) -> str | None:
        clock = self._clock
        if isinstance(body, PriceEnvironmentProfile):
            prices = [slot.price_per_kwh for slot in body.slots]
            what = "correction" if body.revision else "tariff"
            return (
                f"{what} {body.profile_id} r{body.revision} ({body.kind.value}, {body.binding.value}): "
                f"{clock(body.start)}–{clock(body.end)}, {min(prices):.3f}–{max(prices):.3f} {body.currency}/kWh"
            )
        if isinstance(body, DeviceRegistration):
            return f"registers as {body.capabilities.kind.value}"
        if isinstance(body, FlexibleStartOffer):
            variants = len(body.profile.alternatives)
            return (
                f"offer: {body.programme or 'programme'} ({variants} variant{'s' if variants > 1 else ''}, "
                f"{body.estimated_energy_wh / 1000:.2f} kWh), start {clock(body.earliest_start)}–"
                f"{clock(body.latest_start)}, done by {clock(body.latest_end)}"
            )
        if isinstance(body, ChargingSessionOffer):
            return (
                f"offer: {body.energy_wh / 1000:.1f} kWh by {clock(body.latest_end)}, "
                f"{body.min_power_w / 1000:.1f}–{body.max_power_w / 1000:.1f} kW, start by {clock(body.latest_start)}"
            )
        if isinstance(body, StartTimeAssignment):
            variant = f" ({body.sequence_id})" if body.sequence_id else ""
            return f"start at {clock(body.start) if body.start else body.start_in}{variant}"
        if isinstance(body, SlotShift):
            variant = f" ({body.sequence_id})" if body.sequence_id else ""
            return f"slot shift: start at {clock(body.start) if body.start else body.start_in}{variant}"
        if isinstance(body, SlotShiftResponse):
            return "confirms the new profile" if body.accepted else f"refuses the new profile: {body.reason}"
        if isinstance(body, CostEstimate):
            return (
                f"expected cost {body.expected_cost:.3f} {body.currency} for {body.expected_energy_wh / 1000:.2f} kWh"
            )
        if isinstance(body, DeviceStatus) and body.state in _SHOWN_STATES:
            extra = f", {body.energy_wh / 1000:.2f} kWh" if body.state is DeviceState.FINISHED else ""
            return f"{body.state.value}{extra}"
        if isinstance(body, Nack):
            return f"refused: {body.reason}"
        return None
