"""What the grid side sent and what came back (storage-agnostic; persistence is issue 6).

Every signal a program sends is a :class:`SignalRecord`: the body, to whom, when, who is expected to
answer, each answer (:class:`Response`: responder, time, content; late or not), refusals (a ``Nack`` with
its reason and field), deliveries that timed out, and — once a deadline passes — who did not answer. A
message sent to one endpoint carries a message id chosen before it is stored (``sent_ids``), and its delivery,
once finished whatever the outcome, is marked ``settled``: a message stored but never settled was being
delivered when the sender stopped, and :meth:`SignalRecord.unsettled_delivery` names it for a retry. A
:class:`SignalStore` keeps the records; :class:`MemorySignalStore` is the in-memory one. Programs call
:meth:`SignalStore.save` after every change, so a persistent store can write through.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from flexcem.model import FlexModel

__all__ = ["MemorySignalStore", "Refusal", "Response", "SignalRecord", "SignalStore"]


@dataclass(frozen=True)
class Response:
    """One answer: who (endpoint address), when (grid time), what, to which revision, and whether it was late."""

    responder: str
    at: datetime
    body: FlexModel
    kind: str
    revision: int = 0
    late: bool = False


@dataclass(frozen=True)
class Refusal:
    """A recipient refused the signal (Nack or Unsupported)."""

    responder: str
    at: datetime
    reason: str
    field: str | None = None


@dataclass
class SignalRecord:
    """One signal (with its revisions) and everything that came back."""

    program: str
    signal_id: str
    body: FlexModel
    to: str
    sent_at: datetime
    expected: tuple[str, ...]
    area: str | None = None
    revision: int = 0
    deadlines: dict[str, datetime] = field(default_factory=dict)
    sent: list[tuple[datetime, FlexModel]] = field(default_factory=list)
    sent_ids: list[str | None] = field(default_factory=list)
    """The message id of each entry of ``sent`` (same index): set for a delivery to one endpoint, else None."""
    settled: set[str] = field(default_factory=set)
    """Message ids whose delivery finished: acknowledged, answered, refused or timed out."""
    responses: list[Response] = field(default_factory=list)
    acknowledged: set[str] = field(default_factory=set)
    refusals: list[Refusal] = field(default_factory=list)
    undelivered: set[str] = field(default_factory=set)
    unsolicited: list[Response] = field(default_factory=list)
    missing: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Per response kind, who had not answered (the current revision) when its deadline passed."""

    def add_sent(self, at: datetime, body: FlexModel, message_id: str | None = None) -> None:
        """Record ``body`` as sent at ``at`` (grid time), as message ``message_id`` when delivered to one endpoint."""
        del self.sent_ids[len(self.sent):]
        self.sent_ids.extend([None] * (len(self.sent) - len(self.sent_ids)))
        self.sent.append((at, body))
        self.sent_ids.append(message_id)

    def sent_id(self, index: int) -> str | None:
        """The message id of ``sent[index]`` (None for a group send or one recorded without an id)."""
        return self.sent_ids[index] if 0 <= index < len(self.sent_ids) else None

    def unsettled_delivery(self) -> tuple[str, FlexModel] | None:
        """The last message sent, as (message id, body), when its delivery to the one endpoint ``to`` never
        finished: not settled, and neither an answer nor a refusal came from ``to`` since it was sent."""
        if not self.sent:
            return None
        at, body = self.sent[-1]
        message_id = self.sent_id(len(self.sent) - 1)
        if message_id is None or message_id in self.settled:
            return None
        heard = [r.at for r in self.responses if r.responder == self.to]
        heard += [r.at for r in self.refusals if r.responder == self.to]
        if any(moment >= at for moment in heard):
            return None
        return message_id, body

    def answers(self, kind: str, *, current: bool = True) -> list[Response]:
        """Answers of ``kind``, of the current revision only unless ``current`` is false."""
        return [r for r in self.responses if r.kind == kind and (not current or r.revision == self.revision)]

    def latest(self, kind: str) -> dict[str, Response]:
        """Each responder's latest answer of ``kind`` to the current revision."""
        return {r.responder: r for r in self.answers(kind)}

    def outstanding(self, kind: str) -> tuple[str, ...]:
        """Expected responders without an answer of ``kind`` to the current revision (refusals excluded)."""
        answered = {r.responder for r in self.answers(kind)} | {r.responder for r in self.refusals}
        return tuple(address for address in self.expected if address not in answered)


class SignalStore(Protocol):
    """Where records live."""

    def save(self, record: SignalRecord) -> None:
        """Store or update ``record``."""

    def get(self, program: str, signal_id: str) -> SignalRecord | None:
        """The record of ``signal_id`` sent by ``program``."""

    def records(self, program: str | None = None) -> list[SignalRecord]:
        """All records (of ``program``), oldest first."""


class MemorySignalStore:
    """Records in memory."""

    def __init__(self) -> None:
        self._records: dict[tuple[str, str], SignalRecord] = {}

    def save(self, record: SignalRecord) -> None:
        """Store or update ``record``."""
        self._records[(record.program, record.signal_id)] = record

    def get(self, program: str, signal_id: str) -> SignalRecord | None:
        """The record of ``signal_id`` sent by ``program``."""
        return self._records.get((program, signal_id))

    def records(self, program: str | None = None) -> list[SignalRecord]:
        """All records (of ``program``), oldest first."""
        return [r for r in self._records.values() if program is None or r.program == program]
