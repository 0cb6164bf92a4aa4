"""Model instances ⇄ XML element trees, and the must-ignore pruning of received trees.

All three walks follow the wire shapes of :mod:`flexcem.codec.shapes`:

* :func:`to_element` builds the tree of a model instance (fields as child elements in declaration order,
  ``None`` omitted, lists as a wrapper with ``item`` children, the body as an element named after its type);
* :func:`prune` implements **must-ignore**: it removes every attribute, every element in a foreign namespace
  (extensions) and every element of this namespace that this version does not know at that place, so that
  what is left can be validated strictly against the XSD;
* :func:`to_data` turns a pruned, XSD-valid tree into the plain data pydantic validates.

:func:`field_path` names an element the way errors do: ``body.FlexibleStartOffer.profile.alternatives.0``.
"""

from __future__ import annotations

from typing import Any

from lxml import etree
from pydantic import BaseModel

from flexcem.codec.errors import InvalidMessage
from flexcem.codec.lexical import NotRepresentableError, leaf_from_text, leaf_to_text
from flexcem.codec.shapes import Kind, ModelShape, ValueShape, envelope_shape, model_shape
from flexcem.codec.wire import ITEM, NAMESPACE, qualified
from flexcem.model import FlexModel, message_types
from flexcem.model.envelope import message_type_of

__all__ = ["field_path", "leaf_text", "local_name", "prune", "to_data", "to_element"]

_BODY_ERROR = "body"
_PREFIX = f"{{{NAMESPACE}}}"
_PREFIX_LENGTH = len(_PREFIX)


def local_name(element: etree._Element) -> str | None:
    """Local name of an element of the flexcem namespace; ``None`` for anything else."""
    tag = element.tag
    if isinstance(tag, str) and tag.startswith(_PREFIX):
        return tag[_PREFIX_LENGTH:]
    return None


def leaf_text(element: etree._Element) -> str | None:
    """The text of a leaf element as pruning would leave it (foreign children dropped, their tails kept);
    ``None`` when the element holds flexcem elements, i.e. is no leaf."""
    parts = [element.text or ""]
    for child in element:
        if local_name(child) is not None:
            return None
        parts.append(child.tail or "")
    return "".join(parts)


# --- encoding --------------------------------------------------------------------------------------------


def _set_text(element: etree._Element, text: str, path: str) -> None:
    try:
        element.text = text
    except ValueError as error:  # control characters, lone surrogates: XML 1.0 cannot carry them
        raise InvalidMessage(f"the text cannot travel in XML: {error}", field=path) from None


def _append_value(parent: etree._Element, name: str, value: Any, shape: ValueShape, path: str) -> None:
    element = etree.SubElement(parent, qualified(name))
    if shape.kind is Kind.MODEL:
        _append_fields(element, value, shape.model_shape, path)
    elif shape.kind is Kind.LIST:
        for index, item in enumerate(value):
            _append_value(element, ITEM, item, shape.item_shape, f"{path}.{index}")
    elif shape.kind is Kind.MESSAGE:
        body: BaseModel = value
        body_type = message_type_of(value)
        holder = etree.SubElement(element, qualified(body_type))
        _append_fields(holder, body, model_shape(type(body)), f"{path}.{body_type}")
    else:
        try:
            text = leaf_to_text(shape.kind, value)
        except NotRepresentableError as error:
            raise InvalidMessage(str(error), field=path) from None
        _set_text(element, text, path)


def _append_fields(element: etree._Element, instance: BaseModel, shape: ModelShape, path: str) -> None:
    for field in shape.fields:
        value = getattr(instance, field.name)
        if value is not None:
            where = f"{path}.{field.wire}" if path else field.wire
            _append_value(element, field.wire, value, field.value, where)


def to_element(instance: BaseModel, root_name: str) -> etree._Element:
    """The element ``root_name`` holding ``instance`` (namespace declared as the default one)."""
    root = etree.Element(qualified(root_name), nsmap={None: NAMESPACE})  # type: ignore[dict-item]
    _append_fields(root, instance, model_shape(type(instance)), "")
    return root


# --- must-ignore -----------------------------------------------------------------------------------------


def _remove(element: etree._Element) -> None:
    """Remove ``element`` but keep its tail text in place."""
    parent = element.getparent()
    if parent is None:
        return
    if element.tail:
        previous = element.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + element.tail
        else:
            parent.text = (parent.text or "") + element.tail
    parent.remove(element)


def _prune_items(element: etree._Element, item: ValueShape) -> None:
    for child in list(element):
        if local_name(child) == ITEM:
            _prune_value(child, item)
        else:
            _remove(child)


def _prune_value(element: etree._Element, shape: ValueShape) -> None:
    element.attrib.clear()
    if shape.kind is Kind.MODEL:
        prune(element, shape.model_shape)
    elif shape.kind is Kind.LIST:
        _prune_items(element, shape.item_shape)
    elif shape.kind is Kind.MESSAGE:
        raise TypeError("a message body is pruned by prune_body")
    else:  # a leaf: drop foreign extensions; a flexcem element inside a leaf is left for the XSD to refuse
        for child in list(element):
            if local_name(child) is None:
                _remove(child)


def prune(element: etree._Element, shape: ModelShape, *, message_type: str | None = None) -> None:
    """Must-ignore: strip from ``element`` (a model of ``shape``) what this version does not know.

    A body field keeps only the element named ``message_type``; a body that holds another message type
    than ``message_type`` is an :class:`InvalidMessage`.
    """
    element.attrib.clear()
    for child in list(element):
        field = shape.by_wire.get(local_name(child) or "")
        if field is None:
            _remove(child)
        elif field.value.kind is Kind.MESSAGE:
            if message_type is None:
                raise TypeError("pruning a body needs the message type")
            _prune_body(child, message_type)
        else:
            _prune_value(child, field.value)


def _prune_body(body: etree._Element, message_type: str) -> None:
    body.attrib.clear()
    registered = message_types()
    found = [local_name(child) for child in body if local_name(child) is not None]
    others = [name for name in found if name in registered and name != message_type]
    if message_type not in found:
        detail = f"; it holds a {others[0]}" if others else ""
        raise InvalidMessage(f"the body holds no {message_type} element, as its type says{detail}", field=_BODY_ERROR)
    if others:
        raise InvalidMessage(
            f"the body holds a {others[0]} besides the {message_type} its type names", field=_BODY_ERROR
        )
    cls = registered[message_type]
    for child in list(body):
        if local_name(child) == message_type:
            prune(child, model_shape(cls))
        else:
            _remove(child)


# --- decoding --------------------------------------------------------------------------------------------


def _value(element: etree._Element, shape: ValueShape) -> Any:
    if shape.kind is Kind.MODEL:
        return to_data(element, shape.model_shape)
    if shape.kind is Kind.LIST:
        return [_value(child, shape.item_shape) for child in element]
    if shape.kind is Kind.MESSAGE:
        child = element[0]
        return to_data(child, model_shape(message_types()[local_name(child) or ""]))
    try:
        return leaf_from_text(shape.kind, element.text or "")
    except NotRepresentableError as error:
        raise InvalidMessage(str(error), field=field_path(element, envelope_shape())[0]) from None


def to_data(element: etree._Element, shape: ModelShape) -> dict[str, Any]:
    """The data of a pruned, XSD-valid ``element`` as a dict keyed by wire names."""
    data: dict[str, Any] = {}
    for child in element:
        field = shape.by_wire[local_name(child) or ""]
        data[field.wire] = _value(child, field.value)
    return data


def field_path(element: etree._Element, shape: ModelShape) -> tuple[str, ValueShape | ModelShape]:
    """The dotted field path of ``element`` below the root of ``shape``, and the shape found there.

    Unknown steps (which cannot occur after pruning) end the walk where they start.
    """
    chain: list[etree._Element] = []
    current: etree._Element | None = element
    while current is not None and current.getparent() is not None:
        chain.append(current)
        current = current.getparent()
    steps: list[str] = []
    here: ValueShape | ModelShape = shape
    for node in reversed(chain):
        name = local_name(node) or ""
        step, here_next = _step(node, name, here)
        if here_next is None:
            break
        steps.append(step)
        here = here_next
    return ".".join(steps), here


def _step(node: etree._Element, name: str, here: ValueShape | ModelShape) -> tuple[str, Any]:
    if isinstance(here, ModelShape):
        field = here.by_wire.get(name)
        return (name, field.value) if field else (name, None)
    if here.kind is Kind.MODEL:
        return _step(node, name, here.model_shape)
    if here.kind is Kind.LIST:
        parent = node.getparent()
        assert parent is not None
        index = [child for child in parent if local_name(child) == ITEM].index(node) if name == ITEM else -1
        return (str(index), here.item_shape) if index >= 0 else (name, None)
    if here.kind is Kind.MESSAGE and name in message_types():
        cls: type[FlexModel] = message_types()[name]
        return name, model_shape(cls)
    return name, None
