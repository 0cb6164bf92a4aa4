"""Fresh message ids: 32 random hex digits (a valid ``MessageId``), never handed out twice — also not by a forked
process (the simulation's shards are forked) to the one it was forked from."""

from __future__ import annotations

import os
import re
import sys

import pytest
from pydantic import TypeAdapter

from flexcem.model import MessageId, new_id

HEX32 = re.compile(r"^[0-9a-f]{32}$")


def test_ids_are_32_hex_digits_valid_as_message_ids() -> None:
    adapter = TypeAdapter(MessageId)
    for _ in range(600):  # more than one draw from the random source
        identifier = new_id()
        assert HEX32.match(identifier)
        assert adapter.validate_python(identifier) == identifier


def test_ids_and_their_prefixes_do_not_repeat() -> None:
    ids = [new_id() for _ in range(20_000)]
    assert len(set(ids)) == len(ids)
    assert len({identifier[:12] for identifier in ids}) == len(ids)  # callers use new_id()[:12] as a suffix


@pytest.mark.skipif(not hasattr(os, "fork") or sys.platform == "darwin", reason="needs os.fork")
def test_a_forked_process_draws_its_own_ids() -> None:
    new_id()  # the parent has undrawn ids waiting
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        os.write(write, " ".join(new_id() for _ in range(50)).encode())
        os._exit(0)
    os.close(write)
    os.waitpid(child, 0)
    with os.fdopen(read) as pipe:
        child_ids = set(pipe.read().split())
    parent_ids = {new_id() for _ in range(50)}
    assert len(child_ids) == 50 and not child_ids & parent_ids
