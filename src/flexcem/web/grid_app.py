"""The grid operator's HTTP API and dashboard: :func:`create_grid_app` over a running
:class:`~flexcem.grid.server.GridServer`.

* ``/api/…`` — JSON, described by the OpenAPI document at ``/openapi.json`` (browsable at ``/docs``);
  bearer tokens with roles (:mod:`flexcem.web.auth`): viewers read, operators publish and create events,
  admins manage the registry, meters and tokens. Missing or unknown token: 401; role too low: 403.
* Listings are pages: ``?limit=`` (1–500, default 50) and ``?offset=``; the answer's ``next`` is the link to
  the following page (``null`` on the last).
* Errors are JSON ``{"error": message, "field": "body.window.end", "errors": [...]}`` — 422 for bad input,
  naming the field, with nothing stored or sent.
* ``/`` — the dashboard (static files in ``flexcem/web/static``, no CDN).

The routes are in :mod:`flexcem.web.grid_reads` and :mod:`flexcem.web.grid_actions`; they run in the server's
event loop (the programs' timers and bus live there), so serve the app with uvicorn in that loop.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from flexcem import __version__
from flexcem.grid.server import GridServer
from flexcem.web.auth import ApiError, TokenBook
from flexcem.web.grid_actions import action_router
from flexcem.web.grid_reads import read_router

__all__ = ["STATIC", "create_grid_app"]

STATIC = Path(__file__).parent / "static"
"""The dashboards' static files (``grid/``, ``common/``)."""


def _location(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(part) for part in loc)


def create_grid_app(server: GridServer, tokens: TokenBook) -> FastAPI:
    """The grid API and dashboard over ``server`` (started by the caller), guarded by ``tokens``."""
    app = FastAPI(
        title="flexcem grid server",
        version=__version__,
        description="IEC TR 62746-2 grid side: registry, presence, tariffs, traffic light, load management, "
        "emergencies, responses, telemetry. Bearer tokens: viewer < operator < admin.",
    )
    app.state.server = server
    app.state.tokens = tokens

    @app.exception_handler(ApiError)
    async def api_error(request: Request, error: ApiError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else None
        content: dict[str, Any] = {"error": error.message, "field": error.field}
        return JSONResponse(content, status_code=error.status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "field": _location(item.get("loc", ())),
                "message": str(item.get("msg", "")).removeprefix("Value error, "),
                "type": item.get("type"),
            }
            for item in error.errors()
        ]
        first = errors[0] if errors else {"field": None, "message": "invalid request"}
        content = {"error": f"{first['field']}: {first['message']}", "field": first["field"], "errors": errors}
        return JSONResponse(content, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(
            {"error": str(error.detail), "field": None},
            status_code=error.status_code,
            headers=getattr(error, "headers", None),
        )

    app.include_router(read_router(server, tokens))
    app.include_router(action_router(server, tokens))

    @app.get("/", include_in_schema=False)
    async def dashboard() -> Response:
        return FileResponse(STATIC / "grid" / "index.html", media_type="text/html")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
