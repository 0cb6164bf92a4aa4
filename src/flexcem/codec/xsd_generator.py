"""Generate the SG CP XSD from the model.

Regenerate with ``python -m flexcem.codec.xsd_generator > src/flexcem/codec/schema/flexcem-sgcp-1.0.xsd``.

The generator walks the :class:`~flexcem.model.Envelope` and every registered message type
(:func:`~flexcem.model.message_types`) through their wire shapes (:mod:`flexcem.codec.shapes`), so a new
message only needs registering and regenerating. Mapping:

* model → named ``xs:complexType`` (its docstring as documentation), fields as an ``xs:sequence`` of elements
  in declaration order, each with its description as ``xs:documentation``; a field that may be absent (it has
  a default, or is ``X | None``) has ``minOccurs="0"``;
* ``tuple[X, ...]`` → a wrapper element holding repeated ``item`` elements (min/max length as occurrences);
* str → ``xs:string`` (pattern, minLength, maxLength); StrEnum → named ``xs:string`` enumeration;
  int → ``xs:integer``; float → ``FiniteDouble``; ge/gt/le/lt → min/max Inclusive/Exclusive; bool →
  ``xs:boolean``; datetime → ``AwareDateTime`` (timezone mandatory); timedelta → ``DayTimeDuration``;
* the body → ``Body``: exactly one element named after the message type.

Every complex type ends with an optional ``xs:any namespace="##other"`` and allows foreign attributes, so
extension content in other namespaces validates; flexcem's decoder goes further and ignores unknown content
anywhere (see :mod:`flexcem.codec.xml_tree`).
"""

from __future__ import annotations

import argparse
import re
import sys
from enum import Enum
from typing import Final

from lxml import etree
from pydantic import BaseModel

from flexcem.codec.shapes import (
    Facets,
    FieldShape,
    Kind,
    ModelShape,
    UnsupportedAnnotationError,
    ValueShape,
    model_shape,
    reachable_models,
)
from flexcem.codec.wire import ITEM, NAMESPACE, ROOT, SCHEMA_FILE
from flexcem.model import SCHEMA_VERSION, Envelope, message_types

__all__ = ["generate_xsd", "main", "xsd_pattern"]

XS: Final = "http://www.w3.org/2001/XMLSchema"
BODY_TYPE: Final = "Body"

_BUILTIN_TYPES: Final = {
    "AwareDateTime": (
        "xs:dateTime",
        r".+(Z|[+\-]\d{2}:\d{2})",
        "An xs:dateTime with a mandatory timezone (Z or ±hh:mm), e.g. 2024-05-01T10:00:00+02:00.",
    ),
    "DayTimeDuration": (
        "xs:duration",
        r"-?P(\d+D)?(T(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?",
        "An xs:duration in days, hours, minutes and seconds only (no years or months), e.g. PT15M, P1DT2H.",
    ),
    "FiniteDouble": (
        "xs:double",
        r"[+\-]?(\d+(\.\d*)?|\.\d+)([eE][+\-]?\d+)?",
        "An xs:double that is a finite number (no INF, -INF or NaN).",
    ),
}
_LEAF_BASES: Final = {
    Kind.STRING: "xs:string",
    Kind.BOOL: "xs:boolean",
    Kind.INT: "xs:integer",
    Kind.FLOAT: "FiniteDouble",
    Kind.DATETIME: "AwareDateTime",
    Kind.DURATION: "DayTimeDuration",
}
_UNSUPPORTED_REGEX: Final = re.compile(r"\(\?|\\[AZzbBwW]|[*+?}]\?")


def xsd_pattern(pattern: str) -> str:
    """A pydantic (search semantics) regular expression as an XSD pattern (whole-value semantics)."""
    if _UNSUPPORTED_REGEX.search(pattern):
        raise UnsupportedAnnotationError(f"pattern {pattern!r} uses regular-expression syntax XSD does not have")
    body = pattern[1:] if pattern.startswith("^") else r"[\s\S]*" + pattern
    if body.endswith("$") and not body.endswith(r"\$"):
        body = body[:-1]
    else:
        body += r"[\s\S]*"
    return body


def type_name(cls: type) -> str:
    """XSD name of a model or enumeration type (its class name made an NCName)."""
    return re.sub(r"[^A-Za-z0-9_.\-]", "_", cls.__name__)


def _xs(parent: etree._Element, tag: str, **attributes: str) -> etree._Element:
    return etree.SubElement(parent, f"{{{XS}}}{tag}", attributes)


def _document(parent: etree._Element, text: str | None) -> None:
    if text:
        _xs(_xs(parent, "annotation"), "documentation").text = text


def _number(kind: Kind, value: float) -> str:
    return str(int(value)) if kind is Kind.INT else repr(float(value))


def _restrict(parent: etree._Element, base: str, kind: Kind, facets: Facets) -> None:
    restriction = _xs(_xs(parent, "simpleType"), "restriction", base=base)
    if facets.pattern is not None:
        _xs(restriction, "pattern", value=xsd_pattern(facets.pattern))
    if facets.min_length is not None:
        _xs(restriction, "minLength", value=str(facets.min_length))
    if facets.max_length is not None:
        _xs(restriction, "maxLength", value=str(facets.max_length))
    for facet, value in (
        ("minInclusive", facets.ge),
        ("minExclusive", facets.gt),
        ("maxInclusive", facets.le),
        ("maxExclusive", facets.lt),
    ):
        if value is not None:
            _xs(restriction, facet, value=_number(kind, value))


def _any_other(sequence: etree._Element) -> None:
    _xs(sequence, "any", namespace="##other", processContents="lax", minOccurs="0", maxOccurs="unbounded")


def _any_attribute(complex_type: etree._Element) -> None:
    _xs(complex_type, "anyAttribute", namespace="##other", processContents="lax")


def _typed(element: etree._Element, value: ValueShape) -> None:
    """Give ``element`` the XSD type of ``value``: a ``type`` attribute or an anonymous type."""
    if value.kind is Kind.MODEL:
        assert value.model is not None
        element.set("type", type_name(value.model))
    elif value.kind is Kind.MESSAGE:
        element.set("type", BODY_TYPE)
    elif value.kind is Kind.LIST:
        complex_type = _xs(element, "complexType")
        sequence = _xs(complex_type, "sequence")
        item = _xs(sequence, "element", name=ITEM)
        item.set("minOccurs", str(value.facets.min_length or 0))
        most = value.facets.max_length
        item.set("maxOccurs", "unbounded" if most is None else str(most))
        _typed(item, value.item_shape)
        _any_other(sequence)
        _any_attribute(complex_type)
    else:
        base = type_name(value.enum) if value.enum is not None else _LEAF_BASES[value.kind]
        if value.facets.empty:
            element.set("type", base)
        else:
            _restrict(element, base, value.kind, value.facets)


def _field_element(sequence: etree._Element, field: FieldShape) -> None:
    element = _xs(sequence, "element", name=field.wire)
    if not field.required:
        element.set("minOccurs", "0")
    _document(element, field.description)
    # Lists keep their length facets on the items; the wrapper element itself carries none.
    _typed(element, field.value)


def _complex_type(schema: etree._Element, shape: ModelShape) -> None:
    complex_type = _xs(schema, "complexType", name=type_name(shape.model))
    _document(complex_type, shape.documentation)
    sequence = _xs(complex_type, "sequence")
    for field in shape.fields:
        _field_element(sequence, field)
    _any_other(sequence)
    _any_attribute(complex_type)


def _body_type(schema: etree._Element) -> None:
    complex_type = _xs(schema, "complexType", name=BODY_TYPE)
    _document(complex_type, "The message body: one element, named after the envelope's type, holding it.")
    sequence = _xs(complex_type, "sequence")
    choice = _xs(sequence, "choice")
    types = message_types()
    for name in sorted(types):
        _xs(choice, "element", name=name, type=type_name(types[name]))
    _any_other(sequence)
    _any_attribute(complex_type)


def _enum_type(schema: etree._Element, enum: type[Enum]) -> None:
    simple_type = _xs(schema, "simpleType", name=type_name(enum))
    doc = enum.__dict__.get("__doc__")
    _document(simple_type, doc.strip() if isinstance(doc, str) else None)
    restriction = _xs(simple_type, "restriction", base="xs:string")
    for member in enum:
        _xs(restriction, "enumeration", value=str(member.value))


def _enums(models: list[type[BaseModel]]) -> list[type[Enum]]:
    found: dict[str, type[Enum]] = {}
    for model in models:
        for field in model_shape(model).fields:
            value: ValueShape | None = field.value
            while value is not None:
                if value.enum is not None:
                    found.setdefault(type_name(value.enum), value.enum)
                value = value.item
    return [found[name] for name in sorted(found)]


def _check_names(models: list[type[BaseModel]], enums: list[type[Enum]]) -> None:
    owners: dict[str, object] = {name: name for name in (*_BUILTIN_TYPES, BODY_TYPE)}
    for cls in (*models, *enums):
        owner = owners.setdefault(type_name(cls), cls)
        if owner is not cls:
            raise UnsupportedAnnotationError(f"two wire types are named {type_name(cls)!r}: {owner!r} and {cls!r}")


def generate_xsd() -> bytes:
    """The XSD of the current model and message registry, as UTF-8 bytes."""
    models = reachable_models()
    enums = _enums(models)
    _check_names(models, enums)
    schema = etree.Element(
        f"{{{XS}}}schema",
        {
            "targetNamespace": NAMESPACE,
            "elementFormDefault": "qualified",
            "attributeFormDefault": "unqualified",
            "version": SCHEMA_VERSION,
        },
        nsmap={"xs": XS, None: NAMESPACE},  # type: ignore[dict-item]
    )
    _document(
        schema,
        f"flexcem SG CP message schema {SCHEMA_VERSION} (IEC TR 62746-2). Generated from the flexcem "
        f"model by 'python -m flexcem.codec.xsd_generator > {SCHEMA_FILE}'; do not edit. Receivers ignore "
        "elements and attributes they do not know (must-ignore); the namespace carries the major version.",
    )
    _xs(schema, "element", name=ROOT, type=type_name(Envelope))
    for name, (base, pattern, doc) in _BUILTIN_TYPES.items():
        simple_type = _xs(schema, "simpleType", name=name)
        _document(simple_type, doc)
        _xs(_xs(simple_type, "restriction", base=base), "pattern", value=pattern)
    _complex_type(schema, model_shape(Envelope))
    _body_type(schema)
    for model in sorted(models[1:], key=type_name):
        _complex_type(schema, model_shape(model))
    for enum in enums:
        _enum_type(schema, enum)
    return etree.tostring(schema, pretty_print=True, xml_declaration=True, encoding="UTF-8")


def main(argv: list[str] | None = None) -> int:
    """Write the XSD to standard output (or to ``--output``)."""
    parser = argparse.ArgumentParser(prog="python -m flexcem.codec.xsd_generator", description=__doc__)
    parser.add_argument("--output", "-o", help="write to this file instead of standard output")
    arguments = parser.parse_args(argv)
    xsd = generate_xsd()
    if arguments.output:
        with open(arguments.output, "wb") as file:
            file.write(xsd)
    else:
        sys.stdout.buffer.write(xsd)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
