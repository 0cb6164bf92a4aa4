"""Envelope ⇄ JSON, with the same names, lexical forms, limits, must-ignore rule and errors as XML.

The JSON form is pydantic's (``Envelope.model_validate_json`` reads it): an object with the header fields
(``from`` for the sender) and ``body``, the message's own object; ``None`` is left out. Decoding: size limit →
UTF-8 → JSON syntax (line and column in the error; duplicate keys, NaN and Infinity refused) → depth → header,
major version, message type → must-ignore (unknown keys dropped, recursively, as the model knows them) →
pydantic validation of the body and the envelope.
"""

from __future__ import annotations

import json
import math
from typing import Any, NoReturn

from pydantic import BaseModel

from flexcem.codec.assembly import BODY, assemble, check_version, read_header, resolve_type
from flexcem.codec.errors import CodecError, InvalidMessage, MalformedMessage
from flexcem.codec.lexical import NotRepresentableError, leaf_to_json
from flexcem.codec.safe_xml import check_size
from flexcem.codec.shapes import Kind, ModelShape, ValueShape, envelope_shape, model_shape
from flexcem.codec.wire import DEFAULT_MAX_BYTES, DEFAULT_MAX_DEPTH
from flexcem.model import Envelope
from flexcem.model.envelope import message_type_of

__all__ = ["decode_json", "encode_json"]


# --- encoding --------------------------------------------------------------------------------------------


def _json_value(value: Any, shape: ValueShape, path: str) -> Any:
    if shape.kind is Kind.MODEL:
        return _json_object(value, shape.model_shape, path)
    if shape.kind is Kind.LIST:
        return [_json_value(item, shape.item_shape, f"{path}.{index}") for index, item in enumerate(value)]
    if shape.kind is Kind.MESSAGE:
        body: BaseModel = value
        return _json_object(body, model_shape(type(body)), f"{path}.{message_type_of(value)}")
    try:
        return leaf_to_json(shape.kind, value)
    except NotRepresentableError as error:
        raise InvalidMessage(str(error), field=path) from None


def _json_object(instance: BaseModel, shape: ModelShape, path: str) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for field in shape.fields:
        value = getattr(instance, field.name)
        if value is not None:
            where = f"{path}.{field.wire}" if path else field.wire
            result[field.wire] = _json_value(value, field.value, where)
    return result


def encode_json(envelope: Envelope, *, max_bytes: int | None = DEFAULT_MAX_BYTES) -> bytes:
    """``envelope`` as compact UTF-8 JSON.

    :class:`~flexcem.codec.errors.InvalidMessage` when a value has no JSON form (a non-finite float);
    :class:`~flexcem.codec.errors.MessageTooLarge` when the result exceeds ``max_bytes`` (``None``: no limit).
    """
    document = _json_object(envelope, envelope_shape(), "")
    data = json.dumps(document, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")
    if max_bytes is not None:
        check_size(data, max_bytes)
    return data


# --- decoding --------------------------------------------------------------------------------------------


def _refuse_constant(name: str) -> NoReturn:
    raise MalformedMessage(f"{name} is not a JSON number; the wire format has finite numbers only")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise MalformedMessage(f"the number {text[:40]} is out of range; the wire format has finite numbers only")
    return value


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise MalformedMessage(f"the key {key!r} appears twice in one object")
        result[key] = value
    return result


def _load(data: bytes, max_depth: int) -> Any:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise MalformedMessage(f"the message is not UTF-8 (byte {error.start}); the wire format is UTF-8") from None
    try:
        document = json.loads(
            text, object_pairs_hook=_unique_keys, parse_constant=_refuse_constant, parse_float=_finite
        )
    except json.JSONDecodeError as error:
        raise MalformedMessage(
            f"not well-formed JSON: {error.msg} at line {error.lineno}, column {error.colno}"
        ) from None
    except MalformedMessage:
        raise
    except RecursionError:
        raise MalformedMessage(f"containers nest deeper than {max_depth} levels") from None
    except ValueError as error:  # e.g. an integer literal beyond Python's digit limit
        raise MalformedMessage(f"not acceptable JSON: {error}") from None
    _check_depth(document, max_depth)
    return document


def _check_depth(document: Any, max_depth: int) -> None:
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth > max_depth:
                raise MalformedMessage(f"containers nest deeper than {max_depth} levels")
            children = value.values() if isinstance(value, dict) else value
            stack.extend((child, depth + 1) for child in children)


def _prune_value(value: Any, shape: ValueShape) -> Any:
    if shape.kind is Kind.MODEL:
        return _prune_object(value, shape.model_shape)
    if shape.kind is Kind.LIST and isinstance(value, list):
        return [_prune_value(item, shape.item_shape) for item in value]
    return value


def _prune_object(value: Any, shape: ModelShape) -> Any:
    """Must-ignore: the object without the keys ``shape`` does not know; other values are left to pydantic."""
    if not isinstance(value, dict):
        return value
    return {
        key: _prune_value(item, shape.by_wire[key].value)
        for key, item in value.items()
        if key in shape.by_wire and shape.by_wire[key].value.kind is not Kind.MESSAGE
    }


def decode_json(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES, max_depth: int = DEFAULT_MAX_DEPTH) -> Envelope:
    """The envelope in ``data``; a :class:`~flexcem.codec.errors.CodecError` naming the problem otherwise."""
    data = bytes(data)
    check_size(data, max_bytes)
    document = _load(data, max_depth)
    if not isinstance(document, dict):
        raise InvalidMessage(f"an envelope is a JSON object, not {type(document).__name__}")
    header = read_header(document)
    try:
        check_version(header)
        body_class = resolve_type(header)
        pruned = _prune_object(document, envelope_shape())
        if BODY in document:
            pruned[BODY] = _prune_object(document[BODY], model_shape(body_class))
        return assemble(pruned, header)
    except CodecError as error:
        raise error.with_header(header) from None
