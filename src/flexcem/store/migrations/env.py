"""Alembic environment of the grid store: the models' metadata, a given connection or a URL.

Programmatic use (:func:`flexcem.store.upgrade_to_head`) passes an open connection in
``config.attributes["connection"]``. From the command line the URL comes from ``-x url=…`` (and an optional
``-x schema=…`` for PostgreSQL), else ``sqlalchemy.url`` of the ini file, else :data:`DEFAULT_URL`.
"""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import Connection

from flexcem.store.engine import DEFAULT_URL, make_engine
from flexcem.store.models import Base, UtcDateTime

config = context.config
target_metadata = Base.metadata


def _render_item(kind: str, item: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """New revisions spell :class:`UtcDateTime` columns as plain ``sa.DateTime(timezone=True)``."""
    if kind == "type" and isinstance(item, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=_render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Migrate through the given connection, or one to the URL given on the command line."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    arguments = context.get_x_argument(as_dictionary=True)
    url = arguments.get("url") or config.get_main_option("sqlalchemy.url") or DEFAULT_URL
    engine = make_engine(url, schema=arguments.get("schema"))
    try:
        with engine.connect() as connection:
            _run(connection)
            connection.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("flexcem.store migrations run online only (give -x url=…)")
run_migrations_online()
