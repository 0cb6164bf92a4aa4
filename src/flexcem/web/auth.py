"""Bearer tokens with roles for the HTTP APIs: a :class:`TokenBook` kept in a JSON file, secrets stored hashed.

Roles are ordered — ``viewer`` < ``operator`` < ``admin`` — and a token may do what its role and every lower
role may: a viewer reads, an operator also publishes tariffs, sets the traffic light and creates and ends
events, an admin also manages the registry and the tokens.

The file holds, per token, its name, role, creation time and the SHA-256 of the secret (the secrets are 32
random bytes, URL-safe base64, so a fast hash is enough: there is nothing to guess from). A secret is shown
once, when it is issued::

    {"tokens": [{"name": "ops", "role": "operator", "sha256": "…", "created_at": "2026-11-30T21:00:00Z"}]}

The FastAPI side (:func:`bearer`) answers 401 when the token is missing or unknown and 403 when its role is
too low, as JSON ``{"error": …}``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from fastapi import Request
from pydantic import BaseModel, Field, ValidationError

__all__ = ["ApiError", "Role", "TokenBook", "TokenEntry", "bearer"]


class Role(StrEnum):
    """What a token may do; each role includes the ones before it."""

    VIEWER = "viewer"
    OPERATOR = "operator"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        """Order of the roles."""
        return list(Role).index(self)

    def allows(self, needed: Role) -> bool:
        """Whether this role may do what ``needed`` may."""
        return self.rank >= needed.rank


class TokenEntry(BaseModel):
    """One token: its name, role, the SHA-256 of its secret (hex) and when it was issued."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.@-]{1,64}$")
    role: Role
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    created_at: datetime


class _TokenFile(BaseModel):
    tokens: list[TokenEntry] = Field(default_factory=list)


class ApiError(Exception):
    """An API error: HTTP ``status``, a message and the field at fault (``body.window.start``)."""

    def __init__(self, status: int, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field


def digest(secret: str) -> str:
    """SHA-256 of ``secret`` as hex."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


class TokenBook:
    """The tokens of an API; with ``path``, every change is written there (atomically)."""

    def __init__(self, entries: list[TokenEntry] | None = None, *, path: Path | None = None) -> None:
        self.path = path
        self._entries: dict[str, TokenEntry] = {e.name: e for e in entries or []}

    @classmethod
    def load(cls, path: Path) -> TokenBook:
        """The book in ``path`` (an empty one when the file does not exist); errors name the file and field."""
        if not path.exists():
            return cls(path=path)
        try:
            data = _TokenFile.model_validate_json(path.read_text(encoding="utf-8"))
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "(file)"
            raise ValueError(f"{path}: {where}: {first['msg']}") from None
        names = [entry.name for entry in data.tokens]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"{path}: tokens: name {', '.join(duplicates)} appears more than once")
        return cls(data.tokens, path=path)

    def save(self) -> None:
        """Write the book to its file (a new file, then renamed over the old one)."""
        if self.path is None:
            return
        text = json.dumps(_TokenFile(tokens=self.entries()).model_dump(mode="json"), indent=2) + "\n"
        temporary = self.path.with_name(self.path.name + ".tmp")
        temporary.write_text(text, encoding="utf-8")
        os.chmod(temporary, 0o600)
        temporary.replace(self.path)

    def entries(self) -> list[TokenEntry]:
        """Every token, by name."""
        return [self._entries[name] for name in sorted(self._entries)]

    def issue(self, name: str, role: Role | str) -> str:
        """A new token ``name`` with ``role``; returns its secret (shown only now). Names are unique."""
        if name in self._entries:
            raise ValueError(f"token {name!r} exists already")
        secret = secrets.token_urlsafe(32)
        self.add(name, role, secret)
        return secret

    def add(self, name: str, role: Role | str, secret: str) -> TokenEntry:
        """Add token ``name`` with a given ``secret`` (tests, provisioning); stored hashed."""
        if len(secret) < 16:
            raise ValueError("a token secret needs at least 16 characters")
        entry = TokenEntry(name=name, role=Role(role), sha256=digest(secret), created_at=datetime.now(UTC))
        self._entries[name] = entry
        self.save()
        return entry

    def revoke(self, name: str) -> bool:
        """Remove token ``name``; whether it existed."""
        removed = self._entries.pop(name, None) is not None
        if removed:
            self.save()
        return removed

    def authenticate(self, secret: str) -> TokenEntry | None:
        """The token whose secret is ``secret``, or ``None``."""
        wanted = digest(secret)
        found = None
        for entry in self._entries.values():
            if hmac.compare_digest(entry.sha256, wanted):
                found = entry
        return found


def bearer(book: TokenBook, needed: Role) -> Callable[..., Coroutine[Any, Any, TokenEntry]]:
    """A FastAPI dependency: the caller's token, which must have at least role ``needed``."""

    async def dependency(request: Request) -> TokenEntry:
        header = request.headers.get("authorization", "")
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise ApiError(401, "a bearer token is needed: Authorization: Bearer <token>", "header.authorization")
        entry = book.authenticate(secret.strip())
        if entry is None:
            raise ApiError(401, "unknown or revoked token", "header.authorization")
        if not entry.role.allows(needed):
            raise ApiError(403, f"token {entry.name!r} is a {entry.role.value}; this needs {needed.value}")
        return entry

    return dependency
