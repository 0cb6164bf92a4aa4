"""The two back-ends the store tests run on: a SQLite file of the test's own and the local PostgreSQL.

Each PostgreSQL test gets a schema of its own (random name, first on the search path), dropped afterwards,
so runs are hermetic and may run in parallel. PostgreSQL is not optional: when it cannot be reached the
PostgreSQL variants FAIL and say how to provide it (``FLEXCEM_TEST_POSTGRES`` overrides the URL).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from flexcem.store import GridStore, create_schema, drop_schema

POSTGRES_URL = os.environ.get("FLEXCEM_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BACKENDS = ("sqlite", "postgresql")


@dataclass(frozen=True)
class Database:
    """Where a test's store lives: a URL and (PostgreSQL) a schema."""

    backend: str
    url: str
    schema: str | None = None

    def open(self, *, migrate: bool = True) -> GridStore:
        """A store on this database (migrated to the newest revision unless ``migrate`` is false)."""
        return GridStore.open(self.url, schema=self.schema, migrate=migrate)


def require_postgres() -> None:
    """Fail the test, saying how to provide it, when the PostgreSQL server cannot be reached."""
    engine = create_engine(POSTGRES_URL, connect_args={"connect_timeout": 5})
    try:
        with engine.connect() as connection:
            connection.execute(text("select 1"))
    except OperationalError as error:
        pytest.fail(
            f"PostgreSQL is required by the store tests and is not reachable at {POSTGRES_URL}: "
            f"{str(error.orig).strip().splitlines()[0]}. Start it (.ci/run starts an installed cluster with "
            "pg_ctlcluster) or point FLEXCEM_TEST_POSTGRES at one (a database where the user may create schemas).",
            pytrace=False,
        )
    finally:
        engine.dispose()


def empty_database(backend: str, tmp_path: Path) -> Iterator[Database]:
    """An empty database of ``backend`` for one test (a fixture body: yields once, then cleans up)."""
    if backend == "sqlite":
        yield Database("sqlite", f"sqlite:///{tmp_path / 'grid.db'}")
        return
    require_postgres()
    schema = f"test_{uuid.uuid4().hex[:16]}"
    create_schema(POSTGRES_URL, schema)
    try:
        yield Database("postgresql", POSTGRES_URL, schema)
    finally:
        drop_schema(POSTGRES_URL, schema)
