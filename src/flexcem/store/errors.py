"""The store's errors: each names the field or constraint at fault; the transaction was rolled back."""

from __future__ import annotations

import re

from sqlalchemy.exc import IntegrityError

__all__ = ["DuplicateRecord", "InvalidRecord", "StoreError", "UnknownReference", "from_integrity_error"]


class StoreError(ValueError):
    """Something could not be stored; nothing of the failed operation was, and nothing before it was lost."""

    def __init__(self, message: str, *, field: str | None = None, constraint: str | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.constraint = constraint


class DuplicateRecord(StoreError):
    """An id that is already stored."""


class UnknownReference(StoreError):
    """A reference to a customer, endpoint, group, area, program or meter that is not stored."""


class InvalidRecord(StoreError):
    """A missing or invalid field."""


_SQLITE_COLUMN = re.compile(r"constraint failed: (?P<columns>[\w., ]+)")


_POSTGRES_KEY = re.compile(r"Key \((?P<columns>[\w, ]+)\)=")


def from_integrity_error(error: IntegrityError, what: str) -> StoreError:
    """The :class:`StoreError` for a database integrity error while storing ``what``."""
    original = error.orig
    diag = getattr(original, "diag", None)
    text = str(original).splitlines()[0] if original is not None else str(error)
    constraint = getattr(diag, "constraint_name", None)
    detail = getattr(diag, "message_detail", None)
    column = getattr(diag, "column_name", None)
    match = _SQLITE_COLUMN.search(text) or _POSTGRES_KEY.search(detail or "")
    if column is None and match:
        column = match.group("columns").strip()
    named = "; ".join(part for part in (detail, f"constraint {constraint}" if constraint else None) if part)
    lowered = text.lower()
    if "unique" in lowered or "duplicate" in lowered:
        return DuplicateRecord(f"{what}: already stored ({named or column})", field=column, constraint=constraint)
    if "foreign key" in lowered:
        return UnknownReference(
            f"{what}: unknown reference ({named or 'FOREIGN KEY constraint failed: a referenced row is not stored'})",
            field=column, constraint=constraint,
        )
    if "null" in lowered:
        return InvalidRecord(f"{what}: missing field {column}", field=column, constraint=constraint)
    return StoreError(f"{what}: {text}", field=column, constraint=constraint)
