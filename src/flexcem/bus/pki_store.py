"""The files of a flexcem PKI directory: the index of issued certificates, atomic writes, keys, the lock.

Used by :mod:`flexcem.bus.pki`; nothing here knows about X.509 policy. The index (``index.json``) records
every certificate the CA signed — serial, CN, kind, validity and, once revoked, when and why — so that the
revocation list can be rebuilt from it at any time and a serial is never issued twice.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

__all__ = [
    "INDEX_FILE",
    "CertificateRecord",
    "Index",
    "Kind",
    "PkiError",
    "locked",
    "write_private",
    "write_public",
]

INDEX_FILE = "index.json"
LOCK_FILE = ".lock"
INDEX_VERSION = 1

Kind = Literal["ca", "server", "client"]
"""What a certificate is for."""


class PkiError(ValueError):
    """A PKI operation refused: the message says what and why (shown as is by ``flexcem pki``)."""


@dataclass
class CertificateRecord:
    """One certificate the CA signed."""

    serial: int
    common_name: str
    kind: Kind
    not_before: datetime
    not_after: datetime
    revoked_at: datetime | None = None
    reason: str | None = None

    @property
    def revoked(self) -> bool:
        """Whether the certificate is on the revocation list."""
        return self.revoked_at is not None

    def to_json(self) -> dict[str, Any]:
        """The record as stored in ``index.json`` (serial in hex, instants in ISO 8601)."""
        data: dict[str, Any] = {
            "serial": f"{self.serial:x}",
            "cn": self.common_name,
            "kind": self.kind,
            "not_before": self.not_before.isoformat(),
            "not_after": self.not_after.isoformat(),
        }
        if self.revoked_at is not None:
            data["revoked_at"] = self.revoked_at.isoformat()
            data["reason"] = self.reason
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CertificateRecord:
        """Read one record of ``index.json``."""
        kind = data["kind"]
        if kind not in ("ca", "server", "client"):
            raise ValueError(f"unknown kind {kind!r}")
        revoked_at = data.get("revoked_at")
        return cls(
            serial=int(data["serial"], 16),
            common_name=str(data["cn"]),
            kind=kind,
            not_before=datetime.fromisoformat(data["not_before"]),
            not_after=datetime.fromisoformat(data["not_after"]),
            revoked_at=None if revoked_at is None else datetime.fromisoformat(revoked_at),
            reason=data.get("reason"),
        )


@dataclass
class Index:
    """Every certificate of one PKI, and the number of the last revocation list."""

    certificates: list[CertificateRecord] = field(default_factory=list)
    crl_number: int = 0

    @classmethod
    def load(cls, directory: Path) -> Index:
        """Read ``directory/index.json``; :class:`PkiError` when it is missing or damaged."""
        path = directory / INDEX_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(
                certificates=[CertificateRecord.from_json(item) for item in data["certificates"]],
                crl_number=int(data["crl_number"]),
            )
        except FileNotFoundError:
            raise PkiError(f"{directory} is not a flexcem PKI (no {INDEX_FILE}); run 'flexcem pki init'") from None
        except (ValueError, KeyError, TypeError) as error:
            raise PkiError(f"{path} is damaged: {error}") from None

    def save(self, directory: Path) -> None:
        """Write ``directory/index.json`` atomically."""
        # One certificate a line: readable and diffable, and fast (json's C encoder runs only without indent).
        records = ",\n  ".join(json.dumps(record.to_json()) for record in self.certificates)
        text = f'{{"version": {INDEX_VERSION}, "crl_number": {self.crl_number}, "certificates": [\n  {records}\n]}}\n'
        write_public(directory / INDEX_FILE, text.encode())

    def serials(self) -> set[int]:
        """Every serial ever issued."""
        return {record.serial for record in self.certificates}

    def current(self, kind: Kind, common_name: str) -> CertificateRecord | None:
        """The valid (not revoked) certificate of ``kind`` for ``common_name``, if any."""
        return next(
            (
                record
                for record in reversed(self.certificates)
                if record.kind == kind and record.common_name == common_name and not record.revoked
            ),
            None,
        )

    def history(self, kind: Kind, common_name: str) -> list[CertificateRecord]:
        """Every certificate of ``kind`` ever issued for ``common_name``, oldest first."""
        return [record for record in self.certificates if record.kind == kind and record.common_name == common_name]

    def revoked(self) -> list[CertificateRecord]:
        """The revoked certificates, in the order they were issued."""
        return [record for record in self.certificates if record.revoked]


def _write(path: Path, data: bytes, mode: int) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.fchmod(descriptor, mode)  # the umask may have narrowed or the file may have existed
        with os.fdopen(descriptor, "wb") as stream:
            descriptor = -1
            stream.write(data)
    finally:
        if descriptor >= 0:
            os.close(descriptor)
    temporary.replace(path)


def write_private(path: Path, data: bytes) -> None:
    """Write a private key: mode 0600 from the start (never readable by others, not even briefly), atomically."""
    _write(path, data, 0o600)


def write_public(path: Path, data: bytes) -> None:
    """Write a certificate, CRL or the index: mode 0644, atomically (a reader never sees half a file)."""
    _write(path, data, 0o644)


@contextmanager
def locked(directory: Path) -> Iterator[None]:
    """Hold the PKI's lock: two ``flexcem pki`` runs on one directory never interleave their index updates."""
    with open(directory / LOCK_FILE, "a") as stream:
        fcntl.flock(stream.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(stream.fileno(), fcntl.LOCK_UN)
