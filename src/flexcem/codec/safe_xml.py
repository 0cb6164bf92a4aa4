"""Safe parsing of untrusted XML.

In this order, before anything else looks at a message:

1. the size limit is checked on the raw bytes (:class:`~flexcem.codec.errors.MessageTooLarge`);
2. the prolog is scanned: the wire format is UTF-8 and **any DOCTYPE is refused outright**, so there is no
   entity of any kind (no billion laughs, no external entity, no network DTD);
3. lxml parses with ``resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False`` and drops
   comments and processing instructions — a second line of defence should a DOCTYPE slip past the scan;
4. the nesting depth is bounded.

Any failure is a :class:`~flexcem.codec.errors.MalformedMessage` naming the problem (with line and column
for syntax errors).
"""

from __future__ import annotations

import re
import threading
from typing import Final, cast

from lxml import etree

from flexcem.codec.errors import MalformedMessage, MessageTooLarge

__all__ = ["check_depth", "check_size", "parse_xml"]

_ENCODING: Final = re.compile(rb"""encoding\s*=\s*["']([A-Za-z0-9._\-]+)["']""")
_UTF8_BOM: Final = b"\xef\xbb\xbf"
_WIDE_STARTS: Final = (b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff", b"\xff\xfe\x00\x00")
_WHITESPACE: Final = b" \t\r\n"
_local = threading.local()


def check_size(data: bytes, max_bytes: int) -> None:
    """:class:`MessageTooLarge` when ``data`` is longer than ``max_bytes``."""
    if len(data) > max_bytes:
        raise MessageTooLarge(f"the message has {len(data)} bytes; the limit is {max_bytes}")


def _check_prolog(data: bytes) -> None:
    """Refuse non-UTF-8 input and any DOCTYPE; everything else is left to the parser."""
    if data.startswith(_WIDE_STARTS) or b"\x00" in data[:4]:
        raise MalformedMessage("the message is not UTF-8; the wire format is UTF-8")
    position = len(_UTF8_BOM) if data.startswith(_UTF8_BOM) else 0
    while True:
        while position < len(data) and data[position] in _WHITESPACE:
            position += 1
        if data.startswith(b"<?", position):
            end = data.find(b"?>", position)
            if end < 0:
                return
            is_declaration = data.startswith(b"<?xml", position)
            declaration = _ENCODING.search(data, position, end) if is_declaration else None
            if declaration and declaration.group(1).lower() not in (b"utf-8", b"utf8"):
                encoding = declaration.group(1).decode("ascii")
                raise MalformedMessage(f"the message declares encoding {encoding}; the wire format is UTF-8")
            position = end + 2
        elif data.startswith(b"<!--", position):
            end = data.find(b"-->", position)
            if end < 0:
                return
            position = end + 3
        elif data.startswith(b"<!", position):
            raise MalformedMessage(
                "a DOCTYPE is not allowed: SG CP messages have no DTD, entities or external references"
            )
        else:
            return


def _parser() -> etree.XMLParser:
    """This thread's hardened parser (lxml parsers must not be shared between threads)."""
    parser: etree.XMLParser | None = getattr(_local, "parser", None)
    if parser is None:
        parser = etree.XMLParser(
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            dtd_validation=False,
            attribute_defaults=False,
            huge_tree=False,
            remove_comments=True,
            remove_pis=True,
            collect_ids=False,
        )
        _local.parser = parser
    return parser


def _deeper_than(max_depth: int) -> etree.XPath:
    """This thread's compiled XPath ``/*/*/…`` selecting the elements at depth ``max_depth + 1``."""
    cache: dict[int, etree.XPath] = _local.__dict__.setdefault("depth_paths", {})
    path = cache.get(max_depth)
    if path is None:
        path = cache[max_depth] = etree.XPath("/*" * (max_depth + 1))
    return path


def check_depth(root: etree._Element, max_depth: int) -> None:
    """:class:`MalformedMessage` when elements nest deeper than ``max_depth`` (the root is depth 1)."""
    too_deep = cast("list[etree._Element]", _deeper_than(max_depth)(root))
    if too_deep:
        line = too_deep[0].sourceline
        raise MalformedMessage(f"elements nest deeper than {max_depth} levels (line {line})")


def parse_xml(data: bytes, *, max_bytes: int, max_depth: int) -> etree._Element:
    """The root element of ``data``, parsed safely (see the module documentation)."""
    check_size(data, max_bytes)
    _check_prolog(data)
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as error:
        raise MalformedMessage(f"not well-formed XML: {error.msg}") from None
    docinfo = root.getroottree().docinfo
    if getattr(docinfo, "doctype", "") or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise MalformedMessage("a DOCTYPE is not allowed: SG CP messages have no DTD")
    check_depth(root, max_depth)
    return root
