"""A simulation over a secured broker: the certificates and the access policy of a scenario's endpoints.

Over ``mqtts://`` every endpoint of a shard (:func:`~flexcem.sim.runner_shard.shard_endpoints`: the shard's
retailer and DSO, each home's CEM, devices and meter) connects with its own client certificate, CN = endpoint
id, and the broker lets it use only what the access policy grants it in the shard's domain (``sim-c0``,
``sim-n0``, ``sim-u0``, …):

* the retailer and the DSO of a shard are **controllers** of its domain (they write every inbox, the groups and
  broadcasts, and read what is addressed to them);
* each home's CEM is a **controller** of the shard's domain too: in a simulation a shard's homes share one
  domain, so its CEM writes its devices' inboxes and answers the grid there (a deployment gives every home a
  domain of its own, :mod:`flexcem.bus.two_domain`);
* the devices, the base-load meter and the smart meter are **endpoints**: their own inbox, their own outbox.

A home's endpoints keep their ids in every run (``h00001-cem`` in ``sim-c0``, ``sim-n0`` and ``sim-u0``), so
one certificate per endpoint serves all runs and the identity holds one grant per run's domain; the runs of a
secured simulation go one after another (:meth:`~flexcem.sim.runner.ShardPlan.batches`). The homes' shard depends
on the number of worker processes: run with the ``--workers`` the scenario was prepared for.

>>> prepared = prepare(scenario, Path("pki"), Path("sim-broker"), workers=2)   # doctest: +SKIP
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from flexcem.bus.access import AccessPolicy, Grant, Identity, Role
from flexcem.bus.pki import CLIENT_DAYS, certificates, issue_clients
from flexcem.model import parse_address
from flexcem.sim.runner import ShardPlan, plan_shards
from flexcem.sim.runner_shard import shard_endpoints
from flexcem.sim.scenario import Scenario

__all__ = ["POLICY_FILE", "Prepared", "missing_certificates", "missing_grants", "prepare", "sim_policy"]

POLICY_FILE = "policy.json"
"""The access policy :func:`prepare` writes, for ``flexcem broker-config --policy``."""


@dataclass(frozen=True)
class Prepared:
    """What :func:`prepare` did."""

    policy_file: Path
    identities: int
    domains: int
    workers: int
    issued: int
    already_valid: int
    issue_s: float
    """Wall time of issuing the certificates [s]."""
    issue_cpu_s: float
    """CPU time of issuing the certificates [s]."""


def _endpoints(plan: ShardPlan) -> list[tuple[str, Role]]:
    return [endpoint for task in plan.tasks for endpoint in shard_endpoints(task)]


def sim_policy(plan: ShardPlan) -> AccessPolicy:
    """The access policy of every endpoint of ``plan``: per identity one grant per domain it appears in."""
    grants: dict[str, dict[str, Grant]] = defaultdict(dict)
    for address, role in _endpoints(plan):
        parsed = parse_address(address)
        grants[parsed.name][parsed.domain] = Grant(
            domain=parsed.domain,
            role=role,
            # a device may see whether its home's CEM is online, not every CEM of the shard: one ACL rule, not
            # one per home (1,000 homes in two shards made an ACL of 11.7 million lines)
            presence_of=(_cem_of(parsed.name),) if role is Role.ENDPOINT else None,
        )
    return AccessPolicy(
        identities=tuple(
            Identity(id=name, grants=tuple(grant for _, grant in sorted(domains.items())))
            for name, domains in grants.items()
        )
    )


def _cem_of(endpoint_id: str) -> str:
    """The CEM of a home's endpoint ``{home_id}-{name}`` (device names hold no ``-``)."""
    return f"{endpoint_id.rsplit('-', 1)[0]}-cem"


def _certificate_states(pki: Path) -> tuple[set[str], set[str]]:
    """The client CNs of ``pki`` with a valid certificate, and those whose certificates were all revoked."""
    records = [record for record in certificates(pki) if record.kind == "client"]
    valid = {record.common_name for record in records if not record.revoked}
    return valid, {record.common_name for record in records} - valid


def missing_certificates(plan: ShardPlan, pki: Path) -> list[tuple[str, str]]:
    """``(endpoint address, why)`` for every endpoint of ``plan`` without a valid certificate (or key file) in
    ``pki``, in the order the shards connect them; :class:`~flexcem.bus.pki.PkiError` when ``pki`` is not a PKI."""
    valid, revoked = _certificate_states(pki)
    missing = []
    for address, _ in _endpoints(plan):
        name = parse_address(address).name
        if name in revoked:
            missing.append((address, "its certificate was revoked"))
        elif name not in valid:
            missing.append((address, "no certificate was issued for it"))
        elif not (pki / "clients" / f"{name}.crt").is_file() or not (pki / "clients" / f"{name}.key").is_file():
            missing.append((address, f"its certificate or key is missing from {pki / 'clients'}"))
    return missing


def missing_grants(plan: ShardPlan, policy: AccessPolicy) -> list[str]:
    """The endpoint addresses of ``plan`` that ``policy`` does not grant their role in their domain (the
    scenario changed, or it was prepared for another number of workers)."""
    granted = {(identity.id, grant.domain): grant.role for identity in policy.identities for grant in identity.grants}
    missing = []
    for address, role in _endpoints(plan):
        parsed = parse_address(address)
        if granted.get((parsed.name, parsed.domain)) is not role:
            missing.append(address)
    return missing


def prepare(
    scenario: Scenario,
    pki: Path,
    out: Path,
    *,
    workers: int | None = None,
    days: int = CLIENT_DAYS,
) -> Prepared:
    """Issue a client certificate (EC P-256, CN = endpoint id, valid ``days``) to every endpoint of the
    scenario's runs that holds no valid one in ``pki`` (made with ``flexcem pki init``; one already valid is
    kept, a revoked one is issued again), and write the access policy to ``out/policy.json``.

    ``workers`` (default: one per core, as ``flexcem sim run``) decides which shard, hence which domain, each
    home is in. Raises :class:`~flexcem.bus.pki.PkiError` when ``pki`` is not a PKI.
    """
    plan = plan_shards(scenario, workers=workers, pki=pki)
    policy = sim_policy(plan)
    valid, _ = _certificate_states(pki)
    wanted = [identity.id for identity in policy.identities if identity.id not in valid]
    began, cpu = time.perf_counter(), time.process_time()
    if wanted:
        issue_clients(pki, wanted, days=days)
    issue_s, issue_cpu_s = time.perf_counter() - began, time.process_time() - cpu
    out.mkdir(parents=True, exist_ok=True)
    policy_file = out / POLICY_FILE
    policy.save(policy_file)
    return Prepared(
        policy_file=policy_file,
        identities=len(policy.identities),
        domains=len(policy.domains()),
        workers=plan.workers,
        issued=len(wanted),
        already_valid=len(policy.identities) - len(wanted),
        issue_s=issue_s,
        issue_cpu_s=issue_cpu_s,
    )
