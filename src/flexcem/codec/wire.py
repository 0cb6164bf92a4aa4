"""Constants of the SG CP wire format shared by the XML and JSON codecs.

The XML namespace carries the **major** schema version (``urn:flexcem:sgcp:1``); the full version travels in
every envelope's ``schema_version``. A receiver accepts any minor version of its major version and refuses
every other major version.
"""

from __future__ import annotations

from typing import Final

from flexcem.model import SCHEMA_VERSION

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_DEPTH",
    "ITEM",
    "MAJOR_VERSION",
    "NAMESPACE",
    "ROOT",
    "SCHEMA_FILE",
    "qualified",
]

MAJOR_VERSION: Final[int] = int(SCHEMA_VERSION.split(".")[0])
"""Major version of the schema this build speaks."""

NAMESPACE: Final[str] = f"urn:flexcem:sgcp:{MAJOR_VERSION}"
"""XML namespace of every flexcem SG CP element."""

ROOT: Final[str] = "Envelope"
"""Local name of the XML root element."""

ITEM: Final[str] = "item"
"""Local name of the repeated element inside a list's wrapper element."""

SCHEMA_FILE: Final[str] = f"flexcem-sgcp-{SCHEMA_VERSION}.xsd"
"""File name of the generated XSD inside ``flexcem/codec/schema/``."""

DEFAULT_MAX_BYTES: Final[int] = 256 * 1024
"""Largest encoded message accepted by default (256 KiB), checked before parsing."""

DEFAULT_MAX_DEPTH: Final[int] = 32
"""Deepest element (XML) or container (JSON) nesting accepted by default; flexcem's own messages need 11."""


def qualified(local: str) -> str:
    """The Clark notation ``{namespace}local`` of a flexcem element."""
    return f"{{{NAMESPACE}}}{local}"
