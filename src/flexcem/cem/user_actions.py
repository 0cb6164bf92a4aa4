"""What a household does to its CEM from a display: start now, postpone, override, preferences.

The CEM already plans, proposes and commits; this module adds the person's buttons, carried out the way the CEM
commands its devices — through its registry, its job book and the bus — never by reaching into a device:

* **start now** (the user's override of JWG1100): a device that declared the ``start`` command gets a
  :class:`~flexcem.model.SimpleCommand` ``start``; the CEM learns from the device's status that the job runs and
  re-plans the rest around it.
* **postpone** (story JWG4: "the user may postpone"): the device's open job may not start before a time (given,
  or the planned start plus a duration); the CEM re-plans and moves it with a slot shift (JWG1103). A time past
  the job's latest start is refused naming the field.
* **override "don't run"**: an offered or scheduled job is aborted (``abort`` command); a device the CEM plans
  with set points (battery, heat pump…) is left out of the plans until a time (it follows its own control, as
  after a refusal) and sent ``standby`` or ``off`` when it declared one. ``release`` ends such a hold.
* **preferences**: the objective (and its weights), the thresholds of the price-threshold rules, the devices
  the grid may adjust for load management with their maximum durations (JWG14), and the devices exempt from an
  emergency standby (JWG8). A change is checked as a whole against :class:`~flexcem.cem.settings.CemSettings`
  before anything changes: a bad value raises naming the field and the settings stay as they were.

Every action is written to the CEM's journal. Errors are :class:`UserActionError` (a :class:`ValueError`) with
the name of the field at fault in :attr:`UserActionError.field`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal

from pydantic import Field, ValidationError

from flexcem.cem.grid_settings import FlexPermission
from flexcem.cem.jobs import JobRecord
from flexcem.cem.threshold_control import PriceThresholdRule, send_command
from flexcem.model import CommandKind, DeviceFunction, FlexibleStartOffer, FlexModel, Identifier, SimpleCommand
from flexcem.planner.problem import Objective, ObjectiveWeights

if TYPE_CHECKING:
    from flexcem.cem.manager import CustomerEnergyManager
    from flexcem.cem.registry import DeviceRecord

__all__ = ["ActionResult", "HouseholdActions", "Preferences", "PreferencesUpdate", "UserActionError"]

DEFAULT_HOLD = timedelta(hours=24)
"""How long "don't run" keeps a set-point device out of the plans when no end is given."""


class UserActionError(ValueError):
    """A household action that cannot be carried out; :attr:`field` names the input at fault."""

    def __init__(self, field: str, message: str, *, conflict: bool = False) -> None:
        super().__init__(message)
        self.field = field
        self.conflict = conflict
        """True when the input is well formed but the state does not allow it (HTTP 409 rather than 422)."""


@dataclass(frozen=True)
class ActionResult:
    """What an action did: whether the device carried it out, and a sentence for the person."""

    device_id: str
    action: str
    done: bool
    message: str
    not_before: datetime | None = None
    held_until: datetime | None = None


class Preferences(FlexModel):
    """The household's preferences as the CEM holds them."""

    objective: Objective = Field(description="What plans minimise: cost, co2, self_consumption or weighted.")
    objective_weights: ObjectiveWeights | None = Field(default=None, description="Weights of 'weighted'.")
    price_thresholds: tuple[PriceThresholdRule, ...] = Field(
        default=(), description="Devices run by price threshold [currency/kWh] (JWG1111, JWG1124)."
    )
    allowed_devices: tuple[FlexPermission, ...] = Field(
        default=(), description="Devices the grid may adjust for load management, each for at most max_duration."
    )
    emergency_exempt: tuple[Identifier, ...] = Field(
        default=(), description="Devices kept on during an emergency standby (JWG8)."
    )


class PreferencesUpdate(FlexModel):
    """A change of preferences: the fields given replace the current ones, the others stay."""

    objective: Objective | None = None
    objective_weights: ObjectiveWeights | None = None
    price_thresholds: tuple[PriceThresholdRule, ...] | None = None
    allowed_devices: tuple[FlexPermission, ...] | None = None
    emergency_exempt: tuple[Identifier, ...] | None = None


OverrideMode = Literal["run_now", "dont_run", "release"]


class HouseholdActions:
    """The household's actions on one CEM."""

    def __init__(self, cem: CustomerEnergyManager) -> None:
        self.cem = cem

    # ------------------------------------------------------------------------------------------- helpers

    def _record(self, device_id: str) -> DeviceRecord:
        record = self.cem.registry.get(device_id)
        if record is None:
            raise UserActionError("device_id", f"device_id {device_id!r} is not registered")
        return record

    def _open_job(self, device_id: str) -> JobRecord | None:
        return self.cem.jobs.current(device_id)

    async def _command(self, record: DeviceRecord, command: CommandKind, why: str) -> tuple[bool, str | None]:
        return await send_command(
            self.cem.endpoint, record.address, SimpleCommand(device_id=record.device_id, command=command, reason=why)
        )

    def held_until(self, device_id: str) -> datetime | None:
        """Until when ``device_id`` is left out of the plans (a hold by the user or after a refusal), if it is."""
        until = self.cem.home.dispatcher.held_until.get(device_id)
        return until if until is not None and until > self.cem.clock.now() else None

    # ---------------------------------------------------------------------------------------- start now

    async def start_now(self, device_id: str) -> ActionResult:
        """Start ``device_id``'s prepared, offered or scheduled job at once (``start`` command)."""
        record = self._record(device_id)
        capabilities = record.capabilities
        if not capabilities.supports(DeviceFunction.SIMPLE_COMMANDS) or CommandKind.START not in capabilities.commands:
            raise UserActionError("device_id", f"device_id {device_id!r} did not declare the start command")
        job = self._open_job(device_id)
        if job is not None and not job.phase.movable:
            raise UserActionError("device_id", f"device_id {device_id!r} is {job.phase.value} already", conflict=True)
        done, reason = await self._command(record, CommandKind.START, "the user pressed start now")
        message = f"{device_id} started now" if done else f"{device_id} did not start: {reason}"
        self.cem.note(f"the user asked {device_id} to start now: " + ("done" if done else f"refused ({reason})"))
        if done:
            self.cem.request_replan(f"{device_id} started by the user")
        return ActionResult(device_id, "start_now", done, message)

    # ----------------------------------------------------------------------------------------- postpone

    def postpone(self, device_id: str, *, until: datetime | None = None, by: timedelta | None = None) -> ActionResult:
        """Let ``device_id``'s open job start no earlier than ``until``, or ``by`` later than planned.

        Exactly one of ``until`` (aware) and ``by`` (> 0) is given; ``by`` counts from the job's confirmed (or
        planned) start, or from now when it has none. Raises :class:`UserActionError` naming the field.
        """
        self._record(device_id)
        if (until is None) == (by is None):
            raise UserActionError("until", "give exactly one of until and by")
        now = self.cem.clock.now()
        if until is not None:
            if until.tzinfo is None:
                raise UserActionError("until", "until needs a time zone (e.g. 2021-06-15T20:00:00+02:00)")
            if until <= now:
                raise UserActionError("until", f"until {until.isoformat()} has passed")
        if by is not None and by <= timedelta(0):
            raise UserActionError("by", "by must be a positive duration")
        job = self._open_job(device_id)
        if job is None or not job.phase.movable:
            state = "has no job" if job is None else f"is {job.phase.value}"
            raise UserActionError("device_id", f"device_id {device_id!r} {state}: nothing to postpone", conflict=True)
        if until is None:
            assert by is not None
            until = max(now, self.planned_start(job) or now) + by
        offer = job.offer
        last_start = offer.latest_start if isinstance(offer, FlexibleStartOffer) else offer.latest_end
        if until > last_start:
            raise UserActionError(
                "until" if by is None else "by",
                f"{device_id} must start by {last_start.isoformat()} to finish by {offer.latest_end.isoformat()}; "
                f"it cannot wait until {until.isoformat()}",
            )
        job.not_before = until
        self.cem.note(f"the user postponed {device_id} until {self.cem.settings.clock_time(until, True)}")
        self.cem.request_replan(f"{device_id} postponed by the user")
        return ActionResult(
            device_id, "postpone", True, f"{device_id} starts no earlier than {until.isoformat()}", until
        )

    def planned_start(self, job: JobRecord) -> datetime | None:
        """The start the device has confirmed, else the job's start in the proposal or the plan."""
        if job.confirmed is not None:
            return job.confirmed.start
        for candidate in (self.cem.proposal.plan if self.cem.proposal else None, self.cem.plan):
            device = (
                None
                if candidate is None
                else next((d for d in candidate.devices if d.device_id == job.device_id), None)
            )
            if device is not None and device.start is not None:
                return device.start
        return None

    # ----------------------------------------------------------------------------------------- override

    async def override(self, device_id: str, mode: OverrideMode, until: datetime | None = None) -> ActionResult:
        """The user overrides the plan for ``device_id``: ``run_now``, ``dont_run`` (until ``until``) or
        ``release`` (end a ``dont_run`` hold)."""
        if mode == "run_now":
            return await self.start_now(device_id)
        record = self._record(device_id)
        if mode == "release":
            return self._release(record)
        if mode != "dont_run":
            raise UserActionError("mode", f"mode {mode!r} is not one of run_now, dont_run, release")
        now = self.cem.clock.now()
        if until is not None and (until.tzinfo is None or until <= now):
            raise UserActionError("until", "until must be a future time with a time zone")
        job = self._open_job(device_id)
        if job is not None:
            if not job.phase.movable:
                raise UserActionError("device_id", f"device_id {device_id!r} is {job.phase.value}", conflict=True)
            return await self._abort_job(record, job)
        if self.cem.home.book.get(device_id) is None:
            raise UserActionError("device_id", f"device_id {device_id!r} has nothing planned to stop", conflict=True)
        return await self._hold(record, until or now + DEFAULT_HOLD)

    async def _abort_job(self, record: DeviceRecord, job: JobRecord) -> ActionResult:
        device_id = record.device_id
        if CommandKind.ABORT not in record.capabilities.commands:
            raise UserActionError("device_id", f"device_id {device_id!r} did not declare the abort command")
        done, reason = await self._command(record, CommandKind.ABORT, "the user does not want it to run")
        self.cem.note(f"the user cancelled {device_id}'s run: " + ("done" if done else f"refused ({reason})"))
        if done:
            self.cem.request_replan(f"{device_id} cancelled by the user")
        message = f"{device_id} will not run" if done else f"{device_id} refused: {reason}"
        return ActionResult(device_id, "dont_run", done, message)

    async def _hold(self, record: DeviceRecord, until: datetime) -> ActionResult:
        device_id = record.device_id
        dispatcher = self.cem.home.dispatcher
        dispatcher.held_until[device_id] = until
        for key in [key for key in dispatcher.confirmed if key[0] == device_id]:
            del dispatcher.confirmed[key]  # it stops following it: no committed load, a fresh schedule on release
        commands = record.capabilities.commands
        stop = next((c for c in (CommandKind.STANDBY, CommandKind.OFF) if c in commands), None)
        done, reason = (True, None) if stop is None else await self._command(record, stop, "held by the user")
        self.cem.note(
            f"the user keeps {device_id} out of the plans until {self.cem.settings.clock_time(until, True)}"
            + ("" if stop is None else f"; {stop.value}: " + ("done" if done else f"refused ({reason})"))
        )
        self.cem.request_replan(f"{device_id} held by the user")
        return ActionResult(device_id, "dont_run", True, f"{device_id} is left out of the plans", held_until=until)

    def _release(self, record: DeviceRecord) -> ActionResult:
        device_id = record.device_id
        if self.cem.home.dispatcher.held_until.pop(device_id, None) is None:
            raise UserActionError("device_id", f"device_id {device_id!r} is not held", conflict=True)
        self.cem.note(f"the user gave {device_id} back to the plans")
        self.cem.request_replan(f"{device_id} released by the user")
        return ActionResult(device_id, "release", True, f"{device_id} is planned again")

    # -------------------------------------------------------------------------------------- preferences

    def preferences(self) -> Preferences:
        """The preferences in force."""
        settings = self.cem.settings
        return Preferences(
            objective=settings.objective,
            objective_weights=settings.objective_weights,
            price_thresholds=settings.price_thresholds,
            allowed_devices=settings.grid.load_management,
            emergency_exempt=settings.grid.emergency_exempt,
        )

    def update_preferences(self, update: PreferencesUpdate) -> Preferences:
        """Apply ``update`` as a whole, or raise :class:`UserActionError` naming the field and change nothing."""
        settings = self.cem.settings
        thresholds = update.price_thresholds
        if thresholds is not None:
            self._check_thresholds(thresholds)
        objective = update.objective or settings.objective
        weights = update.objective_weights
        if weights is None and update.objective is None:
            weights = settings.objective_weights
        grid = settings.grid.model_dump()
        if update.allowed_devices is not None:
            grid["load_management"] = [p.model_dump() for p in update.allowed_devices]
        if update.emergency_exempt is not None:
            grid["emergency_exempt"] = list(update.emergency_exempt)
        merged = settings.model_dump()
        merged.update(
            objective=objective,
            objective_weights=None if weights is None else weights.model_dump(),
            grid=grid,
        )
        if thresholds is not None:
            merged["price_thresholds"] = [rule.model_dump() for rule in thresholds]
        try:
            new = type(settings).model_validate(merged)
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or _field_in(first["msg"])
            where = where.replace("grid.load_management", "allowed_devices").replace("grid.", "")
            raise UserActionError(where, f"{where}: {first['msg']}") from None
        before = {rule.device_id: rule.threshold_per_kwh for rule in settings.price_thresholds}
        for rule in thresholds or ():
            if before[rule.device_id] != rule.threshold_per_kwh:
                self.cem.set_price_threshold(rule.device_id, rule.threshold_per_kwh)  # from the next interval
        self.cem.update_settings(new)
        self.cem.note("the user changed the preferences: " + ", ".join(sorted(update.model_fields_set)))
        return self.preferences()

    def _check_thresholds(self, rules: tuple[PriceThresholdRule, ...]) -> None:
        known = {rule.device_id: rule for rule in self.cem.settings.price_thresholds}
        seen: set[str] = set()
        for index, rule in enumerate(rules):
            where = f"price_thresholds.{index}"
            if rule.device_id in seen:
                raise UserActionError(f"{where}.device_id", f"{where}.device_id {rule.device_id!r} is given twice")
            seen.add(rule.device_id)
            if rule.device_id not in known:
                raise UserActionError(
                    f"{where}.device_id",
                    f"{where}.device_id {rule.device_id!r} has no price-threshold rule; rules are set in the "
                    "CEM's configuration, the household changes their thresholds",
                )
            if rule.run_when != known[rule.device_id].run_when:
                raise UserActionError(f"{where}.run_when", f"{where}.run_when of a rule cannot change here")
        missing = sorted(set(known) - seen)
        if missing:
            raise UserActionError("price_thresholds", f"price_thresholds lacks the rule of {', '.join(missing)}")


def _field_in(message: str) -> str:
    """The settings field a model-level message names first (e.g. ``objective_weights``)."""
    for name in ("objective_weights", "objective", "price_thresholds", "emergency_exempt"):
        if name in message:
            return name
    return "preferences"
