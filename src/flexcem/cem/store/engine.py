"""The CEM store's SQLite engine and migrations (the grid store's engine helpers: WAL, foreign keys, busy timeout)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

from flexcem.store.engine import make_engine

__all__ = ["alembic_config", "migrate", "sqlite_engine"]


def sqlite_engine(path: Path) -> Engine:
    """An engine on the SQLite file ``path`` (its directory is made when missing)."""
    return make_engine(f"sqlite:///{path}")


def alembic_config() -> Config:
    """The Alembic configuration of the migrations shipped in :mod:`flexcem.cem.store.migrations`."""
    config = Config()
    config.set_main_option("script_location", str(resources.files("flexcem.cem.store").joinpath("migrations")))
    return config


def migrate(engine: Engine) -> None:
    """Bring the CEM store behind ``engine`` to the newest schema revision (in one transaction)."""
    with engine.begin() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
