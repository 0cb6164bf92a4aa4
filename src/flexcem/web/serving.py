"""Serving an app with uvicorn inside a running event loop, next to the bus and the programs.

uvicorn's own server installs handlers for SIGINT and SIGTERM and raises the signal again when it ends; in
flexcem the command owns the signals (it stops the bus and the store in order), so the servers here leave them
alone and stop when told (:meth:`EmbeddedServer.stop`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import uvicorn

__all__ = ["EmbeddedServer", "embedded_server"]


class EmbeddedServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to the caller; ``await serve()`` in the caller's loop."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """No signal handling of its own."""
        yield

    def stop(self) -> None:
        """Finish serving (the pending ``serve()`` returns)."""
        self.should_exit = True


def embedded_server(app: Any, host: str, port: int, *, log_level: str = "warning") -> EmbeddedServer:
    """A server for ``app`` on ``host:port`` without lifespan events (the caller starts what the app needs)."""
    return EmbeddedServer(uvicorn.Config(app, host=host, port=port, log_level=log_level, lifespan="off"))
