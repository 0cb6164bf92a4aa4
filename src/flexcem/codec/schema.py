"""The shipped XSD, loaded once, and XSD validation with errors that name the field.

:func:`xml_schema` returns the compiled schema of ``flexcem/codec/schema/flexcem-sgcp-<version>.xsd``
(cached per thread: lxml validators must not be shared between threads). Should the running program have
registered message types the shipped file does not know, the schema is generated from the live model
instead, so that the XSD and the must-ignore pruning always agree.

:func:`validate` maps libxml2's error log to an :class:`~flexcem.codec.errors.InvalidMessage` whose
``field`` is the dotted path of the offending element (for a missing element: the path it should have).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Final, Protocol, cast

from lxml import etree

from flexcem.codec.errors import InvalidMessage, MessageHeader
from flexcem.codec.shapes import Kind, ModelShape, ValueShape, envelope_shape
from flexcem.codec.wire import ITEM, NAMESPACE, SCHEMA_FILE
from flexcem.codec.xml_tree import field_path, local_name
from flexcem.model import message_types

__all__ = ["schema_path", "schema_text", "validate", "xml_schema"]

_XS: Final = "http://www.w3.org/2001/XMLSchema"
_STEP: Final = re.compile(r"(?:[^:\[\]]+:)?(?P<name>[^:\[\]]+)(?:\[(?P<index>\d+)\])?")
_EXPECTED: Final = re.compile(r"Expected is (?:one of )?\( ([^)]*) \)")
_VALUE: Final = re.compile(r"[Tt]he value '([^']*)'")
_ELEMENT_PREFIX: Final = re.compile(r"^Element '[^']*': ")
_HINTS: Final = {
    Kind.DATETIME: "a timezone-aware dateTime is needed, e.g. 2024-05-01T10:00:00+02:00",
    Kind.DURATION: "a duration in days, hours, minutes and seconds is needed, e.g. PT15M or P1DT2H",
    Kind.FLOAT: "a finite number is needed",
}
_local = threading.local()


def schema_path() -> Traversable:
    """Where the shipped XSD lives inside the installed package."""
    return resources.files("flexcem.codec").joinpath("schema", SCHEMA_FILE)


@cache
def _shipped() -> tuple[bytes, frozenset[str]] | None:
    try:
        data = schema_path().read_bytes()
    except FileNotFoundError:
        return None
    tree = etree.fromstring(data)
    names = tree.xpath(
        "/xs:schema/xs:complexType[@name='Body']/xs:sequence/xs:choice/xs:element/@name",
        namespaces={"xs": _XS},
    )
    return data, frozenset(str(name) for name in cast("list[object]", names))


@cache
def _generated(_registry: frozenset[tuple[str, str]]) -> bytes:
    from flexcem.codec.xsd_generator import generate_xsd  # lazily: only when the registry grew

    return generate_xsd()


def _registry() -> frozenset[tuple[str, str]]:
    return frozenset((name, f"{cls.__module__}.{cls.__qualname__}") for name, cls in message_types().items())


def schema_text() -> bytes:
    """The XSD in force: the shipped file, or a generated one when the registry differs from it."""
    shipped = _shipped()
    if shipped is not None and shipped[1] == frozenset(message_types()):
        return shipped[0]
    return _generated(_registry())


def xml_schema() -> etree.XMLSchema:
    """The compiled XSD in force (compiled once per thread and registry)."""
    text = schema_text()
    cached: tuple[bytes, etree.XMLSchema] | None = getattr(_local, "schema", None)
    if cached is None or cached[0] is not text:
        cached = (text, etree.XMLSchema(etree.fromstring(text)))
        _local.schema = cached
    return cached[1]


def _resolve(root: etree._Element, path: str | None) -> etree._Element | None:
    """The element libxml2's node path (``/*/*[2]`` or ``/p:Envelope/p:body``) points at."""
    if not path:
        return None
    steps = path.strip("/").split("/")
    current = root
    for step in steps[1:]:
        match = _STEP.fullmatch(step)
        if match is None:
            return None
        name, index = match.group("name"), int(match.group("index") or 1)
        candidates = [
            child for child in current if isinstance(child.tag, str) and name in ("*", etree.QName(child).localname)
        ]
        if index > len(candidates):
            return None
        current = candidates[index - 1]
    return current


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _missing(shape: ModelShape | ValueShape, parent: etree._Element, expected: list[str]) -> str | None:
    """The required element among ``expected`` that ``parent`` lacks, if any."""
    if isinstance(shape, ValueShape) and shape.kind is Kind.MODEL:
        shape = shape.model_shape
    present = {local_name(child) for child in parent}
    for name in expected:
        if isinstance(shape, ModelShape):
            field = shape.by_wire.get(name)
            if field is not None and field.required and name not in present:
                return name
        elif name == ITEM and ITEM not in present:
            return name
    return None


class _LogEntry(Protocol):
    """What this module reads of an lxml error-log entry."""

    message: str
    path: str | None


def _describe(root: etree._Element, error: _LogEntry) -> tuple[str | None, str]:
    message = _ELEMENT_PREFIX.sub("", error.message).replace(f"{{{NAMESPACE}}}", "")
    element = _resolve(root, error.path)
    if element is None:
        return None, message
    path, shape = field_path(element, envelope_shape())
    expected_match = _EXPECTED.search(error.message)
    listed = expected_match.group(1).split(", ") if expected_match else []
    expected = [name.rsplit("}", 1)[-1] for name in listed]
    if "Missing child element" in error.message:
        name = _missing(shape, element, expected)
        if name == ITEM and isinstance(shape, ValueShape):
            return path or None, f"the list needs at least {shape.facets.min_length or 1} item(s)"
        if name is not None:
            return _join(path, name), "missing required element"
        return path or None, message
    parent = element.getparent()
    if "not expected" in error.message and parent is not None:
        parent_path, parent_shape = field_path(parent, envelope_shape())
        name = _missing(parent_shape, parent, expected)
        if name is not None and name != ITEM:
            return _join(parent_path, name), f"missing required element (found {local_name(element)} instead)"
        wanted = f" (expected {', '.join(expected)})" if expected else ""
        return path or None, f"element {local_name(element)} is repeated or out of order{wanted}"
    value = _VALUE.search(error.message)
    lexical = "[facet 'pattern']" in error.message or "atomic type" in error.message
    if lexical and value and isinstance(shape, ValueShape) and shape.kind in _HINTS:
        return path or None, f"the value {value.group(1)!r} is refused: {_HINTS[shape.kind]}"
    return path or None, message


def validate(root: etree._Element, header: MessageHeader | None = None) -> None:
    """Validate a pruned envelope against the XSD; :class:`InvalidMessage` naming the field otherwise."""
    schema = xml_schema()
    if schema.validate(root):
        return
    errors = list(cast("Iterable[_LogEntry]", schema.error_log))
    field, reason = _describe(root, errors[0])
    if len(errors) > 1:
        reason += f" (and {len(errors) - 1} more schema errors)"
    raise InvalidMessage(reason, field=field, header=header)
