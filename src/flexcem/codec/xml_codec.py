"""Envelope ⇄ XML, the SG CP wire format (namespace ``urn:flexcem:sgcp:1``).

Decoding, in order: size limit → safe parse (no DOCTYPE, no entities, no network, bounded depth) → root and
namespace → header → major version → message type (unknown: :class:`~flexcem.codec.errors.UnsupportedMessage`)
→ must-ignore pruning → strict XSD validation → pydantic validation of the body and the envelope.
"""

from __future__ import annotations

from lxml import etree

from flexcem.codec.assembly import HEADER_FIELDS, assemble, check_version, read_header, resolve_type
from flexcem.codec.errors import CodecError, InvalidMessage, MessageHeader
from flexcem.codec.safe_xml import check_size, parse_xml
from flexcem.codec.schema import validate
from flexcem.codec.shapes import envelope_shape
from flexcem.codec.wire import DEFAULT_MAX_BYTES, DEFAULT_MAX_DEPTH, MAJOR_VERSION, NAMESPACE, ROOT, qualified
from flexcem.codec.xml_tree import leaf_text, local_name, prune, to_data, to_element
from flexcem.model import Envelope

__all__ = ["decode_xml", "encode_xml"]

_NAMESPACE_STEM = NAMESPACE.rsplit(":", 1)[0] + ":"


def encode_xml(envelope: Envelope, *, max_bytes: int | None = DEFAULT_MAX_BYTES) -> bytes:
    """``envelope`` as UTF-8 XML with declaration.

    :class:`~flexcem.codec.errors.InvalidMessage` when a value has no XML form (a non-finite float, a control
    character); :class:`~flexcem.codec.errors.MessageTooLarge` when the result exceeds ``max_bytes``
    (``None``: no limit), since a receiver with that limit would refuse it.
    """
    data: bytes = etree.tostring(to_element(envelope, ROOT), xml_declaration=True, encoding="UTF-8")
    if max_bytes is not None:
        check_size(data, max_bytes)
    return data


def _check_root(root: etree._Element) -> None:
    tag = etree.QName(root)
    if tag.localname == ROOT and tag.namespace and tag.namespace.startswith(_NAMESPACE_STEM):
        major = tag.namespace[len(_NAMESPACE_STEM) :]
        if major != str(MAJOR_VERSION):
            raise InvalidMessage(
                f"namespace {tag.namespace} is major version {major}; this receiver understands "
                f"{NAMESPACE} ({MAJOR_VERSION}.x) only",
                field="schema_version",
            )
    if root.tag != qualified(ROOT):
        raise InvalidMessage(f"the root element is {root.tag}, not {{{NAMESPACE}}}{ROOT}: not an SG CP envelope")


def _header(root: etree._Element) -> MessageHeader:
    values: dict[str, object] = {}
    for child in root:
        name = local_name(child)
        text = leaf_text(child) if name in HEADER_FIELDS and name not in values else None
        if name is not None and text is not None:
            values[name] = text
    return read_header(values)


def decode_xml(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES, max_depth: int = DEFAULT_MAX_DEPTH) -> Envelope:
    """The envelope in ``data``; a :class:`~flexcem.codec.errors.CodecError` naming the problem otherwise."""
    root = parse_xml(bytes(data), max_bytes=max_bytes, max_depth=max_depth)
    _check_root(root)
    header = _header(root)
    try:
        check_version(header)
        resolve_type(header)
        prune(root, envelope_shape(), message_type=header.type)
        validate(root, header)
        return assemble(to_data(root, envelope_shape()), header)
    except CodecError as error:
        raise error.with_header(header) from None
