"""The household's HTTP API and dashboard for one CEM (issue 6, items 2 and 4).

``create_cem_app(cem)`` returns a FastAPI app that runs in the CEM's event loop (serve it with
``uvicorn.Server(config).serve()`` in the same loop), so its handlers call the CEM directly. Every endpoint is
under ``/api`` (see docs/cem-api.md); the OpenAPI document is ``/api/openapi.json``; the dashboard is ``/``, a
static page with its scripts served from ``/static`` (no CDN: it works offline).

* **Auth**: with ``token`` set, every ``/api`` call but the OpenAPI document needs ``Authorization: Bearer
  <token>`` (401 otherwise). The page asks for the token once and keeps it in the browser's local storage.
* **Errors** name the field, in FastAPI's shape: ``{"detail": [{"loc": ["body", "until"], "msg": …, "type": …}]}``
  — 422 for bad input, 404 for an unknown device, 409 when the state does not allow the action (a proposal
  replaced, a job already running). Nothing changes on an error.
* **History**: ``history`` is any object with ``history(start, end)`` returning a
  :class:`~flexcem.web.cem_models.HistoryOut` (or an awaitable of one), e.g. the CEM service's store; without
  one the history is what the CEM holds in memory (:func:`~flexcem.web.cem_views.history_from_memory`: meter
  readings, the plans in force, the jobs), which a restart loses.
"""

from __future__ import annotations

import inspect
import secrets
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Protocol

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.staticfiles import StaticFiles

from flexcem.cem import CustomerEnergyManager, OperatingConditions
from flexcem.cem.user_actions import HouseholdActions, Preferences, PreferencesUpdate, UserActionError
from flexcem.web.cem_conditions import ConditionsRefused, conditions_from_body
from flexcem.web.cem_models import (
    ActionOut,
    CommitIn,
    ConditionsIn,
    CostOut,
    DeviceOut,
    EventOut,
    EventPage,
    ForecastOut,
    HistoryOut,
    OverrideIn,
    PlanOut,
    PostponeIn,
    PricesOut,
    ProposalOut,
    SummaryOut,
)
from flexcem.web.cem_views import (
    cost_out,
    current_plan,
    device_out,
    forecast_out,
    history_from_memory,
    known_price_range,
    plan_out,
    prices_out,
)

__all__ = ["CemHistory", "FieldError", "create_cem_app"]

STATIC = Path(__file__).parent / "static"
BEARER = HTTPBearer(auto_error=False)
MAX_PAGE = 500
"""Most journal entries one page returns."""


class CemHistory(Protocol):
    """Where the history comes from when it outlives the process (the CEM service's store)."""

    def history(self, start: datetime, end: datetime) -> Any:
        """A :class:`HistoryOut` for ``[start, end)``, or an awaitable of one."""
        ...


class FieldError(HTTPException):
    """An error naming the field at fault, in FastAPI's validation-error shape."""

    def __init__(self, status_code: int, loc: tuple[str, ...], message: str) -> None:
        super().__init__(status_code, [{"loc": list(loc), "msg": message, "type": "value_error"}])


def _action_error(error: UserActionError, where: str = "body") -> FieldError:
    if error.field == "device_id":
        status = 409 if error.conflict else 404 if "not registered" in str(error) else 422
        return FieldError(status, ("path", "device_id"), str(error))
    return FieldError(409 if error.conflict else 422, (where, *error.field.split(".")), str(error))


def _range(cem: CustomerEnergyManager, start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    default_start, default_end = known_price_range(cem)
    for name, value in (("start", start), ("end", end)):
        if value is not None and value.tzinfo is None:
            raise FieldError(422, ("query", name), f"{name} needs a time zone offset (e.g. +00:00)")
    start = start or default_start
    end = end or (start + timedelta(days=1) if start != default_start else default_end)
    if end <= start:
        raise FieldError(422, ("query", "end"), f"end {end.isoformat()} is not after start {start.isoformat()}")
    if end - start > timedelta(days=31):
        raise FieldError(422, ("query", "end"), "the interval may be at most 31 days")
    return start, end


def create_cem_app(cem: CustomerEnergyManager, *, token: str | None = None, history: object | None = None) -> FastAPI:
    """The household API and dashboard for ``cem`` (see the module docstring)."""
    if history is not None and not callable(getattr(history, "history", None)):
        raise TypeError("history must have a history(start, end) method")
    actions = HouseholdActions(cem)
    app = FastAPI(
        title="flexcem CEM",
        summary="The household's view of its Customer Energy Manager (IEC TR 62746-2).",
        version="1",
        openapi_url="/api/openapi.json",
        docs_url=None,  # Swagger UI loads from a CDN; the OpenAPI document is served instead
        redoc_url=None,
    )
    app.state.cem = cem
    app.state.actions = actions

    async def authorised(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)]) -> None:
        # async, so FastAPI runs it in the CEM's loop and not in a worker thread (the loop may run on virtual time)
        if token is None:
            return
        given = credentials.credentials if credentials is not None else ""
        if not secrets.compare_digest(given.encode(), token.encode()):
            raise HTTPException(401, "a valid bearer token is required", headers={"WWW-Authenticate": "Bearer"})

    api = APIRouter(prefix="/api", dependencies=[Depends(authorised)])

    def record_of(device_id: str) -> Any:
        record = cem.registry.get(device_id)
        if record is None:
            raise FieldError(404, ("path", "device_id"), f"device_id {device_id!r} is not registered")
        return record

    @api.get("/summary", response_model=SummaryOut, tags=["cem"])
    async def summary() -> SummaryOut:
        """The CEM at a glance: time, zone, currency, whether plans wait for a commit, an emergency."""
        proposal = cem.proposal
        return SummaryOut(
            now=cem.clock.now(),
            timezone=cem.settings.timezone,
            address=cem.endpoint.address,
            currency=cem.prices.currency,
            objective=cem.settings.objective,
            commit_required=cem.settings.commit_required,
            proposal_pending=proposal is not None and proposal.committed_at is None,
            emergency_active=cem.emergency_active,
            plans_made=cem.plans_made,
            devices=len(cem.registry),
        )

    @api.get("/devices", response_model=list[DeviceOut], tags=["devices"])
    async def devices() -> list[DeviceOut]:
        """Every registered device with its last status, its job and the actions that apply now."""
        return [device_out(cem, actions, record) for record in cem.registry.records()]

    @api.get("/devices/{device_id}", response_model=DeviceOut, tags=["devices"])
    async def device(device_id: str, refresh: bool = False) -> DeviceOut:
        """One device; with ``refresh=true`` its status is asked for first."""
        record = record_of(device_id)
        if refresh:
            await cem.request_status(device_id)
        return device_out(cem, actions, record)

    @api.post("/devices/{device_id}/start-now", response_model=ActionOut, tags=["actions"])
    async def start_now(device_id: str) -> ActionOut:
        """Start the device's job now (the user's override)."""
        record_of(device_id)
        try:
            result = await actions.start_now(device_id)
        except UserActionError as error:
            raise _action_error(error) from None
        return ActionOut(**vars(result))

    @api.post("/devices/{device_id}/postpone", response_model=ActionOut, tags=["actions"])
    async def postpone(device_id: str, body: PostponeIn) -> ActionOut:
        """Let the device's job start no earlier than ``until``, or ``by`` later than planned."""
        record_of(device_id)
        try:
            result = actions.postpone(device_id, until=body.until, by=body.by)
        except UserActionError as error:
            raise _action_error(error) from None
        return ActionOut(**vars(result))

    @api.post("/devices/{device_id}/override", response_model=ActionOut, tags=["actions"])
    async def override(device_id: str, body: OverrideIn) -> ActionOut:
        """``run_now``, ``dont_run`` (abort its job, or keep a set-point device out of the plans until
        ``until``) or ``release``."""
        record_of(device_id)
        try:
            result = await actions.override(device_id, body.mode, body.until)
        except UserActionError as error:
            raise _action_error(error) from None
        return ActionOut(**vars(result))

    @api.get("/devices/{device_id}/conditions", response_model=OperatingConditions, tags=["conditions"])
    async def conditions(device_id: str) -> OperatingConditions:
        """The user's operating and time conditions for the appliance (JWG1110); 404 naming ``device_id`` when the
        device is not registered or has none."""
        record_of(device_id)
        current = cem.home.book.conditions.get(device_id)
        if current is None:
            raise FieldError(404, ("path", "device_id"), f"device_id {device_id!r} has no operating conditions")
        return current

    @api.put("/devices/{device_id}/conditions", response_model=OperatingConditions, tags=["conditions"])
    async def put_conditions(device_id: str, body: ConditionsIn) -> OperatingConditions:
        """Set the appliance's operating conditions (a water heater's set point and level, an air conditioner's
        mode, fan and set point) and time conditions (desired start and finish) as a whole; the CEM re-plans, and
        with ``commit_required`` the new plan is a proposal. 422 naming the field, 404 for an unknown device;
        the conditions stay as they were on any error."""
        record = record_of(device_id)
        try:
            new = conditions_from_body(device_id, record.capabilities.kind, body)
        except ConditionsRefused as error:
            raise FieldError(422, error.loc, str(error)) from None
        cem.set_operating_conditions(new)
        cem.note(f"the user set the operating conditions of {device_id}")
        return new

    @api.delete("/devices/{device_id}/conditions", status_code=204, tags=["conditions"])
    async def delete_conditions(device_id: str) -> Response:
        """Drop the appliance's operating conditions (the CEM re-plans when there were some); 404 for an unknown
        device."""
        record_of(device_id)
        if cem.clear_operating_conditions(device_id):
            cem.note(f"the user cleared the operating conditions of {device_id}")
        return Response(status_code=204)

    @api.get("/plan", response_model=PlanOut, tags=["plan"])
    async def plan() -> PlanOut:
        """The plan waiting for the commit, else the plan in force: per device start, end, power per slot and
        set points; site power, prices and the PV forecast per slot."""
        found = current_plan(cem)
        if found is None:
            raise HTTPException(404, "no plan yet")
        return plan_out(cem, *found)

    @api.get("/proposal", response_model=ProposalOut, tags=["plan"])
    async def proposal() -> ProposalOut:
        """The proposal waiting for the user's commit (JWG1110), if any (``pending`` false otherwise)."""
        current = cem.proposal
        if current is None:
            return ProposalOut(pending=False)
        return ProposalOut(
            pending=current.committed_at is None,
            proposal_id=current.proposal_id,
            proposed_at=current.proposed_at,
            committed_at=current.committed_at,
            plan=plan_out(cem, current.plan, "proposal") if current.committed_at is None else None,
        )

    @api.post("/proposal/commit", response_model=ProposalOut, tags=["plan"])
    async def commit(body: CommitIn) -> ProposalOut:
        """Commit the proposal: only then are start times and schedules sent. 409 naming ``proposal_id`` when
        it was replaced, committed already, or its starts have passed."""
        try:
            done = await cem.commit(body.proposal_id)
        except ValueError as error:
            raise FieldError(409, ("body", "proposal_id"), str(error)) from None
        return ProposalOut(
            pending=False, proposal_id=done.proposal_id, proposed_at=done.proposed_at, committed_at=done.committed_at
        )

    @api.get("/prices", response_model=PricesOut, tags=["plan"])
    async def prices(start: datetime | None = None, end: datetime | None = None) -> PricesOut:
        """Known prices in ``[start, end)`` (default: today, local, to the end of the known tariff)."""
        return prices_out(cem, *_range(cem, start, end))

    @api.get("/forecast", response_model=ForecastOut, tags=["plan"])
    async def forecast(start: datetime | None = None, end: datetime | None = None) -> ForecastOut:
        """PV generation, base load and planned site power in ``[start, end)``."""
        return forecast_out(cem, *_range(cem, start, end))

    @api.get("/cost", response_model=CostOut, tags=["plan"])
    async def cost() -> CostOut:
        """Expected cost per device and of the plan; the saving against no control where it is known."""
        return cost_out(cem)

    @api.get("/history", response_model=HistoryOut, tags=["history"])
    async def get_history(start: datetime | None = None, end: datetime | None = None) -> HistoryOut:
        """Metered site power, the planned site power and the jobs of ``[start, end)`` (default: today)."""
        if start is None and end is None:
            day, _ = known_price_range(cem)
            start, end = day, day + timedelta(days=1)
        interval = _range(cem, start, end)
        if history is None:
            return history_from_memory(cem, *interval)
        result = history.history(*interval)  # type: ignore[attr-defined]
        if inspect.isawaitable(result):
            result = await result
        return HistoryOut.model_validate(result, from_attributes=True)

    @api.get("/events", response_model=EventPage, tags=["history"])
    async def events(
        offset: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
        before: Annotated[int | None, Query(ge=0)] = None,
    ) -> EventPage:
        """The CEM's journal, newest first: skip ``offset`` entries, or (stable while the journal grows) take
        those with an ``index`` below ``before``."""
        journal = cem.journal
        total = len(journal)
        top = (total if before is None else min(before, total)) - 1 - offset
        indexes = range(top, max(-1, top - limit), -1)
        return EventPage(
            total=total,
            offset=offset,
            limit=limit,
            items=[EventOut(index=i, at=journal[i].at, text=journal[i].text) for i in indexes],
        )

    @api.get("/preferences", response_model=Preferences, tags=["preferences"])
    async def preferences() -> Preferences:
        """Objective, price thresholds, devices allowed for load management, emergency exemptions."""
        return actions.preferences()

    @api.put("/preferences", response_model=Preferences, tags=["preferences"])
    async def put_preferences(body: PreferencesUpdate) -> Preferences:
        """Change the fields given; all or nothing, errors name the field."""
        try:
            return actions.update_preferences(body)
        except UserActionError as error:
            raise _action_error(error) from None

    app.include_router(api)

    @app.exception_handler(FieldError)
    async def field_error(request: Request, error: FieldError) -> JSONResponse:
        return JSONResponse({"detail": error.detail}, status_code=error.status_code)

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    async def dashboard() -> FileResponse:
        return FileResponse(STATIC / "cem" / "index.html")

    return app
