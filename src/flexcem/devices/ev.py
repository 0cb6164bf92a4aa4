"""An electric vehicle at its home charger, with a flexible charging session (story JWG2; TR §3.4.4).

Plugging in is the activation (an internal state change): the car offers the energy it needs by the
departure time, its charger's power range and its taper — above ``taper_soc`` the battery accepts linearly
less, down to the charger's minimum at full. It then charges slot by slot within the power the CEM assigns,
never above what the battery accepts. The user stays in control: "start now" charges at full power, and if
the plan would leave the car short at departure it charges at full power as soon as it must (fail-safe).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import datetime, timedelta

from flexcem.bus import Endpoint
from flexcem.devices.agent import DeviceAgent, Job
from flexcem.model import (
    ActivationTrigger,
    ChargeCurvePoint,
    ChargingSessionOffer,
    CommandKind,
    DeviceCapabilities,
    DeviceFunction,
    DeviceKind,
    DeviceState,
    DeviceStatus,
    IncentiveProgram,
    PowerSeries,
    minimum_charging_time,
)

__all__ = ["ElectricVehicle", "EvBattery", "PlannedEnergy"]

STEP = timedelta(seconds=60)
"""Integration step of the charging physics."""

LOOKAHEAD_STEPS = 240
"""Most charging steps of equal power worked out at once (the agent then wakes at least every 4 h)."""

ENERGY_TOLERANCE_WH = 10.0
"""How much short of the requested energy still counts as delivered [Wh]."""


@dataclass
class EvBattery:
    """The traction battery: usable capacity [Wh], state of charge (0–1), AC→DC charging efficiency."""

    capacity_wh: float = 58_000.0
    soc: float = 0.5
    charge_efficiency: float = 0.92
    taper_soc: float = 0.8

    def ac_energy_to(self, target_soc: float) -> float:
        """Energy to draw from the grid [Wh] to reach ``target_soc``."""
        return max(0.0, target_soc - self.soc) * self.capacity_wh / self.charge_efficiency

    def charge(self, ac_energy_wh: float) -> None:
        """Store ``ac_energy_wh`` drawn from the grid."""
        self.soc = min(1.0, self.soc + ac_energy_wh * self.charge_efficiency / self.capacity_wh)

    def power_curve(self, max_power_w: float, min_power_w: float) -> tuple[ChargeCurvePoint, ...]:
        """Most the battery accepts [W] against AC energy drawn from now: flat, then linear to the minimum."""
        full_wh = (1.0 - self.soc) * self.capacity_wh / self.charge_efficiency
        knee_wh = max(0.0, (self.taper_soc - self.soc) * self.capacity_wh / self.charge_efficiency)
        if full_wh <= 0:
            return (ChargeCurvePoint(energy_wh=0.0, max_power_w=min_power_w),)
        if knee_wh <= 0:
            start_w = self.accepts_w(max_power_w, min_power_w)
            return (
                ChargeCurvePoint(energy_wh=0.0, max_power_w=start_w),
                ChargeCurvePoint(energy_wh=full_wh, max_power_w=min_power_w),
            )
        return (
            ChargeCurvePoint(energy_wh=0.0, max_power_w=max_power_w),
            ChargeCurvePoint(energy_wh=knee_wh, max_power_w=max_power_w),
            ChargeCurvePoint(energy_wh=full_wh, max_power_w=min_power_w),
        )

    def accepts_w(self, max_power_w: float, min_power_w: float) -> float:
        """Most the battery accepts now [W] from a charger of ``max_power_w``."""
        if self.soc <= self.taper_soc:
            return max_power_w
        fraction = (1.0 - self.soc) / (1.0 - self.taper_soc)
        return min_power_w + fraction * (max_power_w - min_power_w)


class PlannedEnergy:
    """The energy a charging profile still plans from any instant on [Wh] (its positive slots only)."""

    def __init__(self, profile: PowerSeries) -> None:
        self.profile = profile
        self._ends = [slot.end for slot in profile.slots]
        self._after = [0.0] * len(self._ends)
        """The energy of the slots after each slot [Wh]."""
        for k in range(len(self._ends) - 2, -1, -1):
            following = profile.slots[k + 1]
            self._after[k] = self._after[k + 1] + max(0.0, following.power_w) * following.hours

    def from_(self, since: datetime) -> float:
        """Energy planned from ``since`` to the profile's end [Wh]."""
        k = bisect.bisect_right(self._ends, since)
        if k == len(self._ends):
            return 0.0
        slot = self.profile.slots[k]
        start = max(slot.start, since)
        return self._after[k] + max(0.0, slot.power_w) * (slot.end - start).total_seconds() / 3600.0


class ElectricVehicle(DeviceAgent):
    """An EV and its wallbox (default 11 kW three-phase, 4.1 kW minimum at 6 A)."""

    kind = DeviceKind.ELECTRIC_VEHICLE
    standby_power_w = 0.0

    def __init__(
        self,
        endpoint: Endpoint,
        cem_address: str,
        *,
        battery: EvBattery | None = None,
        charger_max_w: float = 11_000.0,
        charger_min_w: float = 4_140.0,
        **kwargs: float,
    ) -> None:
        super().__init__(endpoint, cem_address, **kwargs)
        self.battery = battery or EvBattery()
        self.charger_max_w = charger_max_w
        self.charger_min_w = charger_min_w
        self.plugged_in = False
        self.target_soc: float | None = None
        self._planned: PlannedEnergy | None = None
        self._ahead: tuple[Job, float, list[tuple[datetime, datetime]], int] | None = None
        """The charging steps under way: job, power [W], steps (start, end) and how many of them are added."""

    def capabilities(self) -> DeviceCapabilities:
        """Charging sessions with slot shifts, simple commands and status."""
        return DeviceCapabilities(
            device_id=self.device_id,
            kind=self.kind,
            manufacturer="flexcem",
            model="ev-sim",
            functions=(
                DeviceFunction.CHARGING_SESSION,
                DeviceFunction.SLOT_SHIFT,
                DeviceFunction.SIMPLE_COMMANDS,
                DeviceFunction.STATUS_REPORT,
                DeviceFunction.POWER_MEASUREMENT,
            ),
            commands=(CommandKind.START, CommandKind.PAUSE, CommandKind.RESUME, CommandKind.STOP),
            max_power_w=self.charger_max_w,
            min_power_w=self.charger_min_w,
            energy_capacity_wh=self.battery.capacity_wh,
        )

    def prepare_session(
        self, *, target_soc: float, departure: datetime, incentive: IncentiveProgram | None = None
    ) -> None:
        """The user plugs in and says how full the car must be by ``departure`` (not yet activated)."""
        if not 0.0 < target_soc <= 1.0:
            raise ValueError("target_soc must be in (0, 1]")
        if target_soc <= self.battery.soc:
            raise ValueError(f"the battery is already at {self.battery.soc:.0%}")
        self.plugged_in = True
        self.target_soc = target_soc

        def offer(trigger: ActivationTrigger) -> ChargingSessionOffer:
            now = self.clock.now()
            energy = self.battery.ac_energy_to(target_soc)
            curve = self.battery.power_curve(self.charger_max_w, self.charger_min_w)
            return ChargingSessionOffer(
                offer_id=self._new_offer_id(),
                device_id=self.device_id,
                trigger=trigger,
                earliest_start=now,
                latest_start=departure - self._fastest(energy),
                latest_end=departure,
                energy_wh=energy,
                max_power_w=self.charger_max_w,
                min_power_w=self.charger_min_w,
                power_curve=curve,
                incentive=incentive,
            )

        self._prepare(offer)

    async def plug_in(
        self, *, target_soc: float, departure: datetime, incentive: IncentiveProgram | None = None
    ) -> ChargingSessionOffer:
        """Plugging in activates the session (an internal state change): the car offers it to the CEM."""
        self.prepare_session(target_soc=target_soc, departure=departure, incentive=incentive)
        result = await self.activate(ActivationTrigger.STATE_CHANGE)
        assert isinstance(result, ChargingSessionOffer)
        return result

    def unplug(self) -> None:
        """The user unplugs: a session still under way is aborted."""
        if self.state.active:
            self._abort("unplugged")
        self.plugged_in = False
        self.acknowledge()

    def _session(self, job: Job) -> ChargingSessionOffer:
        assert isinstance(job.offer, ChargingSessionOffer)
        return job.offer

    def _power_now(self, job: Job, now: datetime) -> float:
        """What the car draws at ``now`` [W]: the plan's slot power, the battery's limit, the deadline."""
        session = self._session(job)
        accepts = min(self.charger_max_w, session.limit_at(job.energy_wh))
        remaining = session.energy_wh - job.energy_wh
        if job.profile is None or self._must_hurry(job, now):
            return accepts
        slot = job.profile.slot_at(now)
        allowed = 0.0 if slot is None else max(0.0, slot.power_w)
        power = min(allowed, accepts)
        if remaining > 0 and power < self.charger_min_w - 1.0:
            return 0.0
        return power

    def _must_hurry(self, job: Job, now: datetime) -> bool:
        """Whether only full power from now still reaches the target by departure."""
        session = self._session(job)
        remaining = session.energy_wh - job.energy_wh
        if remaining <= ENERGY_TOLERANCE_WH:
            return False
        if job.profile is not None and self._planned_energy_wh(job.profile, now) >= remaining - ENERGY_TOLERANCE_WH:
            return False
        return now + self._fastest(remaining) + STEP >= session.latest_end

    def _fastest(self, energy_wh: float) -> timedelta:
        """Shortest time to draw ``energy_wh`` from the present state of charge at full power."""
        curve = self.battery.power_curve(self.charger_max_w, self.charger_min_w)
        return minimum_charging_time(curve, self.charger_max_w, energy_wh)

    def _planned_energy_wh(self, profile: PowerSeries, since: datetime) -> float:
        """Energy [Wh] the profile still plans from ``since`` (asked every step: summed once per profile)."""
        if self._planned is None or self._planned.profile is not profile:
            self._planned = PlannedEnergy(profile)
        return self._planned.from_(since)

    def _check_schedule(
        self, job: Job, start: datetime, sequence_id: str | None, profile: PowerSeries | None
    ) -> str | None:
        session = self._session(job)
        if profile is None:
            return None
        if any(slot.power_w > self.charger_max_w + 1.0 for slot in profile.slots):
            return f"the profile asks for more than the charger's {self.charger_max_w:.0f} W"
        deliverable = self._simulate(job, start, profile)
        if deliverable < session.energy_wh - ENERGY_TOLERANCE_WH:
            return (
                f"the profile delivers only {deliverable:.0f} Wh of the {session.energy_wh:.0f} Wh needed by "
                f"{session.latest_end.isoformat()}"
            )
        return None

    def _simulate(self, job: Job, start: datetime, profile: PowerSeries) -> float:
        """Energy [Wh] the car would draw by departure following ``profile`` from ``start`` (no hurrying)."""
        session = self._session(job)
        battery = EvBattery(
            self.battery.capacity_wh, self.battery.soc, self.battery.charge_efficiency, self.battery.taper_soc
        )
        delivered = job.energy_wh
        now = max(start, profile.start)
        while now < min(session.latest_end, profile.end) and delivered < session.energy_wh:
            slot = profile.slot_at(now)
            allowed = 0.0 if slot is None else max(0.0, slot.power_w)
            power = min(allowed, battery.accepts_w(self.charger_max_w, self.charger_min_w))
            if power < self.charger_min_w - 1.0:
                power = 0.0
            step_end = min(now + STEP, slot.end if slot else now + STEP, session.latest_end)
            energy = power * (step_end - now).total_seconds() / 3600.0
            energy = min(energy, session.energy_wh - delivered)
            delivered += energy
            battery.charge(energy)
            now = step_end
        return delivered

    def _remaining_time(self, job: Job) -> timedelta | None:
        session = self._session(job)
        now = self.clock.now()
        if job.profile is not None:
            last = max((slot.end for slot in job.profile.slots if slot.power_w > 0), default=session.latest_end)
            return max(timedelta(0), last - now)
        return max(timedelta(0), session.latest_start - now) + session.minimum_duration()

    def status(self) -> DeviceStatus:
        """The present status, with the energy of the charging steps already over (see :meth:`_run`)."""
        self._catch_up(self.clock.now(), partial=False)
        return super().status()

    def _step_end(self, job: Job, now: datetime, power: float, delivered_wh: float) -> datetime:
        """End of the charging step from ``now`` at ``power`` [W] after ``delivered_wh`` [Wh] of the session: a
        :data:`STEP` on, cut at the profile's slot end and where the session's energy is reached."""
        step_end = now + STEP
        if job.profile is not None:
            slot = job.profile.slot_at(now)
            if slot is not None:
                step_end = min(step_end, slot.end)
        if power > 0:
            to_target = timedelta(hours=(self._session(job).energy_wh - delivered_wh) / power)
            step_end = min(step_end, now + max(to_target, timedelta(microseconds=1)))
        return step_end

    def _steps_at(self, job: Job, power: float, first: tuple[datetime, datetime]) -> list[tuple[datetime, datetime]]:
        """The charging steps from ``first`` on that draw the same ``power`` [W]: what stepping every
        :data:`STEP` would do, worked out at once so that the agent wakes only when the power changes, the session
        ends or :data:`LOOKAHEAD_STEPS` steps are over. Each step's power is decided exactly as at its start (the
        energy and state of charge at that moment, applied step by step as :meth:`_catch_up` will)."""
        session = self._session(job)
        steps = [first]
        saved_energy, saved_soc = job.energy_wh, self.battery.soc
        try:
            while len(steps) < LOOKAHEAD_STEPS:
                start, end = steps[-1]
                energy = min(power * (end - start).total_seconds() / 3600.0, session.energy_wh - job.energy_wh)
                job.energy_wh += energy
                self.battery.charge(energy)
                if job.energy_wh >= session.energy_wh - 1e-6 or self._power_now(job, end) != power:
                    break
                steps.append((end, self._step_end(job, end, power, job.energy_wh)))
        finally:
            job.energy_wh, self.battery.soc = saved_energy, saved_soc
        return steps

    def _catch_up(self, now: datetime, *, partial: bool) -> None:
        """Add the energy of the charging steps planned by :meth:`_run` that are over at ``now`` (and, when
        ``partial``, of the one under way up to ``now``: the run wakes early on a change), each as its own step."""
        ahead = self._ahead
        if ahead is None:
            return
        job, power, steps, done = ahead
        session = self._session(job)
        while done < len(steps):
            start, end = steps[done]
            if end > now and not (partial and start < now):
                break
            upto = min(end, now)
            energy = min(power * (upto - start).total_seconds() / 3600.0, session.energy_wh - job.energy_wh)
            job.energy_wh += energy
            self.battery.charge(energy)
            done += 1
            if upto < end:
                break
        self._ahead = None if done >= len(steps) else (job, power, steps, done)

    async def _run(self, job: Job) -> None:
        """Charge step by step (each :data:`STEP`, cut at slot ends and at the target): the power is decided at
        each step's start. Steps of equal power follow one another without a wake-up (:meth:`_steps_at`); their
        energy is added as each is over — when the agent looks (:meth:`status`) or wakes."""
        session = self._session(job)
        try:
            while True:
                now = self.clock.now()
                if self.state in {DeviceState.ABORTED, DeviceState.FAILED} or self.job is not job:
                    return
                if job.energy_wh >= session.energy_wh - 1e-6:
                    self._finish(job)
                    return
                if self.state is DeviceState.PAUSED:
                    self.power.set(now, 0.0)
                    await self._wait_change(None)
                    continue
                power = self._power_now(job, now)
                steps = self._steps_at(job, power, (now, self._step_end(job, now, power, job.energy_wh)))
                self.power.set(now, power)
                self._ahead = (job, power, steps, 0)
                await self._wait_change(steps[-1][1])
                self._catch_up(self.clock.now(), partial=True)
                self._ahead = None
        finally:  # stopped (cancelled, or done): the steps over by now count, the one under way is lost
            if self._ahead is not None and self._ahead[0] is job:
                self._catch_up(self.clock.now(), partial=False)
                self._ahead = None
