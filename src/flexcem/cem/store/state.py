"""The CEM's state as table rows, and back: what :class:`~flexcem.cem.store.CemStore` keeps and restores.

:func:`snapshot` reads a :class:`~flexcem.cem.manager.CustomerEnergyManager` into :data:`Rows` — for each table,
the rows by primary key, each a dict of column values (messages as their JSON). :func:`restore` puts rows back
into a CEM that has not started yet: registry (capabilities, address, latest status), job book (offers with
phase, confirmed schedule and expected cost), price books (consumption and feed-in), the home's descriptions,
the user's conditions, what home devices confirmed, the current plan, the proposal (committed or not), the
devices held in emergency standby. Grid events in force are resumed after the start by the service
(:meth:`flexcem.cem.service.CemService.start`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from flexcem.cem.home_book import DescriptionRecord, OperatingConditions
from flexcem.cem.jobs import JobPhase, JobRecord, Schedule
from flexcem.cem.manager import PlanProposal
from flexcem.cem.registry import DeviceRecord
from flexcem.model import (
    AlertLevel,
    Circuit,
    CommandKind,
    CostEstimate,
    DeviceCapabilities,
    DeviceStatus,
    Direction,
    PowerSeries,
    PowerSetpointSchedule,
    PriceEnvironmentProfile,
    TimeWindow,
    message_class,
    message_type_of,
)
from flexcem.planner import Plan

if TYPE_CHECKING:
    from flexcem.cem.manager import CustomerEnergyManager

__all__ = ["ActiveEvent", "Key", "PlanCache", "Rows", "active_events", "restore", "resumed_emergency", "snapshot"]

Key = tuple[str, ...]
Rows = dict[str, dict[Key, dict[str, Any]]]
"""Rows by table name, then by primary key: column → value."""

STATE_TABLES = (
    "cem_devices",
    "cem_jobs",
    "cem_prices",
    "cem_descriptions",
    "cem_conditions",
    "cem_dispatch",
    "cem_plans",
    "cem_active_events",
    "cem_meta",
)
"""The tables a snapshot covers (the journal and the readings are appended, not snapshotted)."""


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


@dataclass
class PlanCache:
    """The JSON of the latest plans written, so that a large plan is serialised once, not at every change."""

    plans: dict[int, tuple[Plan, str]] = field(default_factory=dict)

    def json_of(self, plan: Plan) -> str:
        """``plan`` as JSON (cached by identity)."""
        known = self.plans.get(id(plan))
        if known is not None and known[0] is plan:
            return known[1]
        text = plan.model_dump_json()
        self.plans = {key: value for key, value in self.plans.items() if value[0] is not plan}
        if len(self.plans) > 4:
            self.plans.pop(next(iter(self.plans)))
        self.plans[id(plan)] = (plan, text)
        return text


# ------------------------------------------------------------------------------------------------ to rows


def _job_record(job: JobRecord) -> str:
    confirmed = job.confirmed
    return _dumps(
        {
            "offer_type": message_type_of(job.offer),
            "offer": job.offer.model_dump(mode="json"),
            "device_address": job.device_address,
            "received_at": _iso(job.received_at),
            "phase": job.phase.value,
            "confirmed": None
            if confirmed is None
            else {
                "start": _iso(confirmed.start),
                "sequence_id": confirmed.sequence_id,
                "profile": confirmed.profile.model_dump(mode="json"),
            },
            "started_at": _iso(job.started_at),
            "finished_at": _iso(job.finished_at),
            "energy_wh": job.energy_wh,
            "expected": None if job.expected is None else job.expected.model_dump(mode="json"),
            "not_before": _iso(job.not_before),
            "log": job.log,
        }
    )


def _device_rows(cem: CustomerEnergyManager) -> dict[Key, dict[str, Any]]:
    return {
        (record.device_id,): {
            "device_id": record.device_id,
            "address": record.address,
            "kind": record.capabilities.kind.value,
            "registered_at": record.registered_at,
            "last_seen": record.last_seen,
            "capabilities": record.capabilities.model_dump_json(),
            "state": None if record.status is None else record.status.state.value,
            "status_at": None if record.status is None else record.status.at,
            "status": None if record.status is None else record.status.model_dump_json(),
        }
        for record in cem.registry.records()
    }


def _price_rows(cem: CustomerEnergyManager) -> dict[Key, dict[str, Any]]:
    rows: dict[Key, dict[str, Any]] = {}
    for profile in (*cem.prices.profiles, *cem.home.feed_in.profiles):
        text = profile.model_dump_json()
        key = hashlib.sha256(text.encode()).hexdigest()
        rows[(key,)] = {
            "key": key,
            "applies_to": profile.applies_to.value,
            "profile_id": profile.profile_id,
            "issued_at": profile.issued_at,
            "profile": text,
        }
    return rows


def _home_rows(cem: CustomerEnergyManager) -> Rows:
    book, dispatcher = cem.home.book, cem.home.dispatcher
    descriptions: dict[Key, dict[str, Any]] = {}
    for description in book.descriptions():
        received = book.received_at(description.device_id)
        descriptions[(description.device_id,)] = {
            "device_id": description.device_id,
            "body_type": message_type_of(description),
            "received_at": received,
            "body": description.model_dump_json(),
        }
    conditions: dict[Key, dict[str, Any]] = {
        (device_id,): {"device_id": device_id, "body": value.model_dump_json()}
        for device_id, value in book.conditions.items()
    }
    dispatch: dict[Key, dict[str, Any]] = {}
    for (device_id, circuit), schedule in dispatcher.confirmed.items():
        slot = f"schedule:{circuit.value}"
        dispatch[(device_id, slot)] = {
            "device_id": device_id,
            "slot": slot,
            "body_type": "PowerSetpointSchedule",
            "body": schedule.model_dump_json(),
        }
    for device_id, wanted in dispatcher.settings_confirmed.items():
        dispatch[(device_id, "settings")] = {
            "device_id": device_id,
            "slot": "settings",
            "body_type": message_type_of(wanted),
            "body": wanted.model_dump_json(),
        }
    for device_id, until in dispatcher.held_until.items():
        if device_id not in cem.emergency.standby:  # a refusal hold-off (standby is kept with the emergency)
            dispatch[(device_id, "held")] = {
                "device_id": device_id,
                "slot": "held",
                "body_type": "until",
                "body": _dumps(_iso(until)),
            }
    return {"cem_descriptions": descriptions, "cem_conditions": conditions, "cem_dispatch": dispatch}


def _plan_rows(cem: CustomerEnergyManager, cache: PlanCache) -> dict[Key, dict[str, Any]]:
    rows: dict[Key, dict[str, Any]] = {}
    if cem.plan is not None:
        adopted = next((at for at, plan in reversed(cem.plan_history) if plan is cem.plan), cem.clock.now())
        rows[("current",)] = {
            "role": "current",
            "plan_no": cem.plans_made,
            "adopted_at": adopted,
            "plan": cache.json_of(cem.plan),
            "proposal_id": None,
            "committed_at": None,
            "detail": None,
        }
    proposal = cem.proposal
    if proposal is not None:
        home = proposal.home
        detail = {
            "jobs": [job.offer_id for job in proposal.jobs],
            "home": None
            if home is None
            else {
                "problem": home.problem.model_dump(mode="json"),
                "placed": [job.offer_id for job in home.placed],
                "schedules": [schedule.model_dump(mode="json") for schedule in home.schedules],
                "user_settings": [
                    {"type": message_type_of(settings), "body": settings.model_dump(mode="json")}
                    for settings in home.user_settings
                ],
                "notes": home.notes,
            },
        }
        rows[("proposal",)] = {
            "role": "proposal",
            "plan_no": cem.plans_made,
            "adopted_at": proposal.proposed_at,
            "plan": cache.json_of(proposal.plan),
            "proposal_id": proposal.proposal_id,
            "committed_at": proposal.committed_at,
            "detail": _dumps(detail),
        }
    return rows


def _event_rows(cem: CustomerEnergyManager) -> dict[Key, dict[str, Any]]:
    from flexcem.cem.store.load_events import load_event_rows

    rows: dict[Key, dict[str, Any]] = load_event_rows(cem)
    for key, emergency in cem.emergency.active.items():
        blackout = getattr(emergency, "blackout", None)
        state = {
            "level": emergency.level.value,
            "disaster": bool(getattr(emergency, "disaster", False)),
            "called_off": bool(getattr(emergency, "called_off", False)),
            "blackout": None if blackout is None else blackout.model_dump(mode="json"),
        }
        rows[(key,)] = {"key": key, "kind": "emergency", "until": emergency.until, "state": _dumps(state)}
    return rows


def _meta_rows(cem: CustomerEnergyManager) -> dict[Key, dict[str, Any]]:
    values = {
        "plans_made": cem.plans_made,
        "emergency_active": cem.emergency_active,
        "standby": {device_id: command.value for device_id, command in cem.emergency.standby.items()},
        "held_jobs": {offer: _iso(wait) for offer, wait in getattr(cem.emergency, "held_jobs", {}).items()},
        "base_load_forecast": None
        if cem.base_load_forecast is None
        else cem.base_load_forecast.model_dump(mode="json"),
    }
    return {(key,): {"key": key, "value": _dumps(value)} for key, value in values.items()}


def snapshot(cem: CustomerEnergyManager, cache: PlanCache | None = None) -> Rows:
    """The CEM's restorable state as rows (see the module)."""
    rows: Rows = {
        "cem_devices": _device_rows(cem),
        "cem_jobs": {
            (job.offer_id,): {
                "offer_id": job.offer_id,
                "device_id": job.device_id,
                "phase": job.phase.value,
                "seq": seq,
                "received_at": job.received_at,
                "record": _job_record(job),
            }
            for seq, job in enumerate(cem.jobs.all())
        },
        "cem_prices": _price_rows(cem),
        "cem_plans": _plan_rows(cem, cache or PlanCache()),
        "cem_active_events": _event_rows(cem),
        "cem_meta": _meta_rows(cem),
    }
    rows.update(_home_rows(cem))
    return rows


# ----------------------------------------------------------------------------------------------- from rows


def _job(text: str) -> JobRecord:
    data = json.loads(text)
    offer = message_class(data["offer_type"]).model_validate(data["offer"])
    confirmed = data["confirmed"]
    job = JobRecord(offer=offer, device_address=data["device_address"], received_at=_time(data["received_at"]))  # type: ignore[arg-type]
    job.phase = JobPhase(data["phase"])
    if confirmed is not None:
        job.confirmed = Schedule(
            start=datetime.fromisoformat(confirmed["start"]),
            sequence_id=confirmed["sequence_id"],
            profile=PowerSeries.model_validate(confirmed["profile"]),
        )
    job.started_at = _time(data["started_at"])
    job.finished_at = _time(data["finished_at"])
    job.energy_wh = float(data["energy_wh"])
    job.expected = None if data["expected"] is None else CostEstimate.model_validate(data["expected"])
    job.not_before = _time(data["not_before"])
    job.log = list(data["log"])
    return job


def _restore_home(cem: CustomerEnergyManager, rows: Rows) -> None:
    book, dispatcher = cem.home.book, cem.home.dispatcher
    for row in rows.get("cem_descriptions", {}).values():
        description = message_class(row["body_type"]).model_validate_json(row["body"])
        book._descriptions[row["device_id"]] = DescriptionRecord(description, row["received_at"])  # type: ignore[arg-type]
    for row in rows.get("cem_conditions", {}).values():
        book.conditions[row["device_id"]] = OperatingConditions.model_validate_json(row["body"])
    for row in rows.get("cem_dispatch", {}).values():
        device_id, slot = row["device_id"], row["slot"]
        if slot.startswith("schedule:"):
            schedule = PowerSetpointSchedule.model_validate_json(row["body"])
            dispatcher.confirmed[(device_id, Circuit(slot.removeprefix("schedule:")))] = schedule
        elif slot == "settings":
            dispatcher.settings_confirmed[device_id] = message_class(row["body_type"]).model_validate_json(row["body"])  # type: ignore[assignment]
        elif slot == "held":
            until = _time(json.loads(row["body"]))
            if until is not None:
                dispatcher.held_until[device_id] = until


def _restore_plans(cem: CustomerEnergyManager, rows: Rows) -> None:
    from flexcem.cem.home_plan import HomePlan
    from flexcem.planner import PlanningProblem

    plans = rows.get("cem_plans", {})
    current = plans.get(("current",))
    if current is not None:
        cem.plan = Plan.model_validate_json(current["plan"])
        cem.plan_history.append((current["adopted_at"], cem.plan))
    row = plans.get(("proposal",))
    if row is None:
        return
    detail = json.loads(row["detail"])
    jobs = [job for offer_id in detail["jobs"] if (job := cem.jobs.get(offer_id)) is not None]
    plan = cem.plan if current is not None and current["plan"] == row["plan"] else Plan.model_validate_json(row["plan"])
    home = None
    if detail["home"] is not None:
        part = detail["home"]
        home = HomePlan(
            plan=plan,  # type: ignore[arg-type]
            problem=PlanningProblem.model_validate(part["problem"]),
            placed=[job for offer_id in part["placed"] if (job := cem.jobs.get(offer_id)) is not None],
            schedules=[PowerSetpointSchedule.model_validate(item) for item in part["schedules"]],
            user_settings=[message_class(s["type"]).model_validate(s["body"]) for s in part["user_settings"]],  # type: ignore[misc]
            notes=list(part["notes"]),
        )
    cem.proposal = PlanProposal(
        proposal_id=row["proposal_id"],
        plan=plan,  # type: ignore[arg-type]
        jobs=jobs,
        proposed_at=row["adopted_at"],
        committed_at=row["committed_at"],
        home=home,
    )


def restore(cem: CustomerEnergyManager, rows: Rows) -> None:
    """Put the stored ``rows`` back into ``cem`` (before :meth:`~CustomerEnergyManager.start`)."""
    for row in rows.get("cem_devices", {}).values():
        capabilities = DeviceCapabilities.model_validate_json(row["capabilities"])
        record = DeviceRecord(capabilities, row["address"], row["registered_at"], last_seen=row["last_seen"])
        if row["status"] is not None:
            record.status = DeviceStatus.model_validate_json(row["status"])
        cem.registry._devices[record.device_id] = record
    for row in sorted(rows.get("cem_jobs", {}).values(), key=lambda row: row["seq"]):
        job = _job(row["record"])
        cem.jobs._jobs[job.offer_id] = job
    for row in sorted(rows.get("cem_prices", {}).values(), key=lambda row: row["issued_at"]):
        profile = PriceEnvironmentProfile.model_validate_json(row["profile"])
        book = cem.home.feed_in if profile.applies_to is Direction.GENERATION else cem.prices
        book.add(profile)
    _restore_home(cem, rows)
    meta = {key[0]: json.loads(row["value"]) for key, row in rows.get("cem_meta", {}).items()}
    cem.plans_made = int(meta.get("plans_made", 0))
    _restore_plans(cem, rows)
    standby = {device_id: CommandKind(value) for device_id, value in meta.get("standby", {}).items()}
    cem.emergency.standby.update(standby)
    for device_id in standby:
        now = cem.clock.now()
        cem.home.dispatcher.held_until[device_id] = now.replace(year=now.year + 100)
    held_jobs = getattr(cem.emergency, "held_jobs", None)
    if held_jobs is not None:
        held_jobs.update({offer: _time(wait) for offer, wait in meta.get("held_jobs", {}).items()})
    cem.emergency_active = bool(meta.get("emergency_active", False))
    forecast = meta.get("base_load_forecast")
    if forecast is not None:
        cem.base_load_forecast = PowerSeries.model_validate(forecast)


@dataclass(frozen=True)
class ActiveEvent:
    """A grid event in force when the CEM stopped, to be resumed: ``kind`` ``emergency`` or ``load_management``."""

    key: str
    kind: str
    until: datetime | None
    state: dict[str, Any]

    @property
    def level(self) -> AlertLevel:
        """An emergency's level."""
        return AlertLevel(self.state.get("level", AlertLevel.NORMAL.value))


def active_events(rows: Rows) -> list[ActiveEvent]:
    """The grid events that were in force in ``rows``."""
    return [
        ActiveEvent(row["key"], row["kind"], row["until"], json.loads(row["state"]))
        for row in rows.get("cem_active_events", {}).values()
    ]


def resumed_emergency(event: ActiveEvent) -> Any:
    """The emergency handler's record of a stored emergency (its level, end, disaster plan, announced cut)."""
    import dataclasses

    from flexcem.cem.emergency import _Emergency

    known = {f.name for f in dataclasses.fields(_Emergency)}
    values: dict[str, Any] = {"key": event.key, "level": event.level, "until": event.until}
    if "disaster" in known:
        values["disaster"] = bool(event.state.get("disaster", False))
    if "called_off" in known:
        values["called_off"] = bool(event.state.get("called_off", False))
    if "blackout" in known and event.state.get("blackout") is not None:
        values["blackout"] = TimeWindow.model_validate(event.state["blackout"])
    return _Emergency(**values)
