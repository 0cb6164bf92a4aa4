"""The grid side's tables (SQLAlchemy 2 typed ORM): registry, programs, signals, messages, presence, readings.

Times are timezone-aware UTC instants (:class:`UtcDateTime`: ``timestamptz`` in PostgreSQL, ISO text in
SQLite, always normalised to UTC so text order is time order). Powers are in W, energies in Wh.

* ``customers`` → ``endpoints`` (one customer, several CEM endpoints) → ``group_members`` ← ``groups``;
  ``areas`` name the group of a grid area's customers.
* ``programs`` → ``signals`` (one row per signal/event: its current body and state) → ``messages`` (every
  message sent and every answer received, the envelope as JSON of :mod:`flexcem.codec` plus indexed columns).
* ``presence``: each endpoint's last online/offline state.
* ``meters`` → ``readings``: (meter, time) is the primary key, so "latest value" and "one day" are index scans.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Dialect,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "Area",
    "Base",
    "Customer",
    "Endpoint",
    "Group",
    "GroupMember",
    "Message",
    "Meter",
    "Presence",
    "Program",
    "Reading",
    "Signal",
    "UtcDateTime",
]

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
"""Constraint names, so that errors and migrations can name them."""

ADDRESS = 160
"""Longest address stored ({domain}/grp/{gid}: 64 + 5 + 64 characters, with room)."""


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware instant stored as UTC; naive datetimes are refused (they have no meaning here)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """UTC (naive UTC for SQLite, whose text form would drop the offset)."""
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"{value.isoformat()} is a naive time: give a timezone")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Always aware, in UTC."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base of the grid store; ``Base.metadata`` is what the migrations build."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UtcDateTime()}


class Customer(Base):
    """A customer (contract holder) of the grid side."""

    __tablename__ = "customers"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]


class Endpoint(Base):
    """A CEM endpoint ``{domain}/{id}`` of a customer."""

    __tablename__ = "endpoints"
    address: Mapped[str] = mapped_column(String(ADDRESS), primary_key=True)
    domain: Mapped[str] = mapped_column(String(64), index=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    created_at: Mapped[datetime]


class Group(Base):
    """A multicast group ``{domain}/grp/{gid}``."""

    __tablename__ = "groups"
    address: Mapped[str] = mapped_column(String(ADDRESS), primary_key=True)
    domain: Mapped[str] = mapped_column(String(64), index=True)


class GroupMember(Base):
    """An endpoint's membership of a group."""

    __tablename__ = "group_members"
    group_address: Mapped[str] = mapped_column(ForeignKey("groups.address"), primary_key=True)
    endpoint_address: Mapped[str] = mapped_column(ForeignKey("endpoints.address"), primary_key=True, index=True)


class Area(Base):
    """A grid area (feeder, substation) of a domain and the group of its customers."""

    __tablename__ = "areas"
    domain: Mapped[str] = mapped_column(String(64), primary_key=True)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    group_address: Mapped[str] = mapped_column(ForeignKey("groups.address"), unique=True)


class Program(Base):
    """A grid program (``load-management``, ``emergency`` …) and the address it sends from."""

    __tablename__ = "programs"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    sender: Mapped[str | None] = mapped_column(String(ADDRESS))


class Signal(Base):
    """One signal (event) of a program: its current body, target and state (expected responders, deadlines)."""

    __tablename__ = "signals"
    __table_args__ = (UniqueConstraint("program", "signal_id"), Index(None, "status", "sent_at"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    program: Mapped[str] = mapped_column(ForeignKey("programs.name"))
    signal_id: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(128))
    sender: Mapped[str] = mapped_column(String(ADDRESS))
    recipient: Mapped[str] = mapped_column(String(ADDRESS), index=True)
    area: Mapped[str | None] = mapped_column(String(64))
    sent_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    revision: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16))
    envelope: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(Text)
    """JSON: expected responders, deadlines, acknowledged, undelivered, missing (see ``signals.py``)."""


class Message(Base):
    """A message sent or received, with its envelope (JSON of :mod:`flexcem.codec`) when there is one."""

    __tablename__ = "messages"
    __table_args__ = (
        Index(None, "signal", "seq"),
        Index(None, "sender", "at"),
        Index(None, "recipient", "at"),
        Index(None, "kind", "at"),
    )
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    signal: Mapped[int | None] = mapped_column(ForeignKey("signals.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer, default=0)
    """Order within the signal's list (``category``)."""
    category: Mapped[str] = mapped_column(String(16))
    """``sent``, ``response``, ``unsolicited``, ``refusal`` (signals), or ``inbound``/``outbound`` (others)."""
    message_id: Mapped[str | None] = mapped_column(String(64), index=True)
    program: Mapped[str | None] = mapped_column(String(64))
    signal_id: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(128))
    sender: Mapped[str] = mapped_column(String(ADDRESS))
    recipient: Mapped[str] = mapped_column(String(ADDRESS))
    at: Mapped[datetime]
    revision: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16))
    """``sent``, ``on-time``, ``late``, ``refused``, ``received``."""
    reason: Mapped[str | None] = mapped_column(String(1024))
    field: Mapped[str | None] = mapped_column(String(256))
    envelope: Mapped[str | None] = mapped_column(Text)


class Presence(Base):
    """An endpoint's last known presence."""

    __tablename__ = "presence"
    address: Mapped[str] = mapped_column(ForeignKey("endpoints.address"), primary_key=True)
    online: Mapped[bool] = mapped_column(Boolean)
    since: Mapped[datetime]


class Meter(Base):
    """A meter (by its id), optionally the main meter of an endpoint's site."""

    __tablename__ = "meters"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    meter_id: Mapped[str] = mapped_column(String(64), unique=True)
    endpoint: Mapped[str | None] = mapped_column(ForeignKey("endpoints.address"), index=True)


class Reading(Base):
    """One reading: present power [W] and the import/export registers [Wh] at ``at``."""

    __tablename__ = "readings"
    # SQLite: clustered on (meter, at), so one meter's day is one contiguous range of the table.
    __table_args__ = ({"sqlite_with_rowid": False},)
    meter: Mapped[int] = mapped_column(ForeignKey("meters.id"), primary_key=True)
    at: Mapped[datetime] = mapped_column(primary_key=True)
    power_w: Mapped[float] = mapped_column(Double)
    import_wh: Mapped[float] = mapped_column(Double)
    export_wh: Mapped[float] = mapped_column(Double)
