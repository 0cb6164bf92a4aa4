"""Alembic environment of the grid store: the models' metadata (see :mod:`flexcem.store.migration_env`)."""

from __future__ import annotations

from flexcem.store.engine import DEFAULT_URL
from flexcem.store.migration_env import run_migrations
from flexcem.store.models import Base

run_migrations(Base.metadata, store="flexcem.store", default_url=DEFAULT_URL)
