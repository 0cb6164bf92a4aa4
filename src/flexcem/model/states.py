"""States of a smart device under flexible start (uc-home §12)."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["DeviceState"]


class DeviceState(StrEnum):
    """State of a device under flexible start (uc-home §12)."""

    OFF = "off"
    IDLE = "idle"
    PROGRAMMED = "programmed"
    NEGOTIATING = "negotiating"
    WAITING_FOR_START = "waiting_for_start"
    RUNNING = "running"
    PAUSED = "paused"
    FINISHED = "finished"
    ABORTED = "aborted"
    FAILED = "failed"

    @property
    def started(self) -> bool:
        """Whether a job in this state has begun running (and can no longer be moved)."""
        return self in {DeviceState.RUNNING, DeviceState.PAUSED, DeviceState.FINISHED, DeviceState.FAILED}

    @property
    def active(self) -> bool:
        """Whether a job is under way in this state (programmed up to paused)."""
        return self in {
            DeviceState.PROGRAMMED,
            DeviceState.NEGOTIATING,
            DeviceState.WAITING_FOR_START,
            DeviceState.RUNNING,
            DeviceState.PAUSED,
        }
