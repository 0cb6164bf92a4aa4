"""The grid store's tests run on both back-ends (:mod:`postgres_harness`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from flexcem.store import GridStore
from postgres_harness import BACKENDS, Database, empty_database


@pytest.fixture(params=BACKENDS)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """An empty database of each back-end."""
    yield from empty_database(request.param, tmp_path)


@pytest.fixture
def store(database: Database) -> Iterator[GridStore]:
    """A migrated, empty store on each back-end."""
    opened = database.open()
    try:
        yield opened
    finally:
        opened.close()
