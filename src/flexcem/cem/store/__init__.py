"""flexcem.cem.store — the CEM's persistence: SQLite through SQLAlchemy 2, schema by Alembic migrations.

>>> store = CemStore.open(Path("cem.db"))          # doctest: +SKIP
>>> restore(cem, store.load())                     # doctest: +SKIP
>>> store.save(snapshot(cem))                      # doctest: +SKIP

What is kept (devices, jobs, prices, descriptions, plans, events in force, journal, readings) and how a CEM is
rebuilt from it: :mod:`flexcem.cem.store.state`. See ``docs/cem-service.md``.
"""

from flexcem.cem.store.engine import migrate, sqlite_engine
from flexcem.cem.store.repository import CemStore, Reading, StoredEntry
from flexcem.cem.store.state import ActiveEvent, PlanCache, Rows, active_events, restore, snapshot

__all__ = [
    "ActiveEvent",
    "CemStore",
    "PlanCache",
    "Reading",
    "Rows",
    "StoredEntry",
    "active_events",
    "migrate",
    "restore",
    "snapshot",
    "sqlite_engine",
]
