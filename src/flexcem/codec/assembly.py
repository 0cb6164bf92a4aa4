"""The steps XML and JSON decoding share once the message is plain data.

1. :func:`read_header` — the header fields as received (strings), attached to every later error;
2. :func:`check_version` — the same major ``schema_version`` (a newer minor is fine; absent means ours);
3. :func:`resolve_type` — the registered body class; an unknown type is an
   :class:`~flexcem.codec.errors.UnsupportedMessage` carrying the validated header;
4. :func:`assemble` — the body through its pydantic model, then the envelope, errors mapped to field paths.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from typing import Any, Final

from pydantic import TypeAdapter, ValidationError

from flexcem.codec.errors import InvalidMessage, MessageHeader, UnsupportedMessage
from flexcem.codec.model_errors import invalid_from_exception, invalid_from_validation
from flexcem.codec.shapes import envelope_shape, model_shape
from flexcem.codec.wire import MAJOR_VERSION
from flexcem.model import Envelope, FlexModel, message_types

__all__ = ["BODY", "HEADER_FIELDS", "assemble", "check_version", "read_header", "resolve_type"]

BODY: Final = "body"
HEADER_FIELDS: Final = ("id", "type", "from", "to", "reply_to", "correlation_id", "schema_version")
"""Wire names of the header fields reported in :class:`~flexcem.codec.errors.MessageHeader`."""

_VERSION: Final = re.compile(r"(\d+)\.(\d+)")
_REQUIRED_FOR_REPLY: Final = ("id", "from", "to")


def read_header(values: Mapping[str, object]) -> MessageHeader:
    """The header from wire-named ``values``; anything that is not a string counts as absent."""

    def text(name: str) -> str | None:
        value = values.get(name)
        return value if isinstance(value, str) else None

    return MessageHeader(
        id=text("id"),
        type=text("type"),
        sender=text("from"),
        to=text("to"),
        reply_to=text("reply_to"),
        correlation_id=text("correlation_id"),
        schema_version=text("schema_version"),
    )


def check_version(header: MessageHeader) -> None:
    """Refuse another major version; accept any minor version of ours, and an absent version."""
    version = header.schema_version
    if version is None:
        return
    match = _VERSION.fullmatch(version.strip())
    if match is None:
        raise InvalidMessage(
            f"schema_version {version!r} is not of the form MAJOR.MINOR",
            field="schema_version",
            header=header,
        )
    if int(match.group(1)) != MAJOR_VERSION:
        raise InvalidMessage(
            f"schema_version {version} is major version {int(match.group(1))}; this receiver understands "
            f"{MAJOR_VERSION}.x only",
            field="schema_version",
            header=header,
        )


@cache
def _adapter(wire: str) -> TypeAdapter[Any]:
    field = envelope_shape().by_wire[wire]
    return TypeAdapter(Envelope.model_fields[field.name].rebuild_annotation())


def _validate_header(header: MessageHeader) -> None:
    values = {
        "id": header.id,
        "type": header.type,
        "from": header.sender,
        "to": header.to,
        "reply_to": header.reply_to,
        "correlation_id": header.correlation_id,
    }
    for wire, value in values.items():
        if value is None:
            if wire in _REQUIRED_FOR_REPLY:
                raise InvalidMessage("missing required field", field=wire, header=header)
            continue
        try:
            _adapter(wire).validate_python(value)
        except ValidationError as error:
            raise invalid_from_validation(error, envelope_shape(), prefix=wire, header=header) from None


def resolve_type(header: MessageHeader) -> type[FlexModel]:
    """The body class of the message's type; :class:`UnsupportedMessage` when this receiver lacks it."""
    if header.type is None:
        raise InvalidMessage("missing required field", field="type", header=header)
    cls = message_types().get(header.type)
    if cls is None:
        _validate_header(header)
        raise UnsupportedMessage(header)
    return cls


def assemble(data: Mapping[str, Any], header: MessageHeader) -> Envelope:
    """The envelope from pruned wire data (header fields by wire name, ``body`` as the body's data)."""
    message_type = resolve_type(header)
    prefix = f"{BODY}.{header.type}"
    if BODY not in data:
        raise InvalidMessage("missing required field", field=BODY, header=header)
    try:
        body = message_type.model_validate(data[BODY])
    except ValidationError as error:
        shape = model_shape(message_type)
        raise invalid_from_validation(error, shape, prefix=prefix, header=header) from None
    except (ArithmeticError, TypeError, ValueError) as error:
        raise invalid_from_exception(error, field=prefix, header=header) from None
    fields = {name: value for name, value in data.items() if name != BODY}
    try:
        return Envelope.model_validate({**fields, BODY: body})
    except ValidationError as error:
        raise invalid_from_validation(error, envelope_shape(), header=header) from None
