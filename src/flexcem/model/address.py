"""Addresses on the Smart Grid Connection Point (DESIGN §3).

* endpoint: ``{domain}/{id}`` — one CEM, device or grid actor; ``id`` is also its certificate CN;
* group: ``{domain}/grp/{gid}`` — a multicast group kept by the grid registry;
* broadcast: ``{domain}/all`` — everyone in the domain.

Domains, ids and group ids are :data:`~flexcem.model.base.Identifier` strings; ``all`` and ``grp`` are
reserved and cannot be endpoint ids.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from typing import Annotated

from pydantic import AfterValidator

__all__ = [
    "Address",
    "AddressKind",
    "ParsedAddress",
    "broadcast_address",
    "endpoint_address",
    "group_address",
    "parse_address",
]

_ID = r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}"
_ENDPOINT = re.compile(rf"^(?P<domain>{_ID})/(?P<name>{_ID})$")
_GROUP = re.compile(rf"^(?P<domain>{_ID})/grp/(?P<name>{_ID})$")
_RESERVED = {"all", "grp"}


class AddressKind(StrEnum):
    """The three kinds of address."""

    ENDPOINT = "endpoint"
    GROUP = "group"
    BROADCAST = "broadcast"


@dataclass(frozen=True, slots=True)
class ParsedAddress:
    """An address split into its parts; ``name`` is the endpoint or group id (empty for broadcast)."""

    kind: AddressKind
    domain: str
    name: str

    def __str__(self) -> str:
        if self.kind is AddressKind.ENDPOINT:
            return f"{self.domain}/{self.name}"
        if self.kind is AddressKind.GROUP:
            return f"{self.domain}/grp/{self.name}"
        return f"{self.domain}/all"


@lru_cache(maxsize=1 << 16)
def parse_address(address: str) -> ParsedAddress:
    """Split an address; :class:`ValueError` naming the problem when it is not one.

    Cached (the result is frozen; a refused address is not cached): a message is addressed, routed and
    checked against the replay window several times, and a domain has a bounded set of addresses.
    """
    group = _GROUP.match(address)
    if group:
        return ParsedAddress(AddressKind.GROUP, group["domain"], group["name"])
    endpoint = _ENDPOINT.match(address)
    if endpoint:
        if endpoint["name"] == "all":
            return ParsedAddress(AddressKind.BROADCAST, endpoint["domain"], "")
        if endpoint["name"] in _RESERVED:
            raise ValueError(f"{address!r}: {endpoint['name']!r} is reserved and cannot be an endpoint id")
        return ParsedAddress(AddressKind.ENDPOINT, endpoint["domain"], endpoint["name"])
    raise ValueError(
        f"{address!r} is not an address: expected 'domain/id', 'domain/grp/group' or 'domain/all' "
        "with ids of 1-64 characters from [A-Za-z0-9_.-]"
    )


def _valid(address: str) -> str:
    parse_address(address)
    return address


Address = Annotated[str, AfterValidator(_valid)]
"""An endpoint, group or broadcast address as a string."""


def endpoint_address(domain: str, endpoint_id: str) -> str:
    """``{domain}/{id}``, checked."""
    address = f"{domain}/{endpoint_id}"
    if parse_address(address).kind is not AddressKind.ENDPOINT:
        raise ValueError(f"{address!r} is not an endpoint address")
    return address


def group_address(domain: str, group_id: str) -> str:
    """``{domain}/grp/{gid}``, checked."""
    return str(parse_address(f"{domain}/grp/{group_id}"))


def broadcast_address(domain: str) -> str:
    """``{domain}/all``, checked."""
    return str(parse_address(f"{domain}/all"))
