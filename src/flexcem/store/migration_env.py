"""What the Alembic environments of flexcem's stores share (the grid store's and the CEM store's ``env.py``).

Programmatic use passes an open connection in ``config.attributes["connection"]``; from the command line the
URL comes from ``-x url=…`` (and ``-x schema=…`` for PostgreSQL), else ``sqlalchemy.url`` of the ini file,
else the store's default. Migrations run online only.
"""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import Connection, MetaData

from flexcem.store.engine import make_engine
from flexcem.store.models import UtcDateTime

__all__ = ["run_migrations"]


def _render_item(kind: str, item: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """New revisions spell :class:`UtcDateTime` columns as plain ``sa.DateTime(timezone=True)``."""
    if kind == "type" and isinstance(item, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _run(connection: Connection, metadata: MetaData, version_table: str) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=_render_item,
        version_table=version_table,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations(
    metadata: MetaData, *, store: str, version_table: str = "alembic_version", default_url: str | None = None
) -> None:
    """Migrate ``metadata``'s store (named ``store`` in errors) through the given connection or a URL."""
    if context.is_offline_mode():
        raise SystemExit(f"{store} migrations run online only (give -x url=…)")
    config = context.config
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection, metadata, version_table)
        return
    arguments = context.get_x_argument(as_dictionary=True)
    url = arguments.get("url") or config.get_main_option("sqlalchemy.url") or default_url
    if not url:
        raise SystemExit(f"give the {store} database with -x url=…")
    engine = make_engine(url, schema=arguments.get("schema"))
    try:
        with engine.connect() as connection:
            _run(connection, metadata, version_table)
            connection.commit()
    finally:
        engine.dispose()
