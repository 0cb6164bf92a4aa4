"""Island operation and safe reconnection (story JWG4, the part the digest marks as inferred).

"The network operator or own controls may isolate the premises, which then run on own generation and storage …
Reconnection must be safe and coordinated via a synchronizing unit, which may be part of the CEM."

:class:`IslandOperation` keeps the premises' connection state — connected → islanded → synchronizing →
reconnected (→ connected at the next plan) — and refuses any other transition naming the state. While the
premises are islanded or synchronizing, every plan may neither import nor export (the home runs on its own
generation and storage; limits over the whole horizon, soft, so that a plan still comes back and names the
shortfall); once reconnected, the limits are lifted and the CEM re-plans.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from enum import StrEnum

from flexcem.cem.power_reduction import ReductionBook
from flexcem.model import PowerFlow
from flexcem.planner import LimitSlot

__all__ = ["ConnectionState", "IslandOperation"]

_KEY = "island"
_HORIZON = timedelta(days=7)
"""How far ahead the island limits reach [time]: beyond any plan's horizon."""


class ConnectionState(StrEnum):
    """The premises' connection to the grid."""

    CONNECTED = "connected"
    ISLANDED = "islanded"
    SYNCHRONIZING = "synchronizing"
    RECONNECTED = "reconnected"


_ALLOWED = {
    ConnectionState.CONNECTED: {ConnectionState.ISLANDED},
    ConnectionState.ISLANDED: {ConnectionState.SYNCHRONIZING},
    ConnectionState.SYNCHRONIZING: {ConnectionState.RECONNECTED, ConnectionState.ISLANDED},
    ConnectionState.RECONNECTED: {ConnectionState.CONNECTED, ConnectionState.ISLANDED},
}


class IslandOperation:
    """The connection state machine and its effect on the plans."""

    def __init__(
        self,
        reductions: ReductionBook,
        request_replan: Callable[[str], None],
        note: Callable[[str], None],
    ) -> None:
        self._reductions = reductions
        self._request_replan = request_replan
        self._note = note
        self.state = ConnectionState.CONNECTED
        self.history: list[tuple[datetime, ConnectionState, str]] = []

    def _go(self, to: ConnectionState, at: datetime, why: str) -> None:
        if to not in _ALLOWED[self.state]:
            raise ValueError(f"state: cannot go from {self.state.value} to {to.value}")
        self.state = to
        self.history.append((at, to, why))
        self._note(f"grid connection {to.value}: {why}")

    def isolated(self, at: datetime, why: str = "the premises are isolated from the grid") -> None:
        """The operator or the home's own protection isolated the premises: run on own generation and storage."""
        self._go(ConnectionState.ISLANDED, at, why)
        window = (LimitSlot(start=at, duration=_HORIZON, limit_w=0.0),)
        self._reductions.hold(_KEY, PowerFlow.IMPORT, window)
        self._reductions.hold(f"{_KEY}-export", PowerFlow.EXPORT, window)
        self._request_replan("islanded: own generation and storage only")

    def grid_back(self, at: datetime) -> None:
        """The grid is back: the synchronizing unit starts matching voltage, frequency and phase."""
        self._go(ConnectionState.SYNCHRONIZING, at, "the grid is back; synchronizing before reconnection")

    def synchronized(self, at: datetime, in_phase: bool) -> None:
        """The synchronizing unit's verdict: reconnect when in phase, stay islanded otherwise."""
        if not in_phase:
            self._go(ConnectionState.ISLANDED, at, "synchronization failed: staying islanded")
            return
        self._go(ConnectionState.RECONNECTED, at, "synchronized: the premises are reconnected")
        self._reductions.release(_KEY)
        self._reductions.release(f"{_KEY}-export")
        self._request_replan("reconnected to the grid")

    def settled(self, at: datetime) -> None:
        """After reconnection, normal operation (connected) again."""
        self._go(ConnectionState.CONNECTED, at, "normal operation")
