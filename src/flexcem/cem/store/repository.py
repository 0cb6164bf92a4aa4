"""The CEM store: a SQLite file with the CEM's state, journal and history (see :mod:`flexcem.cem.store.models`).

>>> store = CemStore.open(Path("cem.db"))        # makes or upgrades the schema (Alembic)   # doctest: +SKIP
>>> restore(cem, store.load())                   # before cem.start()                        # doctest: +SKIP
>>> store.save(snapshot(cem), journal, readings) # after every change, in one transaction     # doctest: +SKIP

:meth:`CemStore.save` writes only what changed since the last save (or load): each state row is compared with
what the store holds, inserted or updated when different and deleted when gone; new journal entries and readings
are appended. Everything of one save is one transaction: a crash leaves the previous state or the new one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from flexcem.cem.store.engine import migrate, sqlite_engine
from flexcem.cem.store.models import CemBase, JournalRow, ReadingRow, RecordRow
from flexcem.cem.store.state import STATE_TABLES, Key, Rows

__all__ = ["CemStore", "Reading", "StoredEntry"]


@dataclass(frozen=True)
class Reading:
    """A power reading of a device (or ``site``) [W], with the energy of its job so far [Wh]."""

    device_id: str
    at: datetime
    power_w: float
    energy_wh: float = 0.0


@dataclass(frozen=True)
class StoredEntry:
    """A journal entry as stored."""

    at: datetime
    text: str


_MODELS: dict[str, type[Any]] = {mapper.class_.__tablename__: mapper.class_ for mapper in CemBase.registry.mappers}


def _key_of(table: str, row: Any) -> Key:
    model = _MODELS[table]
    return tuple(str(getattr(row, column.key)) for column in model.__mapper__.primary_key)


def _values_of(row: Any) -> dict[str, Any]:
    return {column.key: getattr(row, column.key) for column in row.__mapper__.column_attrs}


class CemStore:
    """The CEM's SQLite store."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._held: Rows = {table: {} for table in STATE_TABLES}
        self.saves = 0
        """How many saves wrote something."""
        self.rows_written = 0
        """How many state rows were inserted, updated or deleted in all."""

    @classmethod
    def open(cls, path: Path) -> CemStore:
        """Open (or make) the store at ``path`` and bring its schema to the newest revision."""
        engine = sqlite_engine(path)
        migrate(engine)
        store = cls(engine)
        store.load()
        return store

    def close(self) -> None:
        """Release the database."""
        self.engine.dispose()

    def load(self) -> Rows:
        """The stored state rows (and remember them: the next save writes only differences)."""
        rows: Rows = {}
        with self._sessions() as session:
            for table in STATE_TABLES:
                model = _MODELS[table]
                rows[table] = {_key_of(table, row): _values_of(row) for row in session.scalars(select(model))}
        self._held = {table: dict(found) for table, found in rows.items()}
        return rows

    def save(self, rows: Rows, journal: Sequence[StoredEntry] = (), readings: Sequence[Reading] = ()) -> int:
        """Write what differs from the stored state, append ``journal`` and ``readings``; rows written."""
        changes: list[tuple[str, Key, dict[str, Any] | None]] = []
        for table in STATE_TABLES:
            new, held = rows.get(table, {}), self._held.get(table, {})
            changes += [(table, key, values) for key, values in new.items() if held.get(key) != values]
            changes += [(table, key, None) for key in held if key not in new]
        if not changes and not journal and not readings:
            return 0
        with self._sessions.begin() as session:
            for table, key, values in changes:
                model = _MODELS[table]
                if values is None:
                    found = session.get(model, key)
                    if found is not None:
                        session.delete(found)
                else:
                    session.merge(model(**values))
            session.add_all(JournalRow(at=entry.at, text=entry.text) for entry in journal)
            for reading in readings:
                session.merge(
                    ReadingRow(
                        device_id=reading.device_id,
                        at=reading.at,
                        power_w=reading.power_w,
                        energy_wh=reading.energy_wh,
                    )
                )
        for table, key, values in changes:
            if values is None:
                self._held[table].pop(key, None)
            else:
                self._held.setdefault(table, {})[key] = values
        self.saves += 1
        self.rows_written += len(changes)
        return len(changes)

    # ------------------------------------------------------------------------------------------- history

    def journal(self, limit: int = 100, since: datetime | None = None) -> list[StoredEntry]:
        """The latest ``limit`` journal entries (from ``since``), oldest first."""
        query = select(JournalRow).order_by(JournalRow.id.desc()).limit(limit)
        if since is not None:
            query = query.where(JournalRow.at >= since)
        with self._sessions() as session:
            found = list(session.scalars(query))
        return [StoredEntry(row.at, row.text) for row in reversed(found)]

    def journal_size(self) -> int:
        """How many journal entries are stored."""
        with self._sessions() as session:
            return int(session.scalar(select(func.count()).select_from(JournalRow)) or 0)

    def readings(self, device_id: str, start: datetime, end: datetime) -> list[Reading]:
        """The readings of ``device_id`` (``site`` for the site) in ``[start, end)``, oldest first."""
        query = (
            select(ReadingRow)
            .where(ReadingRow.device_id == device_id, ReadingRow.at >= start, ReadingRow.at < end)
            .order_by(ReadingRow.at)
        )
        with self._sessions() as session:
            return [Reading(r.device_id, r.at, r.power_w, r.energy_wh) for r in session.scalars(query)]

    def forget_readings_before(self, instant: datetime) -> int:
        """Drop readings older than ``instant``; how many."""
        with self._sessions.begin() as session:
            result = session.execute(delete(ReadingRow).where(ReadingRow.at < instant))
        return int(getattr(result, "rowcount", 0) or 0)

    # ------------------------------------------------------------------------------------------- records

    def put_record(self, key: str, at: datetime, value: str) -> None:
        """Replace the record ``key`` (its own transaction; not part of the state snapshots)."""
        with self._sessions.begin() as session:
            session.merge(RecordRow(key=key, at=at, value=value))

    def record(self, key: str) -> str | None:
        """The record ``key``, or ``None``."""
        with self._sessions() as session:
            found = session.get(RecordRow, key)
            return None if found is None else found.value

    def session(self) -> Session:
        """A session on the store (for queries the methods above do not offer)."""
        return self._sessions()
