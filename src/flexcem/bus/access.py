"""Who may do what on the SG CP: identities, their role in each domain, and group membership.

An identity is one certificate (its CN is the identity's ``id``, the MQTT username). In each domain it takes
part in it has a role:

* an **endpoint** (a CEM towards the grid, a device towards its CEM) reads its own inbox, the broadcasts and
  service descriptors of the domain and the groups it belongs to, and writes only its own outbox and
  presence;
* a **controller** (a grid program, a CEM towards its devices) writes every inbox, group and broadcast of
  the domain and the service descriptors, and reads what endpoints write to it and the domain's presence.
  Instances of one logical controller share its load with ``acts_as``;
* an **observer** (an audit log, a monitoring dashboard) reads everything in the domain and writes nothing.

The broker's access-control list is generated from this policy (deny by default), so a change of group
membership is a change of the policy followed by a reload of the broker.
"""

from __future__ import annotations

import json
import tomllib
from collections import Counter
from enum import StrEnum
from pathlib import Path

from pydantic import Field, field_validator

from flexcem.model import FlexModel, Identifier, endpoint_address, group_address, parse_address

__all__ = ["AccessPolicy", "Grant", "Identity", "Role"]


class Role(StrEnum):
    """The part an identity plays in a domain."""

    ENDPOINT = "endpoint"
    CONTROLLER = "controller"
    OBSERVER = "observer"


class Grant(FlexModel):
    """One identity's rights in one domain."""

    domain: Identifier = Field(description="The domain.")
    role: Role = Field(default=Role.ENDPOINT, description="Endpoint or controller.")
    groups: tuple[Identifier, ...] = Field(default=(), description="Groups of the domain it belongs to.")
    acts_as: Identifier | None = Field(
        default=None, description="Controllers: the logical controller whose load this instance shares."
    )
    presence_of: tuple[Identifier, ...] | None = Field(
        default=None,
        description="Endpoints: the controllers whose presence it may read (its own CEM, say); default: every "
        "controller of the domain. A domain of many controllers (a simulation's shard, one CEM per home) would "
        "otherwise give each of its endpoints one ACL rule per controller.",
    )


class Identity(FlexModel):
    """A certificate holder and its grants."""

    id: Identifier = Field(description="Certificate CN = MQTT username = endpoint id.")
    grants: tuple[Grant, ...] = Field(min_length=1, description="Its rights, one per domain.")

    @field_validator("grants")
    @classmethod
    def _one_per_domain(cls, grants: tuple[Grant, ...]) -> tuple[Grant, ...]:
        counts = Counter(grant.domain for grant in grants)
        duplicates = sorted(domain for domain, count in counts.items() if count > 1)
        if duplicates:
            raise ValueError(f"more than one grant for domain {', '.join(duplicates)}")
        return grants

    def grant(self, domain: str) -> Grant | None:
        """The grant for ``domain``, if any."""
        return next((grant for grant in self.grants if grant.domain == domain), None)

    def addresses(self) -> tuple[str, ...]:
        """The endpoint addresses of this identity, one per domain."""
        return tuple(endpoint_address(grant.domain, self.id) for grant in self.grants)


class AccessPolicy(FlexModel):
    """Every identity of a deployment with its grants."""

    identities: tuple[Identity, ...] = Field(default=(), description="The identities, each id once.")

    @field_validator("identities")
    @classmethod
    def _unique_ids(cls, identities: tuple[Identity, ...]) -> tuple[Identity, ...]:
        counts = Counter(identity.id for identity in identities)
        duplicates = sorted(identity for identity, count in counts.items() if count > 1)
        if duplicates:
            raise ValueError(f"identity {', '.join(duplicates)} appears more than once")
        return identities

    def identity(self, identity_id: str) -> Identity | None:
        """The identity with ``identity_id``."""
        return next((identity for identity in self.identities if identity.id == identity_id), None)

    def role(self, address: str) -> Role | None:
        """The role of the endpoint ``address`` in its domain; ``None`` when it has no grant there."""
        parsed = parse_address(address)
        identity = self.identity(parsed.name)
        grant = identity.grant(parsed.domain) if identity else None
        return grant.role if grant else None

    def members(self, group: str) -> tuple[str, ...]:
        """Endpoint addresses in group address ``group``."""
        parsed = parse_address(group)
        return tuple(
            endpoint_address(parsed.domain, identity.id)
            for identity in self.identities
            if (grant := identity.grant(parsed.domain)) is not None and parsed.name in grant.groups
        )

    def with_membership(self, group: str, member: str, *, present: bool = True) -> AccessPolicy:
        """A policy in which endpoint ``member`` is (or, with ``present=False``, is not) in ``group``."""
        parsed_group, parsed_member = parse_address(group), parse_address(member)
        if parsed_group.domain != parsed_member.domain:
            raise ValueError(f"{member} is not in the domain of {group}")
        identity = self.identity(parsed_member.name)
        grant = identity.grant(parsed_member.domain) if identity else None
        if identity is None or grant is None:
            raise ValueError(f"{member} has no grant in domain {parsed_member.domain}")
        others = tuple(g for g in grant.groups if g != parsed_group.name)
        groups = (*others, parsed_group.name) if present else others
        updated_grant = grant.model_copy(update={"groups": groups})
        updated = identity.model_copy(
            update={"grants": tuple(updated_grant if g is grant else g for g in identity.grants)}
        )
        return self.model_copy(update={"identities": tuple(updated if i is identity else i for i in self.identities)})

    def groups(self, domain: str) -> tuple[str, ...]:
        """Every group address used in ``domain``."""
        names = sorted({name for identity in self.identities if (g := identity.grant(domain)) for name in g.groups})
        return tuple(group_address(domain, name) for name in names)

    def domains(self) -> tuple[str, ...]:
        """Every domain with at least one grant."""
        return tuple(sorted({grant.domain for identity in self.identities for grant in identity.grants}))

    def controllers(self, domain: str) -> tuple[Identity, ...]:
        """The identities that control ``domain``."""
        return tuple(
            identity
            for identity in self.identities
            if (grant := identity.grant(domain)) is not None and grant.role is Role.CONTROLLER
        )

    @classmethod
    def load(cls, path: Path) -> AccessPolicy:
        """Read a policy from a ``.toml`` or ``.json`` file; errors name the file and the field."""
        text = path.read_text(encoding="utf-8")
        try:
            data = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
        except (tomllib.TOMLDecodeError, json.JSONDecodeError) as error:
            raise ValueError(f"{path}: {error}") from None
        return cls.model_validate(data)

    def save(self, path: Path) -> None:
        """Write the policy as JSON."""
        path.write_text(self.model_dump_json(indent=2, exclude_defaults=True) + "\n", encoding="utf-8")
