"""Who the grid side may address: its customers' endpoints, groups and grid areas (DESIGN §3).

A program addresses one customer endpoint, a group (``{domain}/grp/{gid}``), everyone (``{domain}/all``) or
a grid **area** by its id (a feeder, a substation), which the registry maps to the group of that area's
customers. Anything it does not know — an unknown group, area or endpoint, another domain — is refused with
:class:`UnknownTarget` before anything is sent. The registry also says who is expected to answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flexcem.bus.access import AccessPolicy, Role
from flexcem.model import AddressKind, broadcast_address, endpoint_address, group_address, parse_address

__all__ = ["GridRegistry", "Target", "UnknownTarget"]


class UnknownTarget(ValueError):
    """A signal to an endpoint, group or area the grid side does not know."""


@dataclass(frozen=True)
class Target:
    """A resolved recipient: the address to send to and the endpoints expected to answer."""

    address: str
    expected: tuple[str, ...]
    area: str | None = None

    @property
    def kind(self) -> AddressKind:
        """Endpoint, group or broadcast."""
        return parse_address(self.address).kind


@dataclass
class GridRegistry:
    """The customers of one domain, their groups and the grid areas."""

    domain: str
    customers: set[str] = field(default_factory=set)
    groups: dict[str, set[str]] = field(default_factory=dict)
    areas: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_policy(cls, policy: AccessPolicy, domain: str) -> GridRegistry:
        """Every endpoint identity of ``domain`` in ``policy`` as a customer, with its groups."""
        registry = cls(domain)
        for identity in policy.identities:
            grant = identity.grant(domain)
            if grant is not None and grant.role is Role.ENDPOINT:
                registry.add_customer(identity.id, groups=grant.groups)
        return registry

    def add_customer(self, customer_id: str, *, groups: tuple[str, ...] | list[str] = ()) -> str:
        """Register endpoint ``customer_id`` of the domain (and its groups); returns its address."""
        address = endpoint_address(self.domain, customer_id)
        self.customers.add(address)
        for group in groups:
            self.groups.setdefault(group_address(self.domain, group), set()).add(address)
        return address

    def add_area(self, area: str, customers: tuple[str, ...] | list[str]) -> str:
        """Grid area ``area`` made of the customers ``customers`` (ids); its group is ``area-{area}``."""
        group = f"area-{area}"
        for customer in customers:
            self.add_customer(customer, groups=(group,))
        self.areas[area] = group_address(self.domain, group)
        return self.areas[area]

    def resolve(self, target: str) -> Target:
        """The address and expected responders of ``target`` (address or area id); :class:`UnknownTarget`."""
        if "/" not in target:
            group = self.areas.get(target)
            if group is None:
                known = ", ".join(sorted(self.areas)) or "none"
                raise UnknownTarget(f"unknown area {target!r} (known areas: {known})")
            return Target(group, tuple(sorted(self.groups.get(group, set()))), area=target)
        try:
            parsed = parse_address(target)
        except ValueError as error:
            raise UnknownTarget(str(error)) from None
        if parsed.domain != self.domain:
            raise UnknownTarget(f"{target!r} is not in domain {self.domain!r}")
        if parsed.kind is AddressKind.BROADCAST:
            return Target(broadcast_address(self.domain), tuple(sorted(self.customers)))
        if parsed.kind is AddressKind.GROUP:
            if target not in self.groups:
                raise UnknownTarget(f"unknown group {target!r}")
            return Target(target, tuple(sorted(self.groups[target])))
        if target not in self.customers:
            raise UnknownTarget(f"unknown endpoint {target!r}: not a registered customer")
        return Target(target, (target,))

    def area_of(self, target: Target) -> str | None:
        """The area whose group ``target`` is, when it is one."""
        return target.area or next((area for area, group in self.areas.items() if group == target.address), None)
