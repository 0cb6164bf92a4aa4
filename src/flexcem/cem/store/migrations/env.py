"""Alembic environment of the CEM store (see :mod:`flexcem.store.migration_env`).

The version table is ``cem_alembic_version``, so a CEM store never mistakes the grid store's revisions for its
own. From the command line give the file: ``-x url=sqlite:///path/to/cem.db``.
"""

from __future__ import annotations

from flexcem.cem.store.models import CemBase
from flexcem.store.migration_env import run_migrations

VERSION_TABLE = "cem_alembic_version"

run_migrations(CemBase.metadata, store="flexcem.cem.store", version_table=VERSION_TABLE)
