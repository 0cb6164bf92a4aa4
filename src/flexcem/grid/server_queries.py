"""The grid server's reads from its store: registry, presence, signals with answers, messages, telemetry.

Listings are pages (``limit`` items after ``offset``); each function returns the items and whether more
follow (it reads one item past the page to know). Signals are newest first; messages oldest first.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from flexcem.codec import decode_json
from flexcem.grid.records import SignalRecord
from flexcem.grid.server_views import (
    AnswerView,
    CustomerView,
    EndpointView,
    GroupView,
    LoadPoint,
    MessageView,
    MeterView,
    PresenceView,
    ReadingView,
    SignalView,
)
from flexcem.store import GridStore, SqlSignalStore
from flexcem.store.models import Area, Customer, Endpoint, Group, GroupMember, Message, Meter, Presence, Signal

__all__ = [
    "MAX_SCANNED_SIGNALS",
    "answers_of",
    "customers",
    "endpoints",
    "groups",
    "load_points",
    "messages",
    "meters",
    "meters_of",
    "newest_per_area",
    "open_signals",
    "presence",
    "readings",
    "signals",
]

MAX_SCANNED_SIGNALS = 5000
"""With ``active`` given, the newest this many signals are looked at (activity is computed, not stored)."""

_MAX_BYTES = 16 * 1024 * 1024


def _body(envelope: str | None) -> dict[str, Any] | None:
    if envelope is None:
        return None
    body = decode_json(envelope.encode("utf-8"), max_bytes=_MAX_BYTES).body
    data: dict[str, Any] = body.model_dump(mode="json", exclude_none=True)
    return data


def _page(rows: Sequence[Any], limit: int) -> tuple[list[Any], bool]:
    return list(rows[:limit]), len(rows) > limit


def customers(store: GridStore, limit: int, offset: int) -> tuple[list[CustomerView], bool]:
    """Customers by id."""
    statement = select(Customer).order_by(Customer.id).limit(limit + 1).offset(offset)
    with store.engine.connect() as connection:
        rows = connection.execute(statement).all()
    items, more = _page(rows, limit)
    return [CustomerView(id=r.id, name=r.name, created_at=r.created_at) for r in items], more


def endpoints(
    store: GridStore, domain: str, limit: int, offset: int, address: str | None = None
) -> tuple[list[EndpointView], bool]:
    """Endpoints of ``domain`` (or just ``address``) by address, with their groups and presence."""
    statement = (
        select(Endpoint, Presence.online, Presence.since)
        .outerjoin(Presence, Presence.address == Endpoint.address)
        .where(Endpoint.domain == domain)
        .order_by(Endpoint.address)
        .limit(limit + 1)
        .offset(offset)
    )
    if address is not None:
        statement = statement.where(Endpoint.address == address)
    with store.engine.connect() as connection:
        rows = connection.execute(statement).all()
        items, more = _page(rows, limit)
        addresses = [r.address for r in items]
        memberships: dict[str, list[str]] = defaultdict(list)
        for group, member in connection.execute(
            select(GroupMember.group_address, GroupMember.endpoint_address).where(
                GroupMember.endpoint_address.in_(addresses)
            )
        ):
            memberships[member].append(group)
    return [
        EndpointView(address=r.address, customer_id=r.customer_id, created_at=r.created_at,
                     groups=sorted(memberships[r.address]), online=r.online, since=r.since)
        for r in items
    ], more


def groups(store: GridStore, domain: str, limit: int, offset: int) -> tuple[list[GroupView], bool]:
    """Groups of ``domain`` by address, with members and the area they form."""
    statement = select(Group.address).where(Group.domain == domain).order_by(Group.address)
    with store.engine.connect() as connection:
        rows = connection.execute(statement.limit(limit + 1).offset(offset)).all()
        items, more = _page(rows, limit)
        addresses = [r.address for r in items]
        members: dict[str, list[str]] = defaultdict(list)
        for group, member in connection.execute(
            select(GroupMember.group_address, GroupMember.endpoint_address)
            .where(GroupMember.group_address.in_(addresses))
            .order_by(GroupMember.endpoint_address)
        ):
            members[group].append(member)
        areas = {g: a for a, g in connection.execute(select(Area.id, Area.group_address).where(Area.domain == domain))}
    return [GroupView(address=a, members=members[a], area=areas.get(a)) for a in addresses], more


def open_signals(store: GridStore) -> list[tuple[str, str]]:
    """(program, signal id) of every signal with a deadline still to come, oldest first."""
    statement = select(Signal.program, Signal.signal_id).where(Signal.status == "open").order_by(Signal.sent_at)
    with store.engine.connect() as connection:
        return [(str(p), str(s)) for p, s in connection.execute(statement)]


def newest_per_area(store: GridStore, program: str) -> list[str]:
    """Signal ids of ``program``'s newest signal for each area (the traffic light in force)."""
    statement = (
        select(Signal.area, Signal.signal_id)
        .where(Signal.program == program, Signal.area.is_not(None))
        .order_by(Signal.sent_at.desc(), Signal.id.desc())
    )
    newest: dict[str, str] = {}
    with store.engine.connect() as connection:
        for area, signal_id in connection.execute(statement):
            newest.setdefault(str(area), str(signal_id))
    return list(newest.values())


def presence(store: GridStore, domain: str, limit: int, offset: int) -> tuple[list[PresenceView], bool]:
    """The last presence of each endpoint of ``domain`` that was ever seen."""
    statement = (
        select(Presence)
        .where(Presence.address.startswith(f"{domain}/", autoescape=True))
        .order_by(Presence.address)
        .limit(limit + 1)
        .offset(offset)
    )
    with store.engine.connect() as connection:
        rows = connection.execute(statement).all()
    items, more = _page(rows, limit)
    return [PresenceView(address=r.address, online=r.online, since=r.since) for r in items], more


def answers_of(store: GridStore, row_ids: Sequence[int]) -> dict[int, list[AnswerView]]:
    """The answers (responses, unsolicited, refusals) of the signal rows ``row_ids``, oldest first."""
    found: dict[int, list[AnswerView]] = defaultdict(list)
    if not row_ids:
        return found
    statement = (
        select(Message)
        .where(Message.signal.in_(row_ids), Message.category != "sent")
        .order_by(Message.at, Message.id)
    )
    with store.engine.connect() as connection:
        for m in connection.execute(statement):
            found[m.signal].append(AnswerView(
                responder=m.sender, at=m.at, kind=m.kind, category=m.category, status=m.status,
                revision=m.revision, reason=m.reason if m.category == "refusal" else None, field=m.field,
                body=_body(m.envelope),
            ))
    return found


def signals(
    store: GridStore,
    records: SqlSignalStore,
    is_active: Callable[[SignalRecord], bool],
    *,
    limit: int,
    offset: int,
    program: str | None = None,
    kind: str | None = None,
    status: str | None = None,
    recipient: str | None = None,
    active: bool | None = None,
    signal_id: str | None = None,
) -> tuple[list[SignalView], bool]:
    """Signals matching the filters, newest first, with their answers."""
    statement = select(Signal).order_by(Signal.sent_at.desc(), Signal.id.desc())
    for column, value in ((Signal.program, program), (Signal.kind, kind), (Signal.status, status),
                          (Signal.recipient, recipient), (Signal.signal_id, signal_id)):
        if value is not None:
            statement = statement.where(column == value)
    paged = active is None
    statement = statement.limit(limit + 1).offset(offset) if paged else statement.limit(MAX_SCANNED_SIGNALS)
    with store.engine.connect() as connection:
        rows = connection.execute(statement).all()
    chosen: list[tuple[Any, SignalRecord, bool]] = []
    for row in rows:
        record = records.get(row.program, row.signal_id)
        if record is None:
            continue
        in_force = is_active(record)
        if active is None or in_force == active:
            chosen.append((row, record, in_force))
    if active is not None:
        chosen = chosen[offset:offset + limit + 1]
    items, more = _page(chosen, limit)
    answers = answers_of(store, [row.id for row, _, _ in items])
    views = []
    for row, record, in_force in items:
        state = json.loads(row.state)
        views.append(SignalView(
            program=row.program, signal_id=row.signal_id, kind=row.kind, recipient=row.recipient, area=row.area,
            sent_at=row.sent_at, updated_at=row.updated_at, revision=row.revision, status=row.status,
            active=in_force, expected=list(state["expected"]),
            deadlines={k: datetime.fromisoformat(v) for k, v in state["deadlines"].items()},
            missing={k: list(v) for k, v in state["missing"].items()}, acknowledged=list(state["acknowledged"]),
            undelivered=list(state["undelivered"]), sent=len(record.sent), body=_body(row.envelope) or {},
            answers=answers[row.id],
        ))
    return views, more


def messages(
    store: GridStore,
    *,
    limit: int,
    offset: int,
    sender: str | None = None,
    recipient: str | None = None,
    kind: str | None = None,
    since: datetime | None = None,
    newest: bool = False,
) -> tuple[list[MessageView], bool]:
    """Stored messages matching the filters, oldest first (``newest``: newest first)."""
    order = (Message.at.desc(), Message.id.desc()) if newest else (Message.at, Message.id)
    statement = select(Message).order_by(*order).limit(limit + 1).offset(offset)
    for column, value in ((Message.sender, sender), (Message.recipient, recipient), (Message.kind, kind)):
        if value is not None:
            statement = statement.where(column == value)
    if since is not None:
        statement = statement.where(Message.at >= since)
    with store.engine.connect() as connection:
        rows = connection.execute(statement).all()
    items, more = _page(rows, limit)
    return [
        MessageView(id=m.id, category=m.category, kind=m.kind, sender=m.sender, recipient=m.recipient, at=m.at,
                    status=m.status, program=m.program, signal_id=m.signal_id, body=_body(m.envelope))
        for m in items
    ], more


def meters(store: GridStore, limit: int, offset: int) -> tuple[list[MeterView], bool]:
    """Meters by id with their endpoints."""
    statement = select(Meter.meter_id, Meter.endpoint).order_by(Meter.meter_id).limit(limit + 1).offset(offset)
    with store.engine.connect() as connection:
        rows = connection.execute(statement).all()
    items, more = _page(rows, limit)
    return [MeterView(meter_id=r.meter_id, endpoint=r.endpoint) for r in items], more


def meters_of(store: GridStore, endpoints_: Sequence[str] | None) -> list[str]:
    """Meters of the sites of ``endpoints_`` (every meter when ``None``)."""
    statement = select(Meter.meter_id).order_by(Meter.meter_id)
    if endpoints_ is not None:
        statement = statement.where(Meter.endpoint.in_(list(endpoints_)))
    with store.engine.connect() as connection:
        return [str(m) for m in connection.scalars(statement)]


def readings(store: GridStore, meter_id: str, start: datetime, end: datetime) -> list[ReadingView]:
    """Readings of ``meter_id`` in ``[start, end)``."""
    return [
        ReadingView(meter_id=s.meter_id, at=s.at, power_w=s.power_w, import_wh=s.import_wh, export_wh=s.export_wh)
        for s in store.readings(meter_id, start, end)
    ]


def load_points(
    store: GridStore, meter_ids: Sequence[str], start: datetime, end: datetime, resolution: timedelta
) -> list[LoadPoint]:
    """Per interval of ``resolution`` in ``[start, end)``: the sum over meters of their average power [W]."""
    sums: dict[int, float] = defaultdict(float)
    counts: dict[int, int] = defaultdict(int)
    for meter_id in meter_ids:
        per_bucket: dict[int, list[float]] = defaultdict(list)
        for sample in store.readings(meter_id, start, end):
            per_bucket[int((sample.at - start) / resolution)].append(sample.power_w)
        for bucket, values in per_bucket.items():
            sums[bucket] += sum(values) / len(values)
            counts[bucket] += 1
    return [LoadPoint(at=start + b * resolution, power_w=sums[b], meters=counts[b]) for b in sorted(sums)]
