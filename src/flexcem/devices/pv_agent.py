"""The PV system's agent (JWG1134, JWG1212): forecast on registration, curtailment, status and log.

It announces a :class:`~flexcem.model.GenerationForecast` of the next 24 h from pvlib (the generator's
forecast of the whole data, computed once). A schedule's slot
power −L [W] limits the output to L (curtailment, JWG121x); Off switches it off, On lifts the limit, Decrease
and Increase move the limit. Export is what the home does not use itself, when the agent is given the home's
other consumption (``site_load_w``); without it everything generated counts as exported.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from flexcem.bus import Endpoint
from flexcem.data.citylearn import CityLearnData
from flexcem.devices.home_agent import HomeDeviceAgent
from flexcem.devices.pv import DEFAULT_PV, PvGenerator
from flexcem.devices.reactive_power import ReactivePowerControl
from flexcem.model import (
    CommandKind,
    DeviceCapabilities,
    DeviceFunction,
    DeviceKind,
    DirectControlResult,
    Envelope,
    GenerationForecast,
    PowerSetpointSchedule,
    PvLog,
    PvStatus,
    SimpleCommand,
    VarModeInformation,
    VoltageSupportRequest,
)
from flexcem.model.home_parameters import PvParameters

__all__ = ["PvAgent"]

FORECAST_HORIZON = timedelta(hours=24)


class PvAgent(HomeDeviceAgent):
    """A rooftop PV system on the bus."""

    kind = DeviceKind.PV
    log_type = PvLog

    def __init__(
        self,
        endpoint: Endpoint,
        cem_address: str,
        data: CityLearnData,
        parameters: PvParameters = DEFAULT_PV,
        *,
        site_load_w: Callable[[], float] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(endpoint, cem_address, data, **kwargs)
        self.generator = PvGenerator(parameters, data)
        self.site_load_w = site_load_w
        self.generated_w = 0.0
        self.exported_w = 0.0
        self._scheduled_limit = False
        p = self.generator.parameters
        self.reactive = ReactivePowerControl(p.inverter_ac_max_w or p.nominal_power_w)
        """The grid's VAR mode and voltage support (TR Table 1), followed by the inverter."""
        endpoint.on(VarModeInformation, self._on_var_mode)
        endpoint.on(VoltageSupportRequest, self._on_voltage_support)

    def capabilities(self) -> DeviceCapabilities:
        """Generation with curtailment commands, reactive-power control, status and log."""
        p = self.generator.parameters
        commands = (CommandKind.ON, CommandKind.OFF, CommandKind.INCREASE, CommandKind.DECREASE)
        declared = self._declare("pv-sim", commands if p.curtailable else (), p.inverter_ac_max_w or p.nominal_power_w)
        return declared.model_copy(update={"functions": (*declared.functions, DeviceFunction.REACTIVE_POWER)})

    @property
    def reactive_power_var(self) -> float:
        """Reactive power now [var]: + supplied, − absorbed."""
        return self.reactive.reactive_power_var(self.clock.now(), self.generated_w)

    async def _on_var_mode(self, info: VarModeInformation, envelope: Envelope) -> DirectControlResult:
        self._check_for_me(info.device_id or self.device_id, envelope)
        reason = self.reactive.take_mode(info)
        self._event(f"VAR mode {info.mode.value} ({info.control_id}): {reason or 'taken'}")
        return self._control_result(info.control_id, "VarModeInformation", reason)

    async def _on_voltage_support(self, request: VoltageSupportRequest, envelope: Envelope) -> DirectControlResult:
        self._check_for_me(self.device_id, envelope)
        reason = self.reactive.take_support(request)
        self._event(f"voltage support {request.request_id}: {reason or 'taken'}")
        return self._control_result(request.request_id, "VoltageSupportRequest", reason)

    def _control_result(self, ref: str, control_type: str, reason: str | None) -> DirectControlResult:
        return DirectControlResult(
            ref=ref,
            control_type=control_type,
            success=reason is None,
            devices=(self.device_id,) if reason is None else (),
            reason=reason,
        )

    def description(self) -> GenerationForecast:
        """The next 24 h of forecast output (as far as the data reaches)."""
        now = self.clock.now()
        end = min(now + FORECAST_HORIZON, self.data.end)
        return GenerationForecast(
            device_id=self.device_id,
            at=now,
            parameters=self.generator.parameters,
            curtailable=self.generator.parameters.curtailable,
            forecast=self.generator.forecast_series(now, end),
        )

    def status(self) -> PvStatus:
        """JWG1134 status."""
        g = self.generator
        return PvStatus(
            device_id=self.device_id,
            at=self.clock.now(),
            generated_power_w=self.generated_w,
            exported_power_w=min(self.exported_w, self.generated_w),
            cumulative_generated_wh=g.generated_wh,
            cumulative_exported_wh=g.exported_wh,
            limit_w=g.limit_w,
        )

    def _check_schedule(self, schedule: PowerSetpointSchedule) -> str | None:
        if not self.generator.parameters.curtailable:
            return "this PV system cannot be curtailed"
        if any(slot.power_w > 1e-6 for slot in schedule.schedule.slots):
            return "a PV system cannot consume: slot powers must be ≤ 0 (generation)"
        return None

    def _apply_command(self, command: SimpleCommand) -> str | None:
        g = self.generator
        if command.command not in {CommandKind.ON, CommandKind.OFF, CommandKind.INCREASE, CommandKind.DECREASE}:
            return f"{command.command.value} is not supported by a PV system"
        if not g.parameters.curtailable:
            return "this PV system cannot be curtailed"
        now_limit = g.limit_w if g.limit_w is not None else g.available_w(self.clock.now())
        if command.command is CommandKind.ON:
            g.limit_w = None
        elif command.command is CommandKind.OFF:
            g.limit_w = 0.0
        elif command.command is CommandKind.DECREASE:
            g.limit_w = max(0.0, now_limit - (command.power_w or 0.0))
        else:
            g.limit_w = now_limit + (command.power_w or 0.0)
        self._drop_schedules()
        self._scheduled_limit = False
        return None

    def _advance(self, now: datetime, dt_h: float) -> float:
        setpoint = self.setpoint_w(now)
        if setpoint is not None:
            self.generator.limit_w, self._scheduled_limit = max(0.0, -setpoint), True
        elif self._scheduled_limit or self.failsafe:
            self.generator.limit_w, self._scheduled_limit = None, False
        load = self.site_load_w() if self.site_load_w is not None else None
        self.generated_w, self.exported_w = self.generator.advance(now, dt_h, load)
        return -self.generated_w
