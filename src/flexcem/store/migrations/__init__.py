"""Alembic migrations of the grid store (``env.py`` and ``versions/``); run them with ``upgrade_to_head``."""
