"""The device state machine under flexible start (uc-home §12), as a table of allowed transitions."""

from __future__ import annotations

from flexcem.model import DeviceState

__all__ = ["ALLOWED", "InvalidTransition", "check_transition"]

S = DeviceState

ALLOWED: dict[DeviceState, frozenset[DeviceState]] = {
    S.OFF: frozenset({S.IDLE}),
    S.IDLE: frozenset({S.OFF, S.PROGRAMMED, S.NEGOTIATING, S.RUNNING}),
    S.PROGRAMMED: frozenset({S.IDLE, S.OFF, S.NEGOTIATING, S.RUNNING, S.ABORTED}),
    S.NEGOTIATING: frozenset({S.WAITING_FOR_START, S.RUNNING, S.ABORTED, S.FAILED}),
    S.WAITING_FOR_START: frozenset({S.RUNNING, S.ABORTED, S.FAILED}),
    S.RUNNING: frozenset({S.PAUSED, S.FINISHED, S.ABORTED, S.FAILED}),
    S.PAUSED: frozenset({S.RUNNING, S.ABORTED, S.FAILED}),
    S.FINISHED: frozenset({S.IDLE, S.OFF, S.PROGRAMMED, S.NEGOTIATING}),
    S.ABORTED: frozenset({S.IDLE, S.OFF, S.PROGRAMMED, S.NEGOTIATING}),
    S.FAILED: frozenset({S.IDLE, S.OFF}),
}
"""For every state, the states it may move to."""


class InvalidTransition(RuntimeError):
    """A transition the state machine does not allow."""

    def __init__(self, current: DeviceState, target: DeviceState) -> None:
        super().__init__(f"a device cannot go from {current.value} to {target.value}")
        self.current = current
        self.target = target


def check_transition(current: DeviceState, target: DeviceState) -> None:
    """Raise :class:`InvalidTransition` unless ``current → target`` is allowed."""
    if target not in ALLOWED[current]:
        raise InvalidTransition(current, target)
