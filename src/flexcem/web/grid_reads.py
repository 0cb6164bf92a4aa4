"""The grid API's reads (role ``viewer``): registry, presence, signals with responses, messages, telemetry, load."""

from datetime import timedelta
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Query, Request
from pydantic import AwareDatetime

from flexcem.grid.server import GridServer, OperatorError
from flexcem.grid.server_views import (
    AreaView,
    CustomerView,
    EndpointView,
    GroupView,
    LoadView,
    MessageView,
    MeterView,
    Page,
    PresenceView,
    ReadingView,
    SignalView,
)
from flexcem.web.auth import ApiError, Role, TokenBook, TokenEntry, bearer

__all__ = ["Paging", "page_of", "read_router", "refused"]

T = TypeVar("T")
MAX_RANGE = timedelta(days=31)
"""Longest telemetry range one request may ask for."""


class Paging:
    """``limit`` (1–500) and ``offset`` query parameters."""

    def __init__(self, limit: int = 50, offset: int = 0) -> None:
        self.limit = limit
        self.offset = offset


async def paging(
    limit: Annotated[int, Query(ge=1, le=500, description="Most items per page.")] = 50,
    offset: Annotated[int, Query(ge=0, description="Items to skip.")] = 0,
) -> Paging:
    """The paging of a request (async: FastAPI runs it in the server's loop, not in a worker thread)."""
    return Paging(limit, offset)


def page_of(request: Request, paging: Paging, found: tuple[list[T], bool]) -> Page[T]:
    """A page of ``found`` (items, more) with the link to the next page."""
    items, more = found
    following = str(request.url.include_query_params(limit=paging.limit, offset=paging.offset + paging.limit))
    return Page[T](items=items, limit=paging.limit, offset=paging.offset, next=following if more else None)


def refused(error: OperatorError, where: str, rename: dict[str, str] | None = None) -> ApiError:
    """``error`` as a 422 naming ``{where}.{field}`` (fields renamed by ``rename``)."""
    field = error.field
    if field is not None:
        head = field.split(".", 1)[0]
        if rename and head in rename:
            field = rename[head] + field[len(head) :]
    return ApiError(422, error.message, f"{where}.{field}" if field else where)


def _window(start: AwareDatetime, end: AwareDatetime) -> None:
    if end <= start:
        raise ApiError(422, f"end {end.isoformat()} is not after start {start.isoformat()}", "query.end")
    if end - start > MAX_RANGE:
        raise ApiError(422, f"at most {MAX_RANGE.days} days per request", "query.end")


def read_router(server: GridServer, tokens: TokenBook) -> APIRouter:
    """The read routes."""
    router = APIRouter(prefix="/api", tags=["read"])
    Viewer = Annotated[TokenEntry, Depends(bearer(tokens, Role.VIEWER))]  # noqa: N806
    Pages = Annotated[Paging, Depends(paging)]  # noqa: N806

    @router.get("/health", tags=["service"])
    async def health() -> dict[str, Any]:
        """Whether the server runs, its address and its clock's time (no token needed)."""
        return {"status": "ok" if server.running else "stopped", "address": server.address,
                "now": server.clock.now().isoformat()}

    @router.get("/me", tags=["service"])
    async def me(token: Viewer) -> dict[str, str]:
        """The caller's token name and role."""
        return {"name": token.name, "role": token.role.value}

    @router.get("/customers")
    async def customers(request: Request, token: Viewer, paging: Pages) -> Page[CustomerView]:
        """Customers by id."""
        return page_of(request, paging, server.customers(limit=paging.limit, offset=paging.offset))

    @router.get("/endpoints")
    async def endpoints(request: Request, token: Viewer, paging: Pages) -> Page[EndpointView]:
        """CEM endpoints with their groups and last presence."""
        return page_of(request, paging, server.endpoints(limit=paging.limit, offset=paging.offset))

    @router.get("/groups")
    async def groups(request: Request, token: Viewer, paging: Pages) -> Page[GroupView]:
        """Groups with their members."""
        return page_of(request, paging, server.groups(limit=paging.limit, offset=paging.offset))

    @router.get("/areas")
    async def areas(token: Viewer) -> list[AreaView]:
        """Grid areas with their group, members and traffic light now."""
        return server.areas()

    @router.get("/presence")
    async def presence(request: Request, token: Viewer, paging: Pages) -> Page[PresenceView]:
        """The last presence of each endpoint seen."""
        return page_of(request, paging, server.presence(limit=paging.limit, offset=paging.offset))

    @router.get("/signals")
    async def signals(
        request: Request,
        token: Viewer,
        paging: Pages,
        program: Annotated[
            str | None, Query(description="tariff, traffic-light, load-management, emergency, energy-saving")
        ] = None,
        status: Annotated[str | None, Query(pattern="^(sent|open|closed)$")] = None,
        active: Annotated[bool | None, Query(description="Only signals in force now (or not).")] = None,
        recipient: str | None = None,
    ) -> Page[SignalView]:
        """Signals with their responses, newest first."""
        found = server.signals(
            limit=paging.limit, offset=paging.offset, program=program, status=status, active=active, recipient=recipient
        )
        return page_of(request, paging, found)

    @router.get("/signals/{program}/{signal_id}")
    async def signal(program: str, signal_id: str, token: Viewer) -> SignalView:
        """One signal with every response, refusal and the missing responders."""
        view = server.signal(program, signal_id)
        if view is None:
            raise ApiError(404, f"{program}: no signal {signal_id!r}", "path.signal_id")
        return view

    @router.get("/messages")
    async def messages(
        request: Request,
        token: Viewer,
        paging: Pages,
        sender: str | None = None,
        recipient: str | None = None,
        kind: str | None = None,
        since: AwareDatetime | None = None,
        newest: Annotated[bool, Query(description="Newest first instead of oldest first.")] = False,
    ) -> Page[MessageView]:
        """Every stored message sent or received, oldest first."""
        found = server.messages(
            limit=paging.limit,
            offset=paging.offset,
            sender=sender,
            recipient=recipient,
            kind=kind,
            since=since,
            newest=newest,
        )
        return page_of(request, paging, found)

    @router.get("/meters")
    async def meters(request: Request, token: Viewer, paging: Pages) -> Page[MeterView]:
        """Meters and the endpoints whose sites they meter."""
        return page_of(request, paging, server.meters(limit=paging.limit, offset=paging.offset))

    @router.get("/telemetry/{meter_id}/latest")
    async def latest(meter_id: str, token: Viewer) -> ReadingView | None:
        """The newest reading of a meter (``null`` when it has none)."""
        try:
            return server.latest_reading(meter_id)
        except OperatorError as error:
            raise ApiError(404, error.message, "path.meter_id") from None

    @router.get("/telemetry/{meter_id}")
    async def readings(meter_id: str, start: AwareDatetime, end: AwareDatetime, token: Viewer) -> list[ReadingView]:
        """Readings of a meter in ``[start, end)`` (at most 31 days)."""
        _window(start, end)
        try:
            return server.readings(meter_id, start, end)
        except OperatorError as error:
            raise ApiError(404, error.message, "path.meter_id") from None

    @router.get("/load")
    async def load(
        token: Viewer,
        start: AwareDatetime,
        end: AwareDatetime,
        target: Annotated[str | None, Query(description="Area id, group or endpoint; none: everyone.")] = None,
        resolution_s: Annotated[int, Query(ge=60, le=86400)] = 900,
    ) -> LoadView:
        """Aggregated load of a target's meters: the latest total and one point per interval [W]."""
        _window(start, end)
        if (end - start) / timedelta(seconds=resolution_s) > 10_000:
            raise ApiError(422, "more than 10000 intervals: choose a larger resolution_s", "query.resolution_s")
        try:
            return server.load(target, start, end, timedelta(seconds=resolution_s))
        except OperatorError as error:
            raise refused(error, "query") from None

    return router
