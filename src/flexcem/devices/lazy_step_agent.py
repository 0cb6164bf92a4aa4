"""Home device agents whose physics steps lazily: brought to the moment anything looks or a command arrives.

The heat pump and the air conditioner choose their power for a step at its start and hold it; when a schedule,
a profile or a command arrives mid-step, their state (tank, room) first catches up to that moment along the step
under way, and the rest of the step is chosen again from there (docs/home-physics.md). This base class keeps the
step under way and does the catching up; a subclass says how its physics advances along a step
(:meth:`LazyStepAgent._step_physics`) and how a step is chosen (:meth:`LazyStepAgent._begin`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Generic, Protocol, TypeVar

from flexcem.devices.home_agent import HomeDeviceAgent
from flexcem.model import Envelope, PowerSetpointSchedule, SettingResult, TemperatureProfile

__all__ = ["LazyStepAgent", "StepUnderWay"]


class StepUnderWay(Protocol):
    """What every step under way has: the power held from ``start`` (moves on as the state catches up) to
    ``end``."""

    start: datetime
    end: datetime


StepT = TypeVar("StepT", bound=StepUnderWay)


class LazyStepAgent(HomeDeviceAgent, Generic[StepT]):
    """A home device agent whose physics is brought to the moment before any change (see the module)."""

    _under_way: StepT | None = None
    """The step under way, or None between steps."""

    def _step_physics(self, step: StepT, dt_h: float) -> None:
        """Advance the device's physics along ``step`` for ``dt_h`` [h] (its powers and data held)."""
        raise NotImplementedError

    def _begin(self, now: datetime, end: datetime) -> float:
        """Choose the step from ``now`` to ``end`` from the state now (set ``_under_way``); the power drawn [W]."""
        raise NotImplementedError

    def _catch_up(self, now: datetime) -> None:
        """Advance the physics along the step under way up to ``now`` (at most to the step's end)."""
        step = self._under_way
        if step is None or now <= step.start:
            return
        until = min(now, step.end)
        self._step_physics(step, (until - step.start).total_seconds() / 3600.0)
        step.start = until
        if until >= step.end:
            self._under_way = None

    def _choose_again(self) -> None:
        """After a change mid-step (the state caught up to now): the rest of the step chosen now."""
        step, now = self._under_way, self.clock.now()
        if step is None or not step.start == now < step.end:
            return
        self.power.set(now, self._begin(now, step.end))

    def _advance(self, now: datetime, dt_h: float) -> float:
        self._catch_up(now)
        return self._begin(now, now + timedelta(seconds=round(dt_h * 3600.0, 6)))

    async def _on_schedule(self, schedule: PowerSetpointSchedule, envelope: Envelope) -> SettingResult:
        """A schedule applies from the moment it arrives: the state catches up first, the step is chosen again."""
        self._catch_up(self.clock.now())
        result = await super()._on_schedule(schedule, envelope)
        self._choose_again()
        return result

    async def _on_profile(self, profile: TemperatureProfile, envelope: Envelope) -> SettingResult:
        """A temperature profile applies from the moment it arrives, as a schedule does."""
        self._catch_up(self.clock.now())
        result = await super()._on_profile(profile, envelope)
        self._choose_again()
        return result

    def _before_control_change(self) -> None:
        self._catch_up(self.clock.now())

    def _after_control_change(self) -> None:
        self._choose_again()
