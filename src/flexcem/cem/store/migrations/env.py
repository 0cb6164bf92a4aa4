"""Alembic environment of the CEM store: the CEM models' metadata, through a given connection or a URL.

:func:`flexcem.cem.store.migrate` passes an open connection in ``config.attributes["connection"]``; from the
command line the URL comes from ``-x url=sqlite:///path/to/cem.db``. The version table is
``cem_alembic_version``, so a CEM store never mistakes the grid store's revisions for its own.
"""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import Connection

from flexcem.cem.store.models import CemBase
from flexcem.store.engine import make_engine
from flexcem.store.models import UtcDateTime

VERSION_TABLE = "cem_alembic_version"
config = context.config


def _render_item(kind: str, item: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    if kind == "type" and isinstance(item, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=CemBase.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=_render_item,
        version_table=VERSION_TABLE,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Migrate through the given connection, or one to ``-x url=…``."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = context.get_x_argument(as_dictionary=True).get("url")
    if not url:
        raise SystemExit("give the CEM store with -x url=sqlite:///path/to/cem.db")
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            _run(connection)
            connection.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("flexcem.cem.store migrations run online only (give -x url=…)")
run_migrations_online()
