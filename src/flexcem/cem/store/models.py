"""The CEM's tables (SQLAlchemy 2 typed ORM): what it must find again after a restart, and its history.

Messages of the neutral model are kept as their JSON (``model_dump_json``) in ``Text`` columns, next to the
columns a query needs (device, phase, time). Times are timezone-aware UTC instants (``UtcDateTime`` of the grid
store); powers in W, energies in Wh.

* ``cem_devices``: registrations (capabilities, address) and each device's latest status;
* ``cem_jobs``: flexibility offers and what became of them (phase, confirmed schedule, expected cost);
* ``cem_prices``: price profiles received (consumption and feed-in);
* ``cem_descriptions``, ``cem_conditions``: home devices' descriptions, the user's operating conditions;
* ``cem_dispatch``: what each home device confirmed (its set-point schedule per circuit, its settings);
* ``cem_plans``: the current plan and the proposal (committed or not);
* ``cem_active_events``: grid events in force (emergencies: the devices in standby);
* ``cem_journal``: the CEM's journal — grid signals received, its answers, what it did;
* ``cem_readings``: power per device and for the site over time (history, JWG10/12);
* ``cem_meta``: single values of the state (plans made, emergency flag, devices in standby);
* ``cem_records``: records written on their own, outside the state snapshots (the power-loss alive record).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import Double, Index, Integer, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from flexcem.store.models import NAMING, UtcDateTime

__all__ = [
    "ActiveEventRow",
    "CemBase",
    "ConditionRow",
    "DescriptionRow",
    "DeviceRow",
    "DispatchRow",
    "JobRow",
    "JournalRow",
    "MetaRow",
    "PlanRow",
    "PriceRow",
    "ReadingRow",
    "RecordRow",
]

ID = 64
ADDRESS = 160


class CemBase(DeclarativeBase):
    """Declarative base of the CEM store; ``CemBase.metadata`` is what its migrations build."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UtcDateTime()}


class DeviceRow(CemBase):
    """A registered device and its latest status."""

    __tablename__ = "cem_devices"
    device_id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    address: Mapped[str] = mapped_column(String(ADDRESS))
    kind: Mapped[str] = mapped_column(String(32))
    registered_at: Mapped[datetime]
    last_seen: Mapped[datetime | None]
    capabilities: Mapped[str] = mapped_column(Text)
    """JSON of :class:`~flexcem.model.DeviceCapabilities`."""
    state: Mapped[str | None] = mapped_column(String(32))
    status_at: Mapped[datetime | None]
    status: Mapped[str | None] = mapped_column(Text)
    """JSON of the latest :class:`~flexcem.model.DeviceStatus`."""


class JobRow(CemBase):
    """One offered job (flexible start or charging session) with what was agreed."""

    __tablename__ = "cem_jobs"
    offer_id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    device_id: Mapped[str] = mapped_column(String(ID), index=True)
    phase: Mapped[str] = mapped_column(String(16), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    """Order of arrival (the job book keeps offers in that order)."""
    received_at: Mapped[datetime]
    record: Mapped[str] = mapped_column(Text)
    """JSON: offer, address, phase, confirmed schedule, times, energy, expected cost, log."""


class PriceRow(CemBase):
    """A price profile received (``applies_to``: consumption or generation)."""

    __tablename__ = "cem_prices"
    key: Mapped[str] = mapped_column(String(ID), primary_key=True)
    """SHA-256 of the profile's JSON (the same profile twice is one row)."""
    applies_to: Mapped[str] = mapped_column(String(16))
    profile_id: Mapped[str] = mapped_column(String(ID))
    issued_at: Mapped[datetime]
    profile: Mapped[str] = mapped_column(Text)


class DescriptionRow(CemBase):
    """A home device's latest description (storage, thermal storage, room climate, generation or load forecast)."""

    __tablename__ = "cem_descriptions"
    device_id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    body_type: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime]
    body: Mapped[str] = mapped_column(Text)


class ConditionRow(CemBase):
    """The user's operating and time conditions of an appliance (JWG1110)."""

    __tablename__ = "cem_conditions"
    device_id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    body: Mapped[str] = mapped_column(Text)


class DispatchRow(CemBase):
    """What a home device confirmed: ``slot`` is ``schedule:{circuit}``, ``settings`` or ``held`` (refusal)."""

    __tablename__ = "cem_dispatch"
    device_id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    slot: Mapped[str] = mapped_column(String(48), primary_key=True)
    body_type: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)


class PlanRow(CemBase):
    """``role`` ``current`` (the plan in force) or ``proposal`` (waiting for, or given, the user's commit)."""

    __tablename__ = "cem_plans"
    role: Mapped[str] = mapped_column(String(16), primary_key=True)
    plan_no: Mapped[int] = mapped_column(Integer)
    adopted_at: Mapped[datetime]
    plan: Mapped[str] = mapped_column(Text)
    """JSON of :class:`~flexcem.planner.Plan`."""
    proposal_id: Mapped[str | None] = mapped_column(String(ID))
    committed_at: Mapped[datetime | None]
    detail: Mapped[str | None] = mapped_column(Text)
    """Proposal only, JSON: the placed jobs' offer ids and the whole-home part (problem, schedules, settings)."""


class ActiveEventRow(CemBase):
    """A grid event in force at the CEM (an emergency and the devices it put in standby)."""

    __tablename__ = "cem_active_events"
    key: Mapped[str] = mapped_column(String(ADDRESS), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    until: Mapped[datetime | None]
    state: Mapped[str] = mapped_column(Text)


class JournalRow(CemBase):
    """One journal entry: a signal received, an answer given, something the CEM did."""

    __tablename__ = "cem_journal"
    __table_args__ = (Index(None, "at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime]
    text: Mapped[str] = mapped_column(Text)


class ReadingRow(CemBase):
    """A device's power (``device_id`` ``site``: the sum over the devices) from a status [W, Wh]."""

    __tablename__ = "cem_readings"
    device_id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    at: Mapped[datetime] = mapped_column(primary_key=True)
    power_w: Mapped[float] = mapped_column(Double)
    energy_wh: Mapped[float] = mapped_column(Double, default=0.0)


class MetaRow(CemBase):
    """One named value (JSON)."""

    __tablename__ = "cem_meta"
    key: Mapped[str] = mapped_column(String(ID), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class RecordRow(CemBase):
    """A record kept on its own (not part of the state snapshots): ``alive`` is the power-loss alive record."""

    __tablename__ = "cem_records"
    key: Mapped[str] = mapped_column(String(ID), primary_key=True)
    at: Mapped[datetime]
    value: Mapped[str] = mapped_column(Text)
