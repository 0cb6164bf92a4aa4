"""Keep a Mosquitto's access-control list in step with the grid's groups (TR §3.3, DESIGN §3).

On an MQTT deployment an endpoint may read a group's topic only when the broker's ACL says it belongs to the
group, and the ACL is generated from an access policy (:mod:`flexcem.bus.access`). When an operator adds
members to a group or an area through the grid server, :class:`BrokerAcl` puts them into the policy, saves
the policy file, regenerates the ACL file and makes the running broker reload it (SIGHUP) — what
``flexcem broker-config --reload`` does by hand — so the new members receive the group's next signal without
reconnecting. On start the server syncs once, so a restart repairs a change the broker missed.

Members without an identity in the policy cannot be given the group (they have no certificate the broker
would accept); they are reported, not invented.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from flexcem.bus.access import AccessPolicy
from flexcem.bus.broker_config import reload_broker, write_acl

__all__ = ["AclSync", "BrokerAcl"]

log = logging.getLogger("flexcem.grid.broker_acl")


@dataclass(frozen=True)
class AclSync:
    """What one sync changed."""

    added: tuple[tuple[str, str], ...] = ()
    """(group address, member address) pairs put into the policy."""
    unknown: tuple[str, ...] = ()
    """Members with no identity in the policy (left out)."""
    reloaded: bool = False


@dataclass
class BrokerAcl:
    """The policy file, the ACL file the broker reads, and the broker's process id (``None``: do not signal)."""

    policy_path: Path
    acl_path: Path
    broker_pid: int | None = None
    policy: AccessPolicy = field(init=False)

    def __post_init__(self) -> None:
        if self.policy_path.suffix != ".json":
            raise ValueError(f"{self.policy_path}: the grid server rewrites its policy, which it keeps as JSON "
                             "(flexcem demo --write-policy and AccessPolicy.save write JSON)")
        self.policy = AccessPolicy.load(self.policy_path)

    def sync(self, groups: Mapping[str, Iterable[str]]) -> AclSync:
        """Give every member of ``groups`` (group address → endpoint addresses) its group in the policy; when
        anything changed, save the policy, write the ACL and reload the broker."""
        policy = self.policy
        added: list[tuple[str, str]] = []
        unknown: list[str] = []
        for group, members in groups.items():
            for member in sorted(members):
                if member in policy.members(group):
                    continue
                try:
                    policy = policy.with_membership(group, member)
                except (KeyError, ValueError):
                    unknown.append(member)
                    continue
                added.append((group, member))
        if unknown:
            log.warning("no identity in %s for %s: the broker cannot give them their groups", self.policy_path,
                        ", ".join(sorted(set(unknown))))
        if not added:
            return AclSync(unknown=tuple(sorted(set(unknown))))
        self._save(policy)
        write_acl(policy, self.acl_path)
        self.policy = policy
        reloaded = False
        if self.broker_pid is not None:
            try:
                reload_broker(self.broker_pid)
                reloaded = True
            except OSError as error:  # the broker is gone: it reads the new ACL when it starts again
                log.error("broker %d not reloaded (%s): the new ACL %s applies from its next start",
                          self.broker_pid, error, self.acl_path)
        log.info("broker ACL %s: %d membership(s) added%s", self.acl_path, len(added),
                 ", broker reloaded" if reloaded else "")
        return AclSync(tuple(added), tuple(sorted(set(unknown))), reloaded)

    def _save(self, policy: AccessPolicy) -> None:
        """Write the policy file atomically (a new file renamed over the old one)."""
        temporary = self.policy_path.with_name(self.policy_path.name + ".tmp")
        policy.save(temporary)
        temporary.replace(self.policy_path)
