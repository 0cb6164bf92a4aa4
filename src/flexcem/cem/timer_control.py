"""Devices run by the customer's daily timer (story JWG16, alternative 1: "the CEM checks the DER and starts it at
10:00, stops at 14:00").

:class:`TimerControl` sends ON at the rule's daily start and OFF at its stop (local time of the home), each
once, recording the device's answer. A device whose last status says it failed is not started ("checks the
DER"); a stop is always sent.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import Self
from zoneinfo import ZoneInfo

from pydantic import Field, model_validator

from flexcem.bus import Endpoint
from flexcem.cem.threshold_control import CommandOutcome, send_command
from flexcem.model import CommandKind, DeviceState, DeviceStatus, FlexModel, Identifier, SimpleCommand

__all__ = ["TimedRun", "TimerControl"]


class TimedRun(FlexModel):
    """A daily run of one device between two local times."""

    device_id: Identifier = Field(description="The device's id.")
    start: time = Field(description="Local time of day the device is switched on (HH:MM).")
    stop: time = Field(description="Local time of day the device is switched off (HH:MM); after start.")

    @model_validator(mode="after")
    def _order(self) -> Self:
        if self.stop <= self.start:
            raise ValueError(f"stop {self.stop.isoformat()} is not after start {self.start.isoformat()}")
        return self


class TimerControl:
    """Switches one device on and off at the rule's local times, every day."""

    def __init__(
        self,
        endpoint: Endpoint,
        rule: TimedRun,
        zone: ZoneInfo,
        address_of: Callable[[str], str | None],
        status_of: Callable[[str], DeviceStatus | None] = lambda device_id: None,
        note: Callable[[str], None] = lambda text: None,
    ) -> None:
        self._endpoint = endpoint
        self._clock = endpoint.clock
        self._rule = rule
        self._zone = zone
        self._address_of = address_of
        self._status_of = status_of
        self._note = note
        self.outcomes: list[CommandOutcome] = []

    def next_switch(self, after: datetime) -> tuple[datetime, CommandKind]:
        """The first switching instant strictly after ``after`` and its command."""
        day = after.astimezone(self._zone).date()
        for offset in range(3):
            date = day + timedelta(days=offset)
            for at, command in ((self._rule.start, CommandKind.ON), (self._rule.stop, CommandKind.OFF)):
                instant = datetime.combine(date, at, self._zone)
                if instant > after:
                    return instant, command
        raise AssertionError("unreachable: a switch happens every day")

    async def run(self) -> None:
        """Switch at every start and stop from now on."""
        at, command = self.next_switch(self._clock.now())
        while True:
            await self._clock.sleep_until(at)
            await self._switch(at, command)
            at, command = self.next_switch(at)

    async def _switch(self, at: datetime, command: CommandKind) -> None:
        device_id = self._rule.device_id
        address = self._address_of(device_id)
        if address is None:
            self._note(f"{device_id} is not registered: no timed {command.value} sent")
            return
        status = self._status_of(device_id)
        if command is CommandKind.ON and status is not None and status.state is DeviceState.FAILED:
            self._note(f"{device_id} is not ready ({status.state.value}): timed start skipped")
            return
        success, reason = await send_command(
            self._endpoint, address, SimpleCommand(device_id=device_id, command=command, reason="timer")
        )
        self.outcomes.append(CommandOutcome(at, at, float("nan"), float("nan"), command, success, reason))
        self._note(f"{device_id} timed {command.value}: {'done' if success else f'not done ({reason})'}")
