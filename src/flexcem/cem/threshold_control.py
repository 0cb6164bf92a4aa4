"""Devices run by the customer's price threshold: fuel cell (JWG1111), heat pump (JWG1124/1125), DER (story JWG16).

JWG1111: "The home customer sets a price threshold. For each interval: if the price is above the threshold, at
the beginning of the interval the EMS sends a fuel-cell turn-on request; otherwise a turn-off request. The fuel
cell controller replies with a status message and may override EMS requests." JWG1124 does the same for a
heat pump with the direction of a load (cheap → on), and story JWG16 (alternative 2) for a DER that runs when
the price is at or above the set point, if it is ready.

:class:`ThresholdControl` does exactly that for one device and one :class:`PriceThresholdRule`:

* the intervals are the slots of the tariff in force (the CEM's :class:`~flexcem.cem.price_book.PriceBook`):
  a newly received schedule replaces the old one from its start; where no schedule covers an interval — its
  validity has ended and nothing newer came — no price-based command is sent;
* commands go out only at interval boundaries, never mid-interval (a tariff arriving mid-interval takes effect
  at the next boundary);
* a device whose last status says it failed is not started (JWG16: "if … DER ready");
* every command's outcome (successful, refused with the controller's reason, or unanswered) is recorded; a
  refusal is not fought: nothing more is sent in that interval;
* a threshold change by the customer takes effect at the next boundary.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import Field

from flexcem.bus import DeliveryTimeout, Endpoint, LinkClosed, MessageRefused, PeerUnsupported, UnexpectedReply
from flexcem.cem.price_book import PriceBook
from flexcem.model import CommandKind, CommandResult, DeviceState, DeviceStatus, FlexModel, Identifier, SimpleCommand

__all__ = ["CommandOutcome", "PriceThresholdRule", "RunWhen", "ThresholdControl", "send_command", "threshold_command"]

log = logging.getLogger("flexcem.cem.threshold")

BOUNDARY_GRACE = timedelta(seconds=5)
"""How late after an interval's beginning a command still counts as sent at the beginning."""


class RunWhen(StrEnum):
    """When a threshold-controlled device runs, comparing the interval's price with the threshold."""

    ABOVE = "above"
    """price > threshold (a generator that saves expensive imports: fuel cell, JWG1111)."""
    AT_OR_ABOVE = "at_or_above"
    """price ≥ threshold (a DER run by price, story JWG16)."""
    BELOW = "below"
    """price < threshold (a load that runs when energy is cheap: heat pump, JWG1124)."""


class PriceThresholdRule(FlexModel):
    """The customer's rule for one device: run it (ON) or stop it (OFF) by the price of each tariff interval."""

    device_id: Identifier = Field(description="The device's id.")
    threshold_per_kwh: float = Field(description="Price threshold [tariff currency/kWh].")
    run_when: RunWhen = Field(default=RunWhen.ABOVE, description="Which side of the threshold runs the device.")


async def send_command(endpoint: Endpoint, address: str, command: SimpleCommand) -> tuple[bool, str | None]:
    """Deliver ``command`` and wait for the device's :class:`CommandResult`: whether it was carried out and,
    if not, why (the device's reason, a refusal, or no answer)."""
    try:
        result = await endpoint.deliver(address, command, expect=CommandResult)
    except MessageRefused as refusal:
        return False, str(refusal)
    except (DeliveryTimeout, PeerUnsupported, LinkClosed, UnexpectedReply) as error:
        return False, f"no answer: {error}"
    return result.success, result.reason


def threshold_command(price_per_kwh: float, threshold_per_kwh: float, run_when: RunWhen = RunWhen.ABOVE) -> CommandKind:
    """ON when the interval's price is on the running side of the threshold, else OFF."""
    runs = {
        RunWhen.ABOVE: price_per_kwh > threshold_per_kwh,
        RunWhen.AT_OR_ABOVE: price_per_kwh >= threshold_per_kwh,
        RunWhen.BELOW: price_per_kwh < threshold_per_kwh,
    }[run_when]
    return CommandKind.ON if runs else CommandKind.OFF


@dataclass(frozen=True)
class CommandOutcome:
    """One command sent at an interval boundary and what the fuel cell controller answered."""

    interval_start: datetime
    interval_end: datetime
    price_per_kwh: float
    threshold_per_kwh: float
    command: CommandKind
    success: bool
    reason: str | None = None


class ThresholdControl:
    """Sends ON/OFF to one device at each tariff interval boundary, from the price and the threshold."""

    def __init__(
        self,
        endpoint: Endpoint,
        prices: PriceBook,
        rule: PriceThresholdRule,
        address_of: Callable[[str], str | None],
        status_of: Callable[[str], DeviceStatus | None] = lambda device_id: None,
        note: Callable[[str], None] = lambda text: None,
    ) -> None:
        self._endpoint = endpoint
        self._clock = endpoint.clock
        self._prices = prices
        self._device_id = rule.device_id
        self._threshold = rule.threshold_per_kwh
        self._run_when = rule.run_when
        self._status_of = status_of
        self._next_threshold: float | None = None
        self._address_of = address_of
        self._note = note
        self._tariff_changed = asyncio.Event()
        self.outcomes: list[CommandOutcome] = []

    @property
    def threshold_per_kwh(self) -> float:
        """The threshold in force for the current interval [currency/kWh]."""
        return self._threshold

    def set_threshold(self, threshold_per_kwh: float) -> None:
        """The customer changes the threshold; it takes effect at the next interval boundary."""
        self._next_threshold = threshold_per_kwh

    def tariff_changed(self) -> None:
        """A tariff was received: boundaries may have moved or a schedule may now exist."""
        self._tariff_changed.set()

    def next_boundary(self, after: datetime) -> datetime | None:
        """The first tariff slot edge strictly after ``after`` in any profile the CEM holds, or ``None``."""
        edges = [
            edge
            for profile in self._prices.profiles
            for slot in profile.slots
            for edge in (slot.start, slot.end)
            if edge > after
        ]
        return min(edges, default=None)

    async def run(self) -> None:
        """Act at every boundary from now on; at a boundary exactly now, act at once."""
        acted: datetime | None = None
        boundary = self._boundary_from(self._clock.now(), acted)
        while True:
            if boundary is not None and self._clock.now() >= boundary:
                await self._act(boundary)
                acted = boundary
                boundary = self.next_boundary(boundary)
                continue
            woke_by_tariff = await self._wait(boundary)
            if woke_by_tariff:
                self._tariff_changed.clear()
                boundary = self._boundary_from(self._clock.now(), acted)

    def _boundary_from(self, now: datetime, acted: datetime | None) -> datetime | None:
        """A boundary passed at most :data:`BOUNDARY_GRACE` ago and not yet acted on, else the next boundary.

        A tariff that arrives a moment after the interval it starts with began (transport delay) still acts at
        that interval's beginning; one that arrives later waits for the next boundary.
        """
        passed = [
            edge
            for profile in self._prices.profiles
            for slot in profile.slots
            for edge in (slot.start, slot.end)
            if now - BOUNDARY_GRACE <= edge <= now and edge != acted and (acted is None or edge > acted)
        ]
        return max(passed) if passed else self.next_boundary(now)

    async def _wait(self, boundary: datetime | None) -> bool:
        """Sleep until ``boundary`` or a tariff change; whether the tariff woke us."""
        changed: asyncio.Future[object] = asyncio.ensure_future(self._tariff_changed.wait())
        waits: set[asyncio.Future[object]] = {changed}
        if boundary is not None:
            delay = max(0.0, (boundary - self._clock.now()).total_seconds())
            sleeping: asyncio.Future[object] = asyncio.ensure_future(self._clock.sleep(delay))
            waits.add(sleeping)
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiting in waits:
                waiting.cancel()
        return changed.done() and not changed.cancelled()

    async def _act(self, boundary: datetime) -> None:
        if self._next_threshold is not None:
            self._threshold, self._next_threshold = self._next_threshold, None
            self._note(f"{self._device_id}: price threshold now {self._threshold:g}/kWh")
        slot = self._prices.price_at(boundary)
        if slot is None:
            return  # the schedule's validity has ended and nothing newer exists: no price-based command
        command = threshold_command(slot.price_per_kwh, self._threshold, self._run_when)
        address = self._address_of(self._device_id)
        if address is None:
            self._note(f"{self._device_id} is not registered: no {command.value} sent")
            return
        status = self._status_of(self._device_id)
        if command is CommandKind.ON and status is not None and status.state is DeviceState.FAILED:
            self._note(f"{self._device_id} is not ready ({status.state.value}): not started")
            return
        success, reason = await send_command(
            self._endpoint,
            address,
            SimpleCommand(
                device_id=self._device_id,
                command=command,
                reason=f"price {slot.price_per_kwh:g}/kWh vs threshold {self._threshold:g}/kWh",
            ),
        )
        self.outcomes.append(
            CommandOutcome(
                interval_start=slot.start,
                interval_end=slot.end,
                price_per_kwh=slot.price_per_kwh,
                threshold_per_kwh=self._threshold,
                command=command,
                success=success,
                reason=reason,
            )
        )
        verdict = "done" if success else f"not done ({reason}); not repeated in this interval"
        self._note(f"{self._device_id} {command.value} at {boundary.isoformat()}: {verdict}")
