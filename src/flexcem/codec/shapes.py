"""The wire shape of the model, derived generically from pydantic (``model_fields`` and annotations).

One description serves every part of the codec: the XSD generator, the XML encoder and decoder, the
must-ignore pruning of XML and JSON and the mapping of errors to field paths. A model field becomes a
:class:`FieldShape` (wire name, whether it must appear, its documentation) whose value is a
:class:`ValueShape`: a leaf of one :class:`Kind` with its facets (pattern, lengths, bounds), a nested model,
a list of values, or a message body (any registered message type, chosen by the envelope's ``type``).

A model that uses a type the wire format cannot express raises :class:`UnsupportedAnnotationError` as soon
as its shape is asked for, so a new message with such a field fails the codec's tests, not the wire.
"""

from __future__ import annotations

import inspect
import types
import typing
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum, StrEnum
from functools import cache
from typing import Any, Final

from pydantic import AwareDatetime, BaseModel, FutureDatetime, NaiveDatetime, PastDatetime
from pydantic.fields import FieldInfo

from flexcem.model import Envelope, FlexModel, message_types

__all__ = [
    "Facets",
    "FieldShape",
    "Kind",
    "ModelShape",
    "UnsupportedAnnotationError",
    "ValueShape",
    "envelope_shape",
    "model_shape",
    "reachable_models",
]

_DATETIMES: Final = (datetime, AwareDatetime, NaiveDatetime, PastDatetime, FutureDatetime)


class UnsupportedAnnotationError(TypeError):
    """A model field whose type has no mapping to the wire format."""


class Kind(Enum):
    """What a value is on the wire."""

    STRING = "string"
    ENUM = "enum"
    BOOL = "bool"
    INT = "int"
    FLOAT = "float"
    DATETIME = "datetime"
    DURATION = "duration"
    MODEL = "model"
    LIST = "list"
    MESSAGE = "message"

    @property
    def is_leaf(self) -> bool:
        """Whether values of this kind are text on the wire (no child elements)."""
        return self not in (Kind.MODEL, Kind.LIST, Kind.MESSAGE)


@dataclass(frozen=True, slots=True)
class Facets:
    """Constraints pydantic's metadata gives for a value (``None`` when absent)."""

    pattern: str | None = None
    min_length: int | None = None
    max_length: int | None = None
    ge: int | float | None = None
    gt: int | float | None = None
    le: int | float | None = None
    lt: int | float | None = None

    @property
    def empty(self) -> bool:
        """Whether no constraint is set."""
        return self == Facets()

    def merged(self, other: Facets) -> Facets:
        """These facets overridden by the ones set in ``other``."""
        values = {
            name: getattr(other, name) if getattr(other, name) is not None else getattr(self, name)
            for name in _FACET_NAMES
        }
        return Facets(**values)


_FACET_NAMES: Final = ("pattern", "min_length", "max_length", "ge", "gt", "le", "lt")


@dataclass(frozen=True, slots=True)
class ValueShape:
    """The shape of one value: a leaf with facets, a model, a list (with ``item``) or a message body."""

    kind: Kind
    facets: Facets = Facets()
    enum: type[Enum] | None = None
    model: type[BaseModel] | None = None
    item: ValueShape | None = None

    @property
    def model_shape(self) -> ModelShape:
        """The shape of the nested model (``MODEL`` values only)."""
        if self.model is None:
            raise TypeError(f"a {self.kind.value} value has no model shape")
        return model_shape(self.model)

    @property
    def item_shape(self) -> ValueShape:
        """The shape of a list's items (``LIST`` values only)."""
        if self.item is None:
            raise TypeError(f"a {self.kind.value} value has no items")
        return self.item


@dataclass(frozen=True, slots=True)
class FieldShape:
    """One model field on the wire."""

    name: str
    """Python attribute name."""
    wire: str
    """Name on the wire (the alias when there is one, e.g. ``from``), XML element and JSON key alike."""
    value: ValueShape
    required: bool
    """Whether the field must appear on the wire (no static default)."""
    nullable: bool
    """Whether ``None`` is allowed; ``None`` travels as an absent element or key."""
    description: str | None


@dataclass(frozen=True, slots=True)
class ModelShape:
    """A model's fields in declaration order (the order of XML elements)."""

    model: type[BaseModel]
    fields: tuple[FieldShape, ...]
    by_wire: dict[str, FieldShape] = field(compare=False, repr=False)
    by_name: dict[str, FieldShape] = field(compare=False, repr=False)

    @property
    def documentation(self) -> str | None:
        """The model's own docstring, cleaned (not an inherited one)."""
        return _own_doc(self.model)


def _own_doc(cls: type) -> str | None:
    doc = cls.__dict__.get("__doc__")
    return inspect.cleandoc(doc) if isinstance(doc, str) and doc.strip() else None


def _facets(metadata: typing.Iterable[Any]) -> Facets:
    """Facets from pydantic/annotated-types metadata objects, descending into nested ``FieldInfo``."""
    facets = Facets()
    for item in metadata:
        if isinstance(item, FieldInfo):
            facets = facets.merged(_facets(item.metadata))
            continue
        found = {name: getattr(item, name, None) for name in _FACET_NAMES}
        if any(value is not None for value in found.values()):
            facets = facets.merged(Facets(**found))
    return facets


def _split_annotated(annotation: Any) -> tuple[Any, list[Any]]:
    """``Annotated[X, m1, m2]`` → ``(X, [m1, m2])``; anything else → ``(annotation, [])``."""
    metadata: list[Any] = []
    while typing.get_origin(annotation) is typing.Annotated:
        base, *extra = typing.get_args(annotation)
        metadata = [*extra, *metadata]
        annotation = base
    return annotation, metadata


def _split_optional(annotation: Any) -> tuple[Any, bool]:
    """``X | None`` → ``(X, True)``; anything else → ``(annotation, False)``."""
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        arms = [arm for arm in typing.get_args(annotation) if arm is not type(None)]
        if len(arms) != 1:
            raise UnsupportedAnnotationError(f"unions other than 'X | None' have no wire form: {annotation!r}")
        return arms[0], True
    return annotation, False


def value_shape(annotation: Any, metadata: typing.Sequence[Any] = ()) -> ValueShape:
    """The shape of a value annotated ``annotation`` with the constraints in ``metadata``."""
    annotation, inner = _split_annotated(annotation)
    facets = _facets([*inner, *metadata])
    origin = typing.get_origin(annotation)
    if origin in (tuple, list):
        args = typing.get_args(annotation)
        if origin is tuple and (len(args) != 2 or args[1] is not Ellipsis):
            raise UnsupportedAnnotationError(
                f"only homogeneous tuples 'tuple[X, ...]' have a wire form: {annotation!r}"
            )
        return ValueShape(Kind.LIST, facets=facets, item=value_shape(args[0]))
    if not isinstance(annotation, type):
        raise UnsupportedAnnotationError(f"no wire form for {annotation!r}")
    if annotation is FlexModel:
        return ValueShape(Kind.MESSAGE)
    if issubclass(annotation, BaseModel):
        return ValueShape(Kind.MODEL, model=annotation)
    if issubclass(annotation, Enum):
        if not issubclass(annotation, StrEnum):
            raise UnsupportedAnnotationError(f"only StrEnum enumerations have a wire form: {annotation!r}")
        return ValueShape(Kind.ENUM, facets=facets, enum=annotation)
    if annotation in _DATETIMES:
        return ValueShape(Kind.DATETIME, facets=facets)
    for python_type, kind in _SCALARS:
        if issubclass(annotation, python_type):
            return ValueShape(kind, facets=facets)
    raise UnsupportedAnnotationError(f"no wire form for {annotation!r}")


# bool before int: bool is a subclass of int.
_SCALARS: Final = (
    (bool, Kind.BOOL),
    (int, Kind.INT),
    (float, Kind.FLOAT),
    (str, Kind.STRING),
    (timedelta, Kind.DURATION),
    (datetime, Kind.DATETIME),
)


def _field_shape(model: type[BaseModel], name: str, info: FieldInfo) -> FieldShape:
    try:
        annotation, nullable = _split_optional(info.annotation)
        value = value_shape(annotation, info.metadata)
    except UnsupportedAnnotationError as error:
        raise UnsupportedAnnotationError(f"{model.__qualname__}.{name}: {error}") from None
    # A generated default (default_factory, e.g. a fresh id) cannot be left to the receiver: it must travel.
    required = info.is_required() or info.default_factory is not None
    if nullable and required:
        raise UnsupportedAnnotationError(
            f"{model.__qualname__}.{name}: an optional field must default to None "
            "(None travels as an absent element or key)"
        )
    return FieldShape(
        name=name,
        wire=info.alias or name,
        value=value,
        required=required,
        nullable=nullable,
        description=info.description,
    )


@cache
def model_shape(model: type[BaseModel]) -> ModelShape:
    """The wire shape of ``model`` (cached per class)."""
    fields = tuple(_field_shape(model, name, info) for name, info in model.model_fields.items())
    by_wire = {shape.wire: shape for shape in fields}
    if len(by_wire) != len(fields):
        raise UnsupportedAnnotationError(f"{model.__qualname__}: two fields share a wire name")
    return ModelShape(model=model, fields=fields, by_wire=by_wire, by_name={shape.name: shape for shape in fields})


def envelope_shape() -> ModelShape:
    """The wire shape of :class:`~flexcem.model.Envelope`."""
    return model_shape(Envelope)


def reachable_models() -> list[type[BaseModel]]:
    """Every model on the wire: the envelope, the registered message types and what they contain.

    In a stable order: the envelope first, then by discovery from the registered types sorted by name.
    """
    found: list[type[BaseModel]] = []
    pending: list[type[BaseModel]] = [Envelope, *(message_types()[name] for name in sorted(message_types()))]
    while pending:
        model = pending.pop(0)
        if model in found:
            continue
        found.append(model)
        for shape in model_shape(model).fields:
            value = shape.value
            while value.kind is Kind.LIST:
                value = value.item_shape
            if value.kind is Kind.MODEL and value.model is not None:
                pending.append(value.model)
    return found
