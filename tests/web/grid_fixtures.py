"""The grid API's test harness: a grid server on a store of the test's own (SQLite file or a PostgreSQL
schema), the in-process bus, a token per role, and an HTTP client on the app in the server's event loop.

Import the ``grid_database`` fixture into a test module to run its tests on both back-ends.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from flexcem.bus import Endpoint, MemoryBus
from flexcem.clock import Clock, RealClock
from flexcem.grid.server import GridServer
from flexcem.web.auth import TokenBook
from flexcem.web.grid_app import create_grid_app
from postgres_harness import BACKENDS, Database, empty_database

SECRETS = {role: f"{role}-secret-0123456789abcdef" for role in ("viewer", "operator", "admin")}
"""A token per role (name = role)."""
T = TypeVar("T")


GridDatabase = Database
"""A test's database: URL and (PostgreSQL) schema."""


@pytest.fixture(params=BACKENDS)
def grid_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """An empty database of each back-end."""
    yield from empty_database(request.param, tmp_path)


def grid_tokens(path: Path | None = None) -> TokenBook:
    """A token book with one token per role (:data:`SECRETS`)."""
    book = TokenBook(path=path)
    for role, secret in SECRETS.items():
        book.add(role, role, secret)
    return book


def auth(role: str) -> dict[str, str]:
    """The Authorization header of the ``role`` token."""
    return {"Authorization": f"Bearer {SECRETS[role]}"}


@dataclass
class GridApi:
    """A running grid server, its bus and an HTTP client on its app."""

    server: GridServer
    bus: MemoryBus
    http: httpx.AsyncClient

    async def get(self, path: str, role: str = "viewer", **options: Any) -> httpx.Response:
        """GET as ``role``."""
        return await self.http.get(path, headers=auth(role), **options)

    async def post(self, path: str, body: Any = None, role: str = "operator") -> httpx.Response:
        """POST ``body`` as ``role``."""
        return await self.http.post(path, json=body, headers=auth(role))

    async def endpoint(self, name: str) -> Endpoint:
        """A started endpoint ``{domain}/{name}`` on the bus (a CEM the test speaks for)."""
        endpoint = Endpoint(await self.bus.connect(f"{self.server.domain}/{name}"), self.server.clock)
        await endpoint.start()
        return endpoint

    async def registered(self, customers: dict[str, list[str]], areas: dict[str, list[str]] | None = None) -> None:
        """Register customers (each with one endpoint of its id, in the given groups) and areas via the API."""
        for customer, groups in customers.items():
            assert (await self.post("/api/customers", {"id": customer}, "admin")).status_code == 201
            assert (
                await self.post("/api/endpoints", {"address": customer, "customer_id": customer}, "admin")
            ).status_code == 201
            for group in groups:
                assert (
                    await self.post("/api/groups", {"address": group, "members": [customer]}, "admin")
                ).status_code == 201
        for area, members in (areas or {}).items():
            response = await self.post("/api/areas", {"id": area, "members": members}, "admin")
            assert response.status_code == 201, response.text


def run_grid_api(
    scenario: Callable[[GridApi], Awaitable[T]],
    database: GridDatabase,
    *,
    bus: MemoryBus | None = None,
    clock: Clock | None = None,
    **options: Any,
) -> T:
    """Run ``scenario`` against a started grid server on ``database`` (real clock unless told)."""

    async def main() -> T:
        the_bus = bus or MemoryBus()
        server = GridServer(database.open(), the_bus, clock=clock or RealClock(), presence_poll_s=0.05, **options)
        await server.start()
        app = create_grid_app(server, grid_tokens())
        transport = httpx.ASGITransport(app=app)
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://grid.test") as http:
                return await scenario(GridApi(server, the_bus, http))
        finally:
            await server.stop()
            server.close()

    return asyncio.run(main())


def field_of(response: httpx.Response) -> str | None:
    """The ``field`` of an error answer."""
    data: dict[str, Any] = response.json()
    return data.get("field")


class LiveGrid:
    """A grid server with its HTTP app served by uvicorn on a free port, in a thread with its own event loop
    (for browser tests); ``prepare(server, bus)`` runs in that loop after the server started."""

    def __init__(self, database: GridDatabase, prepare: Callable[[GridServer, MemoryBus], Awaitable[None]]) -> None:
        self.database = database
        self.prepare = prepare
        self.port = 0
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=self._run, name="live grid", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LiveGrid:
        self._thread.start()
        if not self._ready.wait(60):
            raise TimeoutError("the live grid server did not start within 60 s")
        if self._error is not None:
            raise self._error
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as error:  # reported to the test thread
            self._error = error
            self._ready.set()

    async def _main(self) -> None:
        import uvicorn

        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        bus = MemoryBus()
        server = GridServer(self.database.open(), bus, presence_poll_s=0.1)
        await server.start()
        try:
            await self.prepare(server, bus)
            self.port = free_tcp_port()
            config = uvicorn.Config(create_grid_app(server, grid_tokens()), host="127.0.0.1", port=self.port,
                                    log_level="warning", lifespan="off")
            http = uvicorn.Server(config)
            serving = asyncio.create_task(http.serve())
            while not http.started:
                await asyncio.sleep(0.02)
            self._ready.set()
            await self._stop.wait()
            http.should_exit = True
            await serving
        finally:
            await server.stop()
            server.close()


def free_tcp_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
