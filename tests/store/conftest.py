"""The grid store's tests run on both back-ends: a SQLite file of the test's own and the local PostgreSQL.

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
        """A store on this database."""
        return GridStore.open(self.url, schema=self.schema, migrate=migrate)


def _require_postgres() -> None:
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


@pytest.fixture(params=BACKENDS)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """An empty database of each back-end."""
    if request.param == "sqlite":
        yield Database("sqlite", f"sqlite:///{tmp_path / 'grid.db'}")
        return
    _require_postgres()
    schema = f"test_{uuid.uuid4().hex[:16]}"
    create_schema(POSTGRES_URL, schema)
    try:
        yield Database("postgresql", POSTGRES_URL, schema)
    finally:
        drop_schema(POSTGRES_URL, schema)


@pytest.fixture
def store(database: Database) -> Iterator[GridStore]:
    """A migrated, empty store on each back-end."""
    opened = database.open()
    try:
        yield opened
    finally:
        opened.close()
