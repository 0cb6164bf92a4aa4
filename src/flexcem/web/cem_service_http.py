"""The household's HTTP API and dashboard for a :class:`~flexcem.cem.service.CemService` (``flexcem cem run``,
``flexcem up``): the app on the service's CEM, with the history read from the service's store.

The CEM service does not import the web package (DESIGN §2: web builds on cem); whoever starts the service
hands it :func:`household_server`, which it calls once the CEM is restored and running.
"""

from __future__ import annotations

from datetime import datetime

from flexcem.cem.service import CemService
from flexcem.web.cem_app import create_cem_app
from flexcem.web.cem_models import HistoryOut, SeriesPoint
from flexcem.web.cem_views import history_from_memory
from flexcem.web.serving import EmbeddedServer, embedded_server

__all__ = ["StoreHistory", "household_server"]


class StoreHistory:
    """The household API's history from the store: the site's readings outlive restarts (JWG10/12)."""

    def __init__(self, service: CemService) -> None:
        self._service = service

    def history(self, start: datetime, end: datetime) -> HistoryOut:
        """The in-memory history with the site power [W] read from the store."""
        service = self._service
        assert service.cem is not None and service.store is not None
        memory = history_from_memory(service.cem, start, end)
        readings = service.store.readings("site", start, end)
        site = [
            SeriesPoint(start=r.at, duration_s=(n.at - r.at).total_seconds() if n else 0.0, value=r.power_w)
            for r, n in zip(readings, [*readings[1:], None], strict=True)
        ]
        return memory.model_copy(update={"source": "cem-store", "site_power": site or memory.site_power})


def household_server(service: CemService, listen: str) -> EmbeddedServer:
    """A server (not yet serving) of the household's API and dashboard on ``listen`` (``HOST:PORT``)."""
    assert service.cem is not None
    app = create_cem_app(service.cem, token=service.config.http.token, history=StoreHistory(service))
    host, _, port = listen.rpartition(":")
    return embedded_server(app, host.strip("[]"), int(port))
