"""The shipped Alembic revisions build exactly the models' schema, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from flexcem.store import Base, upgrade_to_head
from flexcem.store.engine import alembic_config, make_engine
from postgres_harness import Database


def test_the_migrated_schema_equals_the_models_metadata(database: Database) -> None:
    upgrade_to_head(database.url, schema=database.schema)
    upgrade_to_head(database.url, schema=database.schema)  # at head already: nothing to do, nothing breaks
    engine = make_engine(database.url, schema=database.schema)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
            assert context.get_current_revision() == "0001"
            tables = set(inspect(connection).get_table_names())
    finally:
        engine.dispose()
    assert set(Base.metadata.tables) <= tables and "alembic_version" in tables


def test_sqlite_runs_in_wal_mode_with_foreign_keys_on(tmp_path: object) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/wal.db")
    try:
        with engine.connect() as connection:
            assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
    finally:
        engine.dispose()


def test_each_postgresql_test_has_a_schema_of_its_own(database: Database) -> None:
    if database.schema is None:
        return
    engine = make_engine(database.url, schema=database.schema)
    try:
        with engine.connect() as connection:
            assert connection.execute(text("select current_schema()")).scalar() == database.schema
    finally:
        engine.dispose()


def test_the_initial_revision_downgrades_to_an_empty_database(database: Database) -> None:
    upgrade_to_head(database.url, schema=database.schema)
    engine = make_engine(database.url, schema=database.schema)
    try:
        with engine.begin() as connection:
            config = alembic_config()
            config.attributes["connection"] = connection
            command.downgrade(config, "base")
            assert set(inspect(connection).get_table_names()) <= {"alembic_version"}
    finally:
        engine.dispose()
    upgrade_to_head(database.url, schema=database.schema)  # and up again
