"""Warnings and alarms the CEM shows its user and, where the settings say so, sends upstream (2113, 2142, JWG11).

Every alert is journalled and kept in :attr:`Alerts.shown` (the user's display reads it). Its message, when it
has one (an :class:`~flexcem.model.OverloadWarning`, a :class:`~flexcem.model.TimeDifferenceAlarm`…), goes to
each grid actor of ``settings.grid.report_to`` when ``upstream`` is asked for.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from flexcem.bus import Endpoint, LinkClosed
from flexcem.model import FlexModel

if TYPE_CHECKING:
    from flexcem.cem.manager import CustomerEnergyManager

__all__ = ["Alert", "Alerts"]

log = logging.getLogger("flexcem.cem.alerts")

ALERTS_KEPT = 500
"""How many recent alerts the display keeps."""


@dataclass(frozen=True)
class Alert:
    """One warning shown to the user: when, what kind, about whom, the text and the message sent (if any)."""

    at: datetime
    kind: str
    subject: str
    text: str
    body: FlexModel | None = None
    sent_to: tuple[str, ...] = ()


class Alerts:
    """The user's warnings, and their copies to the grid side."""

    def __init__(self, cem: CustomerEnergyManager, endpoint: Endpoint) -> None:
        self._cem = cem
        self._endpoint = endpoint
        self.shown: deque[Alert] = deque(maxlen=ALERTS_KEPT)

    def of_kind(self, kind: str) -> list[Alert]:
        """The alerts of ``kind`` shown so far, oldest first."""
        return [alert for alert in self.shown if alert.kind == kind]

    async def alert(
        self, kind: str, subject: str, text: str, body: FlexModel | None = None, *, upstream: bool = False
    ) -> Alert:
        """Show ``text`` to the user; send ``body`` to ``report_to`` when ``upstream`` (and ``body`` is given)."""
        targets = self._cem.settings.grid.report_to if upstream and body is not None else ()
        sent: list[str] = []
        for target in targets:
            assert body is not None
            try:
                await self._endpoint.send(target, body)
                sent.append(target)
            except (LinkClosed, ValueError) as error:
                log.warning("%s: %s not sent to %s: %s", self._endpoint.address, kind, target, error)
        alert = Alert(self._cem.clock.now(), kind, subject, text, body, tuple(sent))
        self.shown.append(alert)
        self._cem.note(f"warning ({kind}) {text}" + (f"; sent to {', '.join(sent)}" if sent else ""))
        return alert
