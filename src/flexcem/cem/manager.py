"""The Customer Energy Manager: registry → offers and tariffs → plan → start times and slot shifts.

The CEM registers devices from their capabilities, takes their flexibility offers (JWG1101) and the
retailer's price profiles, plans all movable jobs at once with the MILP planner, assigns start times
(JWG1102), and re-plans whenever a tariff, an offer or a device's state changes, sending updated energy
profiles only to devices that have not started (JWG1103). It tells each device the expected running cost
of its job (JWG1100 step 5) and keeps a journal of what it did.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from flexcem.bus import DeliveryTimeout, Endpoint, LinkClosed, MessageRefused, PeerUnsupported
from flexcem.cem.components import GridFacing
from flexcem.cem.consumption_cap import ConsumptionCap
from flexcem.cem.dispatcher import Dispatcher
from flexcem.cem.emergency import EmergencyControl
from flexcem.cem.energy_saving import EnergySaving
from flexcem.cem.forecasts import HomeForecasts
from flexcem.cem.grid_state import GridStatePolicy
from flexcem.cem.home_book import OperatingConditions
from flexcem.cem.home_manager import HomeManager
from flexcem.cem.home_plan import HomePlan
from flexcem.cem.hot_water import HotWaterSupport
from flexcem.cem.island import IslandOperation
from flexcem.cem.jobs import JobBook, JobPhase, JobRecord
from flexcem.cem.load_management import LoadManagement
from flexcem.cem.planning import build_problem
from flexcem.cem.power_reduction import ReductionBook, response_from_plan
from flexcem.cem.price_book import PriceBook
from flexcem.cem.registry import DeviceRegistry
from flexcem.cem.settings import CemSettings
from flexcem.cem.threshold_control import ThresholdControl
from flexcem.cem.timer_control import TimerControl
from flexcem.model import (
    ChargingSessionOffer,
    CostEstimate,
    DeviceFunction,
    DeviceRegistration,
    DeviceStatus,
    Direction,
    Envelope,
    FlexibleStartOffer,
    HeatPumpStatus,
    OfferWithdrawal,
    PowerFlow,
    PowerReductionRequest,
    PowerReductionResponse,
    PowerSeries,
    PriceEnvironmentProfile,
    SettingResult,
    StatusRequest,
)
from flexcem.planner import Plan, solve

__all__ = ["CustomerEnergyManager", "JournalEntry", "PlanProposal"]

log = logging.getLogger("flexcem.cem")

PLAN_HISTORY = 100
"""How many recent plans the CEM keeps in :attr:`CustomerEnergyManager.plan_history`."""


@dataclass
class PlanProposal:
    """A plan waiting for the user's commit (JWG1110: "the user confirms the results and commits the plan")."""

    proposal_id: str
    plan: Plan
    jobs: list[JobRecord]
    proposed_at: datetime
    committed_at: datetime | None = None
    home: HomePlan | None = None
    """The whole-home part (settings and schedules per device), when the home's devices are planned too."""


@dataclass(frozen=True)
class JournalEntry:
    """One thing the CEM did or learnt, for the user and for tests."""

    at: datetime
    text: str


class CustomerEnergyManager:
    """One CEM on one endpoint."""

    def __init__(
        self, endpoint: Endpoint, settings: CemSettings | None = None, forecasts: HomeForecasts | None = None
    ) -> None:
        self.endpoint = endpoint
        self.clock = endpoint.clock
        self.settings = settings or CemSettings()
        self.registry = DeviceRegistry(self.clock.now)
        self.jobs = JobBook()
        self.prices = PriceBook()
        self.reductions = ReductionBook()
        self.plan: Plan | None = None
        self.proposal: PlanProposal | None = None
        self.plans_made = 0
        self.planning_cpu_s = 0.0
        """CPU time this CEM spent computing plans [s] (building the problem, solving it, reading the plan)."""
        self.plan_history: deque[tuple[datetime, Plan]] = deque(maxlen=PLAN_HISTORY)
        """The latest plans with the instant each was adopted (to compare what was planned with what ran)."""
        self.base_load_forecast: PowerSeries | None = None
        self.journal: list[JournalEntry] = []
        self.on_change: list[Callable[[str], None]] = []
        """Called with what changed (``journal``, ``status``, ``plan``, ``proposal``, ``prices``) after each change
        of the CEM's state, synchronously (the service persists it: TR JWG3102 "restart in the same state")."""
        self._dispatcher = Dispatcher(endpoint, self.settings, self.note)
        self._replan = asyncio.Event()
        self._reasons: list[str] = []
        self._idle = asyncio.Event()
        self._idle.set()
        self._loop_task: asyncio.Task[None] | None = None
        self.threshold_controls = {
            rule.device_id: ThresholdControl(endpoint, self.prices, rule, self.address_of, self._status_of, self.note)
            for rule in self.settings.price_thresholds
        }
        self.timers = [
            TimerControl(endpoint, rule, self.settings.zone, self.address_of, self._status_of, self.note)
            for rule in self.settings.timed_runs
        ]
        self._threshold_tasks: list[asyncio.Task[None]] = []
        self.home = HomeManager(self, endpoint, forecasts)
        self.emergency_active = False
        """Whether the grid has an emergency in force (red state): set by the emergency handling."""
        self.hot_water = HotWaterSupport(endpoint, self.registry, lambda: self.emergency_active, self.note)
        self.emergency = EmergencyControl(self, endpoint)  # JWG2122, JWG8, JWG20: sets emergency_active
        self.grid_state = GridStatePolicy(self, endpoint, self.emergency)  # traffic light (TR §3.4.5)
        self.load_management = LoadManagement(self, endpoint)  # JWG2121, JWG14
        self.energy_saving = EnergySaving(self, endpoint)  # JWG19
        self.island = IslandOperation(self.reductions, self.request_replan, self.note)  # story JWG4
        self.consumption_cap = ConsumptionCap(
            endpoint,
            self.jobs,
            lambda: self.settings.home.consumption_cap,
            lambda: self.settings.zone,
            self.request_replan,
            self.note,
        )
        self.grid_side = GridFacing(self, endpoint)  # metering, time sync, status and logs, heartbeat, alerts
        self.consumption = self.grid_side.consumption  # JWG10, JWG12: history(), forecast(), yearly_cost()
        endpoint.on(DeviceRegistration, self._on_registration)
        endpoint.on(FlexibleStartOffer, self._on_flexible_start)
        endpoint.on(ChargingSessionOffer, self._on_charging_session)
        endpoint.on(OfferWithdrawal, self._on_withdrawal)
        endpoint.on(DeviceStatus, self._on_status)
        endpoint.on(PriceEnvironmentProfile, self._on_prices)
        endpoint.on(PowerReductionRequest, self._on_power_reduction)
        endpoint.on(HeatPumpStatus, self._on_heat_pump_status)

    # ------------------------------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Start receiving and planning."""
        await self.endpoint.start()
        self._loop_task = asyncio.create_task(self._planning_loop(), name=f"planning {self.endpoint.address}")
        self._threshold_tasks = [
            asyncio.create_task(control.run(), name=f"price threshold {device_id}")
            for device_id, control in self.threshold_controls.items()
        ] + [asyncio.create_task(timer.run(), name="timer") for timer in self.timers]
        self._threshold_tasks.append(asyncio.create_task(self._periodic_replans(), name="periodic re-plans"))
        self._threshold_tasks += self.grid_side.start()

    async def stop(self) -> None:
        """Stop planning and leave the bus."""
        tasks = [task for task in (self._loop_task, *self._threshold_tasks) if task is not None]
        while pending := [task for task in tasks if not task.done()]:  # again when a cancel was swallowed
            for task in pending:
                task.cancel()
            await asyncio.wait(pending, timeout=1.0)
        self.grid_side.stopped()  # JWG3102: a stop on purpose is no power loss
        await self.endpoint.close()

    def _time(self, instant: datetime, with_day: bool = False) -> str:
        return self.settings.clock_time(instant, with_day)

    def address_of(self, device_id: str) -> str | None:
        record = self.registry.get(device_id)
        return None if record is None else record.address

    def _status_of(self, device_id: str) -> DeviceStatus | None:
        record = self.registry.get(device_id)
        return None if record is None else record.status

    def set_price_threshold(self, device_id: str, threshold_per_kwh: float) -> None:
        """The customer changes a device's price threshold (JWG1111, JWG1124); effective at the next interval."""
        self.threshold_controls[device_id].set_threshold(threshold_per_kwh)

    def note(self, text: str) -> None:
        self.journal.append(JournalEntry(self.clock.now(), text))
        log.info("%s: %s", self.endpoint.address, text)
        self.changed("journal")

    def changed(self, what: str) -> None:
        """Tell every :attr:`on_change` hook that ``what`` changed."""
        for hook in self.on_change:
            hook(what)

    # ------------------------------------------------------------------------------------------- inbound

    async def _on_registration(self, registration: DeviceRegistration, envelope: Envelope) -> None:
        """Register the device. A known device that registers again has restarted and lost its schedules,
        profiles and settings: the CEM forgets what it had confirmed and re-plans, so that the plan is sent to it
        in full rather than judged unchanged against what the device no longer has."""
        device_id = registration.capabilities.device_id
        known = device_id in self.registry
        record = self.registry.register(registration.capabilities, envelope.sender, self.clock.now())
        self.note(f"registered {record.device_id} ({record.capabilities.kind.value})" + (" again" if known else ""))
        if known and self.home.dispatcher.forget(device_id):
            self.note(f"{device_id} registered again: what it had confirmed is forgotten; it gets the plan anew")
            self.request_replan(f"{device_id} registered again")

    async def _on_flexible_start(self, offer: FlexibleStartOffer, envelope: Envelope) -> None:
        self.registry.require(offer.device_id, envelope.sender, DeviceFunction.FLEXIBLE_START)
        self._take_offer(offer, envelope)

    async def _on_charging_session(self, offer: ChargingSessionOffer, envelope: Envelope) -> None:
        self.registry.require(offer.device_id, envelope.sender, DeviceFunction.CHARGING_SESSION)
        self._take_offer(offer, envelope)

    def _take_offer(self, offer: FlexibleStartOffer | ChargingSessionOffer, envelope: Envelope) -> None:
        now = self.clock.now()
        if offer.latest_end <= now:
            raise MessageRefused(f"latest_end {offer.latest_end.isoformat()} has passed", "latest_end")
        if self.jobs.add(JobRecord(offer=offer, device_address=envelope.sender, received_at=now)):
            self.note(
                f"offer {offer.offer_id} from {offer.device_id}: start {self._time(offer.earliest_start)}–"
                f"{self._time(offer.latest_start)}, done by {self._time(offer.latest_end)}"
            )
            self.request_replan(f"offer from {offer.device_id}")

    async def _on_withdrawal(self, withdrawal: OfferWithdrawal, envelope: Envelope) -> None:
        self.registry.require(withdrawal.device_id, envelope.sender)
        job = self.jobs.get(withdrawal.offer_id)
        if job is None or job.device_id != withdrawal.device_id:
            raise MessageRefused(f"no offer {withdrawal.offer_id} of {withdrawal.device_id}", "offer_id")
        if job.phase.movable:
            job.phase = JobPhase.ABORTED
            self.note(f"{withdrawal.device_id} withdrew {withdrawal.offer_id}: {withdrawal.reason}")
            self.request_replan(f"withdrawal by {withdrawal.device_id}")

    async def _on_heat_pump_status(self, status: HeatPumpStatus, envelope: Envelope) -> None:
        """JWG1122: a heat pump's status; one that heats extra hot water ad hoc gets the batteries' help."""
        self.registry.require(status.device_id, envelope.sender)
        self.grid_side.status.remember(status)
        await self.hot_water.on_heat_pump_status(status)

    async def request_extra_hot_water(self, device_id: str, until: datetime | None = None) -> SettingResult:
        """JWG1121: the user asks for extra hot water now; refused while an emergency is active (see
        :meth:`HotWaterSupport.request_extra_hot_water`)."""
        return await self.hot_water.request_extra_hot_water(device_id, until)

    async def _on_status(self, status: DeviceStatus, envelope: Envelope) -> None:
        record = self.registry.require(status.device_id, envelope.sender)
        if record.status is not None and status.at < record.status.at:
            return
        record.status = status
        self.changed("status")
        self.grid_side.status.remember(status)
        self.grid_side.metering.check_device(record, status)
        job = self.jobs.get(status.offer_id) if status.offer_id else None
        if job is None or not job.apply_status(status):
            return
        self.note(f"{status.device_id} is {status.state.value}")
        if (job.phase is JobPhase.RUNNING or job.phase.closed) and not job.went_as_planned(
            self.settings.slot_duration
        ):
            self.request_replan(f"{status.device_id} {job.phase.value}")

    async def _on_prices(self, profile: PriceEnvironmentProfile, envelope: Envelope) -> None:
        if envelope.sender not in self.settings.tariff_sources:
            raise MessageRefused(f"{envelope.sender} is not a tariff source of this CEM", "from")
        if profile.applies_to is Direction.GENERATION:
            if self.home.take_feed_in(profile):
                self.note(f"feed-in tariff {profile.profile_id} r{profile.revision} from {envelope.sender}")
                self.request_replan(f"feed-in tariff {profile.profile_id} r{profile.revision}")
            return
        try:
            changed = self.prices.add(profile)
        except ValueError as error:
            raise MessageRefused(str(error), "currency") from None
        self.note(
            f"tariff {profile.profile_id} r{profile.revision} ({profile.binding.value}) "
            f"{self._time(profile.start, True)}–{self._time(profile.end, True)} from {envelope.sender}"
        )
        for control in self.threshold_controls.values():
            control.tariff_changed()
        if changed:
            self.request_replan(f"tariff {profile.profile_id} r{profile.revision}")

    async def _on_power_reduction(self, request: PowerReductionRequest, envelope: Envelope) -> PowerReductionResponse:
        """JWG120x/121x: plan with the limit for the window and answer with the flow the plan expects."""
        self.reductions.take(request, envelope.sender, self.clock.now(), self.settings.tariff_sources)
        self.note(
            f"{request.flow.value} reduction {request.request_id} from {envelope.sender}: at most "
            f"{request.limit_w:.0f} W {self._time(request.start)}–{self._time(request.end)} ({request.means.value})"
        )
        self.request_replan(f"{request.flow.value} reduction {request.request_id}")
        await self.settled()
        answer = response_from_plan(request, self.plan)
        verdict = "accepted" if answer.accepted else f"not sufficient: {answer.reason}"
        self.note(f"reduction {request.request_id}: expects {answer.expected_max_w:.0f} W at most, {verdict}")
        return answer

    # ------------------------------------------------------------------------------------------ planning

    def request_replan(self, reason: str) -> None:
        """Ask for a re-plan; triggers within ``settings.replan_delay`` are planned together."""
        self._reasons.append(reason)
        self._idle.clear()
        self._replan.set()

    async def settled(self) -> None:
        """Wait until no re-plan is pending or running."""
        await self._idle.wait()

    def update_settings(self, settings: CemSettings) -> None:
        """The user changes the settings (objective, limits…); the CEM re-plans (JWG1103 trigger)."""
        self.settings = settings
        self._dispatcher = Dispatcher(self.endpoint, settings, self.note)
        self.request_replan("settings changed by the user")

    def set_base_load_forecast(self, forecast: PowerSeries) -> None:
        """The non-controllable load expected [W], committed in every plan."""
        self.base_load_forecast = forecast
        self.request_replan("base-load forecast")

    async def _planning_loop(self) -> None:
        while True:
            await self._replan.wait()
            await self.clock.sleep(self.settings.replan_delay.total_seconds())
            self._replan.clear()
            reasons, self._reasons = self._reasons, []
            try:
                await self.replan(reasons)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("%s: planning failed", self.endpoint.address)
            if not self._replan.is_set():
                self._idle.set()

    def set_operating_conditions(self, conditions: OperatingConditions) -> None:
        """The user's operating and time conditions for an appliance (JWG1110, story JWG18); re-plans."""
        self.home.set_conditions(conditions)

    def clear_operating_conditions(self, device_id: str) -> bool:
        """Drop the user's conditions for ``device_id`` (JWG1110); whether there were any (then it re-plans)."""
        if self.home.book.conditions.pop(device_id, None) is None:
            return False
        self.request_replan(f"conditions of {device_id} cleared by the user")
        return True

    async def _periodic_replans(self) -> None:
        while True:
            interval = self.settings.home.replan_interval
            await self.clock.sleep(3600.0 if interval is None else interval.total_seconds())
            if interval is not None and self.home.active:
                self.request_replan("periodic re-plan")

    def adopt(self, plan: Plan) -> None:
        """Make ``plan`` the current plan."""
        self.plan = plan
        self.plans_made += 1
        self.plan_history.append((self.clock.now(), plan))
        self.consumption_cap.check(plan)
        self.grid_side.metering.check_plan(plan)
        self.changed("plan")

    def propose(self, plan: Plan, jobs: list[JobRecord], home: HomePlan | None = None) -> PlanProposal:
        """Keep ``plan`` as the proposal the user must commit (JWG1110)."""
        self.proposal = PlanProposal(f"proposal-{self.plans_made}", plan, jobs, self.clock.now(), home=home)
        self.changed("proposal")
        self.note(f"{self.proposal.proposal_id} waits for the user's commit; nothing is sent before it")
        return self.proposal

    async def dispatch_jobs(self, plan: Plan, jobs: list[JobRecord]) -> None:
        """Send the jobs' start times and slot shifts of ``plan``."""
        await self._dispatcher.apply(plan, jobs)

    async def replan(self, reasons: list[str] | None = None) -> Plan | None:
        """Plan every movable job (and the home's devices) now and send what the plan asks of each device."""
        if self.home.active:
            result = await self.home.replan("; ".join(dict.fromkeys(reasons or ["request"])))
            return None if result is None else result.plan
        now = self.clock.now()
        movable = [job for job in self.jobs.movable() if job.offer.latest_end > now]
        if not movable:
            return None
        if not self.prices.profiles:
            self.note("no tariff yet: jobs wait for one (devices start on their own by their latest start)")
            return None
        began = time.thread_time()
        problem, placed = build_problem(
            now=now,
            jobs=movable,
            running=self.jobs.running(),
            prices=self.prices,
            base_load=self.base_load_forecast,
            settings=self.settings,
            registry=self.registry,
            import_limits=self.reductions.limits(now, PowerFlow.IMPORT),
            export_limits=self.reductions.limits(now, PowerFlow.EXPORT),
        )
        if not placed:
            self.planning_cpu_s += time.thread_time() - began
            return None
        plan = solve(problem, time_limit_s=self.settings.planner_time_limit_s)
        self.planning_cpu_s += time.thread_time() - began
        self.adopt(plan)
        why = "; ".join(dict.fromkeys(reasons or ["request"]))
        self.note(
            f"plan {self.plans_made} ({why}): {len(placed)} job(s), expected cost {plan.total_cost:.4f} "
            f"{plan.currency}" + "".join(f"; violation {v.message}" for v in plan.violations)
        )
        if self.settings.commit_required:
            self.propose(plan, placed)
            return plan
        await self._dispatcher.apply(plan, placed)
        return plan

    async def commit(self, proposal_id: str) -> PlanProposal:
        """The user commits the proposed plan (JWG1110); only then do start times go to the devices.

        Raises :class:`ValueError` naming ``proposal_id`` when it is not the current, uncommitted proposal (a
        newer tariff or offer has replaced it, or it was committed already).
        """
        proposal = self.proposal
        if proposal is None or proposal.proposal_id != proposal_id:
            current = proposal.proposal_id if proposal else "none"
            raise ValueError(f"proposal_id {proposal_id!r} is not the current proposal (current: {current})")
        if proposal.committed_at is not None:
            raise ValueError(f"proposal_id {proposal_id!r} was committed already")
        now = self.clock.now()
        job_ids = {job.device_id for job in proposal.jobs}
        too_soon = [
            device.device_id
            for device in proposal.plan.devices
            if device.device_id in job_ids
            and device.start is not None
            and device.start < now + self.settings.minimum_lead_time
        ]
        if too_soon:
            self.request_replan(f"{proposal_id} out of date")
            raise ValueError(
                f"proposal_id {proposal_id!r} is out of date: the planned start of {', '.join(too_soon)} has "
                "passed; a new proposal follows"
            )
        proposal.committed_at = now
        self.note(f"the user committed {proposal_id}")
        if proposal.home is not None:
            await self.home.dispatch(proposal.home)
        else:
            await self._dispatcher.apply(proposal.plan, [job for job in proposal.jobs if job.phase.movable])
        return proposal

    # ---------------------------------------------------------------------------------------- reporting

    def expected_costs(self) -> dict[str, CostEstimate]:
        """The latest expected cost of each device's open job."""
        return {
            job.device_id: job.expected for job in self.jobs.all() if job.expected is not None and not job.phase.closed
        }

    async def request_status(self, device_id: str) -> DeviceStatus | None:
        """Ask a device for its status now; ``None`` when it does not answer."""
        record = self.registry.get(device_id)
        if record is None:
            raise KeyError(device_id)
        try:
            status = await self.endpoint.deliver(
                record.address, StatusRequest(device_id=device_id), expect=DeviceStatus
            )
        except (DeliveryTimeout, MessageRefused, PeerUnsupported, LinkClosed):
            return None
        record.status = status
        return status
