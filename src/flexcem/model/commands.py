"""Simple device commands and their results (TR §3.4.7, JWG1110 "simple SD management", JWG112x Table 1).

The CEM (or the user at the device) sends On, Off, Start, Stop, Pause, Resume or Abort — and, to a battery,
Charge, Discharge or Standby, to a generator or heat pump Increase or Decrease its output by a power; the device answers
with a :class:`CommandResult` saying whether the command was carried out and, if not, why (a device may
refuse, e.g. a fuel cell controller that overrides the CEM, JWG1111).
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field, model_validator

from flexcem.model.base import FlexModel, Identifier
from flexcem.model.states import DeviceState

__all__ = ["POWER_COMMANDS", "CommandKind", "CommandResult", "SimpleCommand"]


class CommandKind(StrEnum):
    """Simple commands of TR §3.4.7."""

    ON = "on"
    OFF = "off"
    START = "start"
    STOP = "stop"
    PAUSE = "pause"
    RESUME = "resume"
    ABORT = "abort"
    CHARGE = "charge"
    DISCHARGE = "discharge"
    STANDBY = "standby"
    INCREASE = "increase"
    DECREASE = "decrease"


POWER_COMMANDS = frozenset({CommandKind.INCREASE, CommandKind.DECREASE})
"""Commands that need a power (the step by which to change the output)."""


class SimpleCommand(FlexModel):
    """A simple command for one device."""

    device_id: Identifier
    command: CommandKind
    reason: str | None = Field(default=None, max_length=256, description="Why the command is sent.")
    power_w: float | None = Field(
        default=None,
        ge=0.0,
        description="Charge/discharge power, or the step of an increase/decrease [W]; the device's choice when absent.",
    )

    @model_validator(mode="after")
    def _power_for_steps(self) -> SimpleCommand:
        if self.command in POWER_COMMANDS and self.power_w is None:
            raise ValueError(f"power_w is required for {self.command.value}")
        return self


class CommandResult(FlexModel):
    """Whether a command was carried out (successful) or not (unsuccessful, with the reason)."""

    device_id: Identifier
    command: CommandKind
    success: bool
    state: DeviceState = Field(description="The device's state after handling the command.")
    reason: str | None = Field(default=None, max_length=256, description="Why the command failed.")

    @model_validator(mode="after")
    def _reason_on_failure(self) -> CommandResult:
        if not self.success and not self.reason:
            raise ValueError("an unsuccessful command result must give a reason")
        return self
