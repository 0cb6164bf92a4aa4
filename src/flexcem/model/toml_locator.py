"""Find the line of a field in a TOML text, to say where an error in a configuration file or scenario is.

``line_of(text, ("devices", 1, "kind"))`` is the line of ``kind = …`` in the second ``[[devices]]`` table. A field
that is not written (a required one left out) gets the line of the nearest enclosing table or key that is; a
field nothing encloses gets line 1. Keys may be bare, quoted or dotted; headers may be ``[table]``,
``[[array.of.tables]]`` or sub-tables of the latest array element (``[devices.load_management]``); inline tables
and arrays are located at their key's line. A tagged union's tag in a pydantic location
(``timeline.0.load_management.amount_w``, where ``load_management`` is not written as a key) is skipped.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = ["line_of", "locations"]

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*(\]\]?)\s*(#.*)?$")
_KEY = re.compile(r"""^\s*((?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*'))*)\s*=""")
_PART = re.compile(r"""[A-Za-z0-9_-]+|"[^"]*"|'[^']*'""")

Path = tuple[str | int, ...]


def _parts(dotted: str) -> list[str]:
    return [part.strip("\"'") for part in _PART.findall(dotted)]


def locations(text: str) -> dict[Path, int]:
    """Every table and key path written in ``text`` with the (1-based) line where it first appears."""
    found: dict[Path, int] = {}
    arrays: dict[Path, int] = {}
    table: Path = ()
    in_multiline = False
    for number, line in enumerate(text.splitlines(), start=1):
        if in_multiline:
            in_multiline = line.count('"""') % 2 == 0 and line.count("'''") % 2 == 0
            continue
        header = _HEADER.match(line)
        if header and not _KEY.match(line):
            names = _parts(header.group(2))
            path: list[str | int] = []
            for name in names:
                path.append(name)
                if tuple(path) in arrays and (len(path) < len(names) or header.group(1) == "["):
                    path.append(arrays[tuple(path)])
            if header.group(1) == "[[":
                index = arrays.get(tuple(path), -1) + 1
                arrays[tuple(path)] = index
                path.append(index)
            table = tuple(path)
            for cut in range(1, len(table) + 1):
                found.setdefault(table[:cut], number)
            continue
        key = _KEY.match(line)
        if key:
            full = table + tuple(_parts(key.group(1)))
            for cut in range(len(table) + 1, len(full) + 1):
                found.setdefault(full[:cut], number)
            if line.count('"""') % 2 == 1 or line.count("'''") % 2 == 1:
                in_multiline = True
    return found


def line_of(text: str, loc: Sequence[str | int]) -> int:
    """The line of field ``loc`` in ``text``, or of the nearest enclosing table or key written; 1 for none."""
    found = locations(text)
    written = {key[:n] for key in found for n in range(1, len(key) + 1)}
    path: Path = ()
    for element in loc:
        candidate = (*path, element)
        if candidate not in written and path and isinstance(path[-1], int) and isinstance(element, str):
            continue  # a tagged union's tag: pydantic names the variant, the file does not
        path = candidate
    while path:
        if path in found:
            return found[path]
        path = path[:-1]
    return 1
