"""Engines from URLs and schema migrations.

``sqlite:///path/to/grid.db`` (the default: a file; WAL journal, foreign keys on, 5 s busy timeout, 64 MiB page
cache) or ``postgresql+psycopg://user@host:port/db`` (psycopg 3). A PostgreSQL ``schema`` puts every table, the
Alembic version table included, in that schema (it is first on the ``search_path`` of each connection), so
several stores — or test runs — share one database without meeting.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, make_url, text

__all__ = ["DEFAULT_URL", "alembic_config", "create_schema", "drop_schema", "make_engine", "upgrade_to_head"]

DEFAULT_URL = "sqlite:///flexcem-grid.db"
SQLITE_CACHE_KIB = 64 * 1024
"""SQLite page cache per connection [KiB]: holds the newest page of every meter of a 1,000-meter head-end round."""
_SCHEMA = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def _check_schema(schema: str) -> str:
    if not _SCHEMA.match(schema):
        raise ValueError(f"schema {schema!r}: lower-case letters, digits and _ only, at most 63 characters")
    return schema


def make_engine(url: str = DEFAULT_URL, *, schema: str | None = None, echo: bool = False) -> Engine:
    """An engine for ``url``; for PostgreSQL, ``schema`` (which must exist) comes first on the search path."""
    parsed = make_url(url)
    options: dict[str, Any] = {"echo": echo}
    if parsed.get_backend_name() == "sqlite":
        if schema is not None:
            raise ValueError("schema: SQLite has one schema per file; give another file instead")
        if parsed.database in (None, "", ":memory:"):
            raise ValueError(f"{url}: the SQLite store is a file (sqlite:///path/to/grid.db)")
        Path(parsed.database or "").parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, **options)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if schema is not None:
        options["connect_args"] = {"options": f"-csearch_path={_check_schema(schema)}"}
    return create_engine(parsed, pool_pre_ping=True, **options)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
    cursor.close()


def create_schema(url: str, schema: str) -> None:
    """Create PostgreSQL schema ``schema`` (if missing)."""
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{_check_schema(schema)}"'))
    finally:
        engine.dispose()


def drop_schema(url: str, schema: str) -> None:
    """Drop PostgreSQL schema ``schema`` and everything in it."""
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{_check_schema(schema)}" CASCADE'))
    finally:
        engine.dispose()


def alembic_config() -> Config:
    """The Alembic configuration of the migrations shipped in :mod:`flexcem.store.migrations`."""
    config = Config()
    config.set_main_option("script_location", str(resources.files("flexcem.store").joinpath("migrations")))
    return config


def upgrade_to_head(url: str | Engine = DEFAULT_URL, *, schema: str | None = None) -> None:
    """Bring the database at ``url`` (or behind an engine) to the newest schema revision."""
    engine = url if isinstance(url, Engine) else make_engine(url, schema=schema)
    try:
        with engine.begin() as connection:
            config = alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    finally:
        if not isinstance(url, Engine):
            engine.dispose()
