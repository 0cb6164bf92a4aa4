"""Codec objects for the bus: one interface over the XML and the JSON wire formats.

>>> codec = codec_for("xml")
>>> codec.content_type
'application/xml'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from flexcem.codec.json_codec import decode_json, encode_json
from flexcem.codec.wire import DEFAULT_MAX_BYTES, DEFAULT_MAX_DEPTH
from flexcem.codec.xml_codec import decode_xml, encode_xml
from flexcem.model import Envelope

__all__ = ["CODEC_NAMES", "Codec", "JsonCodec", "XmlCodec", "codec_for"]

CODEC_NAMES = ("xml", "json")
"""Names :func:`codec_for` knows."""


@runtime_checkable
class Codec(Protocol):
    """Encodes envelopes to bytes and back; errors are :class:`~flexcem.codec.errors.CodecError`."""

    @property
    def name(self) -> str:
        """Short name: ``xml`` or ``json``."""
        ...

    @property
    def content_type(self) -> str:
        """MIME type of the encoded bytes (for MQTT 5's content type property)."""
        ...

    def encode(self, envelope: Envelope) -> bytes:
        """The envelope as bytes."""
        ...

    def decode(self, data: bytes) -> Envelope:
        """The envelope in ``data``."""
        ...


def _check_limits(max_bytes: int, max_depth: int) -> None:
    if max_bytes <= 0 or max_depth <= 0:
        raise ValueError(f"limits must be positive (max_bytes={max_bytes}, max_depth={max_depth})")


@dataclass(frozen=True, slots=True)
class _LimitedCodec:
    """What both codecs share: the size and depth limits a received message must keep."""

    max_bytes: int = DEFAULT_MAX_BYTES
    max_depth: int = DEFAULT_MAX_DEPTH

    def __post_init__(self) -> None:
        _check_limits(self.max_bytes, self.max_depth)


@dataclass(frozen=True, slots=True)
class XmlCodec(_LimitedCodec):
    """The SG CP XML wire format with its limits; thread-safe."""

    @property
    def name(self) -> str:
        """``xml``."""
        return "xml"

    @property
    def content_type(self) -> str:
        """``application/xml``."""
        return "application/xml"

    def encode(self, envelope: Envelope) -> bytes:
        """See :func:`~flexcem.codec.xml_codec.encode_xml`; refuses what a receiver would find too large."""
        return encode_xml(envelope, max_bytes=self.max_bytes)

    def decode(self, data: bytes) -> Envelope:
        """See :func:`~flexcem.codec.xml_codec.decode_xml`."""
        return decode_xml(data, max_bytes=self.max_bytes, max_depth=self.max_depth)


@dataclass(frozen=True, slots=True)
class JsonCodec(_LimitedCodec):
    """The JSON form of the SG CP messages with its limits; thread-safe."""

    @property
    def name(self) -> str:
        """``json``."""
        return "json"

    @property
    def content_type(self) -> str:
        """``application/json``."""
        return "application/json"

    def encode(self, envelope: Envelope) -> bytes:
        """See :func:`~flexcem.codec.json_codec.encode_json`; refuses what a receiver would find too large."""
        return encode_json(envelope, max_bytes=self.max_bytes)

    def decode(self, data: bytes) -> Envelope:
        """See :func:`~flexcem.codec.json_codec.decode_json`."""
        return decode_json(data, max_bytes=self.max_bytes, max_depth=self.max_depth)


def codec_for(name: str, *, max_bytes: int = DEFAULT_MAX_BYTES, max_depth: int = DEFAULT_MAX_DEPTH) -> Codec:
    """The codec called ``name`` (``xml`` or ``json``, case-insensitive); :class:`ValueError` otherwise."""
    key = name.strip().lower()
    if key == "xml":
        return XmlCodec(max_bytes=max_bytes, max_depth=max_depth)
    if key == "json":
        return JsonCodec(max_bytes=max_bytes, max_depth=max_depth)
    raise ValueError(f"unknown codec {name!r}; known: {', '.join(CODEC_NAMES)}")
