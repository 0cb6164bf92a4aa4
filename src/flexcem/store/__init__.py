"""flexcem.store — the grid side's persistence: SQLAlchemy 2 models, Alembic migrations, a repository.

>>> from flexcem.store import GridStore, SqlSignalStore
>>> store = GridStore.open("sqlite:///grid.db")          # or "postgresql+psycopg://user@host/db"
>>> program = LoadManagementProgram(endpoint, registry, store=SqlSignalStore(store))

SQLite (a file, WAL, foreign keys on) by default; PostgreSQL by URL (psycopg 3), optionally in a schema of
its own. The schema is made and upgraded by the Alembic revisions in ``flexcem/store/migrations``
(:func:`upgrade_to_head`). See ``docs/store.md``.
"""

from flexcem.store.engine import DEFAULT_URL, create_schema, drop_schema, make_engine, upgrade_to_head
from flexcem.store.errors import DuplicateRecord, InvalidRecord, StoreError, UnknownReference
from flexcem.store.models import Base
from flexcem.store.repository import GridStore, PresenceState, StoredMessage
from flexcem.store.signals import SqlSignalStore
from flexcem.store.telemetry import MeterSample

__all__ = [
    "DEFAULT_URL",
    "Base",
    "DuplicateRecord",
    "GridStore",
    "InvalidRecord",
    "MeterSample",
    "PresenceState",
    "SqlSignalStore",
    "StoreError",
    "StoredMessage",
    "UnknownReference",
    "create_schema",
    "drop_schema",
    "make_engine",
    "upgrade_to_head",
]
