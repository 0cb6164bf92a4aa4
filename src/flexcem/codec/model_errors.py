"""pydantic validation errors as :class:`~flexcem.codec.errors.InvalidMessage` with a field path.

The path is pydantic's ``loc`` joined with dots under a prefix (``body.FlexibleStartOffer``). A rule that
spans a whole model (a ``model_validator``) has no field of its own in pydantic; its message names the
fields it compares, and when the message starts with one of the model's fields (``latest_start ... is after
latest_end``) the path is refined to that field, so that a Nack can point at it.
"""

from __future__ import annotations

import re
from typing import Final

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from flexcem.codec.errors import InvalidMessage, MessageHeader
from flexcem.codec.shapes import Kind, ModelShape, ValueShape

__all__ = ["invalid_from_exception", "invalid_from_validation"]

_LEADING_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_MAX_LISTED: Final = 5


def _shape_at(shape: ModelShape, loc: tuple[int | str, ...]) -> ModelShape | ValueShape | None:
    here: ModelShape | ValueShape = shape
    for step in loc:
        if isinstance(here, ValueShape) and here.kind is Kind.MODEL:
            here = here.model_shape
        if isinstance(here, ModelShape):
            field = here.by_wire.get(str(step)) or here.by_name.get(str(step))
            if field is None:
                return None
            here = field.value
        elif here.kind is Kind.LIST and isinstance(step, int):
            here = here.item_shape
        else:
            return None
    if isinstance(here, ValueShape) and here.kind is Kind.MODEL:
        return here.model_shape
    return here


def _message(error: ErrorDetails) -> str:
    context = error.get("ctx") or {}
    if error["type"] in ("value_error", "assertion_error") and "error" in context:
        return str(context["error"])
    if error["type"] == "missing":
        return "missing required field"
    message = error["msg"]
    value = error.get("input")
    if isinstance(value, str | int | float):
        shown = repr(value)
        message += f" (got {shown[:80]}{'…' if len(shown) > 80 else ''})"
    return message


def _path(error: ErrorDetails, shape: ModelShape, prefix: str) -> str | None:
    loc = tuple(error["loc"])
    steps = [str(step) for step in loc]
    if error["type"] in ("value_error", "assertion_error"):
        here = _shape_at(shape, loc)
        context = error.get("ctx") or {}
        leading = _LEADING_NAME.match(str(context.get("error", "")))
        if isinstance(here, ModelShape) and leading and leading.group() in here.by_wire:
            steps.append(leading.group())
    path = ".".join(part for part in (prefix, *steps) if part)
    return path or None


def invalid_from_validation(
    error: ValidationError, shape: ModelShape, *, prefix: str = "", header: MessageHeader | None = None
) -> InvalidMessage:
    """An :class:`InvalidMessage` for ``error``, raised validating data of ``shape`` found at ``prefix``."""
    details = error.errors()
    described = [(_path(detail, shape, prefix), _message(detail)) for detail in details]
    field, reason = described[0]
    if len(described) > 1:
        more = "; ".join(f"{path or 'message'}: {text}" for path, text in described[1:_MAX_LISTED])
        extra = len(described) - _MAX_LISTED
        reason += f" (and {len(described) - 1} more: {more}{f'; {extra} not shown' if extra > 0 else ''})"
    return InvalidMessage(reason, field=field, header=header)


def invalid_from_exception(error: Exception, *, field: str | None, header: MessageHeader | None) -> InvalidMessage:
    """An :class:`InvalidMessage` for an unexpected error a model validator raised (e.g. an overflow)."""
    return InvalidMessage(
        f"the message could not be validated: {type(error).__name__}: {error}", field=field, header=header
    )
