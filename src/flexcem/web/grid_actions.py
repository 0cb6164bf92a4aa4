"""The grid API's actions: operators publish tariffs, set the traffic light, create and end load-management
events and emergencies, post readings; admins manage the registry, meters and tokens.

Every action is checked before anything is sent or stored; a refusal is a 422 naming the field of the body.
Actions on signals answer with the stored signal (:class:`~flexcem.grid.server_views.SignalView`).
"""

from typing import Annotated

from fastapi import APIRouter, Depends, status

from flexcem.grid.records import SignalRecord
from flexcem.grid.server import GridServer, OperatorError
from flexcem.grid.server_views import AreaView, CustomerView, EndpointView, GroupView, MeterView, SignalView
from flexcem.web.auth import ApiError, Role, TokenBook, TokenEntry, bearer
from flexcem.web.grid_reads import refused
from flexcem.web.grid_requests import (
    AreaIn,
    CustomerIn,
    EmergencyIn,
    EndIn,
    EndpointIn,
    GroupIn,
    LoadManagementIn,
    MembersIn,
    MeterIn,
    ReadingsIn,
    TariffIn,
    TokenIn,
    TrafficLightIn,
)

__all__ = ["action_router"]

WINDOW = {"start": "window.start", "end": "window.end"}
"""The program's field names and the API's."""


def action_router(server: GridServer, tokens: TokenBook) -> APIRouter:
    """The action routes."""
    router = APIRouter(prefix="/api")
    Operator = Annotated[TokenEntry, Depends(bearer(tokens, Role.OPERATOR))]  # noqa: N806
    Admin = Annotated[TokenEntry, Depends(bearer(tokens, Role.ADMIN))]  # noqa: N806

    def view(record: SignalRecord) -> SignalView:
        found = server.signal(record.program, record.signal_id)
        assert found is not None
        return found

    # -- operator --------------------------------------------------------------------------------------------

    @router.post("/tariffs", status_code=status.HTTP_201_CREATED, tags=["operate"])
    async def publish_tariff(body: TariffIn, token: Operator) -> SignalView:
        """Publish a price profile (retained) to everyone or a target; a known profile id is corrected."""
        try:
            record = await server.publish_tariff(
                body.slots,
                target=body.target,
                profile_id=body.profile_id,
                tariff_name=body.tariff_name,
                currency=body.currency,
                binding=body.binding,
                kind=body.kind,
            )
        except OperatorError as error:
            raise refused(error, "body") from None
        return view(record)

    @router.post("/traffic-light", status_code=status.HTTP_201_CREATED, tags=["operate"])
    async def set_traffic_light(body: TrafficLightIn, token: Operator) -> SignalView:
        """Set the traffic light of an area (sent retained to the area's group)."""
        try:
            record = await server.set_traffic_light(
                body.area, body.state, valid_until=body.valid_until, reason=body.reason
            )
        except OperatorError as error:
            raise refused(error, "body") from None
        return view(record)

    @router.post("/load-management", status_code=status.HTTP_201_CREATED, tags=["operate"])
    async def request_load_management(body: LoadManagementIn, token: Operator) -> SignalView:
        """Create a load-management event for an endpoint, group, area or everyone."""
        if (body.amount_w is None) == (body.amount_percent is None):
            raise ApiError(422, "give exactly one of amount_w and amount_percent", "body.amount_w")
        if body.response_deadline >= body.window.end:
            raise ApiError(422, "response_deadline is not before the end of the window", "body.response_deadline")
        options = {"urgency": body.urgency, "value_per_kwh": body.value_per_kwh, "reason": body.reason}
        try:
            record = await server.request_load_management(
                body.target,
                action=body.action,
                quantity=body.quantity,
                amount_w=body.amount_w,
                amount_percent=body.amount_percent,
                start=body.window.start,
                end=body.window.end,
                response_deadline=body.response_deadline,
                event_id=body.event_id,
                **options,
            )
        except OperatorError as error:
            raise refused(error, "body", WINDOW) from None
        return view(record)

    @router.post("/load-management/{event_id}/end", tags=["operate"])
    async def end_load_management(event_id: str, token: Operator, body: EndIn | None = None) -> SignalView:
        """End a load-management event now (before its start: cancel it)."""
        try:
            record = await server.end_load_management(event_id, reason=body.reason if body else None)
        except OperatorError as error:
            raise refused(error, "path") from None
        return view(record)

    @router.post("/emergencies", status_code=status.HTTP_201_CREATED, tags=["operate"])
    async def declare_emergency(body: EmergencyIn, token: Operator) -> SignalView:
        """Declare an emergency for an endpoint, group, area or everyone."""
        try:
            record = await server.declare_emergency(
                body.target,
                level=body.level,
                start=body.start,
                duration=body.duration,
                reason=body.reason,
                confirm=body.confirm,
                emergency_id=body.emergency_id,
            )
        except OperatorError as error:
            raise refused(error, "body", {"duration": "duration_s"}) from None
        return view(record)

    @router.post("/emergencies/{emergency_id}/end", tags=["operate"])
    async def end_emergency(emergency_id: str, token: Operator) -> SignalView:
        """End an emergency now."""
        try:
            record = await server.end_emergency(emergency_id)
        except OperatorError as error:
            raise refused(error, "path") from None
        return view(record)

    @router.post("/readings", status_code=status.HTTP_201_CREATED, tags=["operate"])
    async def add_readings(body: ReadingsIn, token: Operator) -> dict[str, int]:
        """Store a batch of meter readings (all or none)."""
        try:
            stored = server.add_readings([reading.model_dump() for reading in body.readings])
        except OperatorError as error:
            raise refused(error, "body.readings") from None
        return {"stored": stored}

    # -- admin -----------------------------------------------------------------------------------------------

    @router.post("/customers", status_code=status.HTTP_201_CREATED, tags=["registry"])
    async def add_customer(body: CustomerIn, token: Admin) -> CustomerView:
        """Register a customer."""
        try:
            return server.add_customer(body.id, name=body.name)
        except OperatorError as error:
            raise refused(error, "body") from None

    @router.post("/endpoints", status_code=status.HTTP_201_CREATED, tags=["registry"])
    async def add_endpoint(body: EndpointIn, token: Admin) -> EndpointView:
        """Register a CEM endpoint of a customer."""
        try:
            address = server.add_endpoint(body.address, body.customer_id)
        except OperatorError as error:
            raise refused(error, "body") from None
        found = [e for e in server.endpoints(limit=500)[0] if e.address == address]
        return (
            found[0]
            if found
            else EndpointView(address=address, customer_id=body.customer_id, created_at=server.clock.now())
        )

    @router.post("/groups", status_code=status.HTTP_201_CREATED, tags=["registry"])
    async def add_group(body: GroupIn, token: Admin) -> GroupView:
        """Register a group (or add members to it)."""
        try:
            address = server.add_group(body.address, body.members)
        except OperatorError as error:
            raise refused(error, "body") from None
        return GroupView(address=address, members=sorted(server.registry.groups.get(address, set())))

    @router.post("/groups/{group}/members", tags=["registry"])
    async def add_members(group: str, body: MembersIn, token: Admin) -> GroupView:
        """Add members to a group (an id or an address)."""
        try:
            address = server.add_group(group, body.members)
        except OperatorError as error:
            raise refused(error, "body") from None
        return GroupView(address=address, members=sorted(server.registry.groups.get(address, set())))

    @router.post("/areas", status_code=status.HTTP_201_CREATED, tags=["registry"])
    async def add_area(body: AreaIn, token: Admin) -> AreaView:
        """Register a grid area: an existing group, or a new one of ``members``."""
        try:
            server.add_area(body.id, group=body.group, members=body.members)
        except OperatorError as error:
            raise refused(error, "body") from None
        return next(area for area in server.areas() if area.id == body.id)

    @router.post("/meters", status_code=status.HTTP_201_CREATED, tags=["registry"])
    async def add_meter(body: MeterIn, token: Admin) -> MeterView:
        """Register a meter of an endpoint's site."""
        try:
            return server.add_meter(body.meter_id, endpoint=body.endpoint)
        except OperatorError as error:
            raise refused(error, "body") from None

    @router.get("/tokens", tags=["tokens"])
    async def list_tokens(token: Admin) -> list[dict[str, str]]:
        """Every token's name, role and creation time (never the secret)."""
        return [
            {"name": e.name, "role": e.role.value, "created_at": e.created_at.isoformat()} for e in tokens.entries()
        ]

    @router.post("/tokens", status_code=status.HTTP_201_CREATED, tags=["tokens"])
    async def issue_token(body: TokenIn, token: Admin) -> dict[str, str]:
        """Issue a token; its secret is in this answer only."""
        try:
            secret = tokens.issue(body.name, body.role)
        except ValueError as error:
            raise ApiError(422, str(error), "body.name") from None
        return {"name": body.name, "role": body.role.value, "token": secret}

    @router.delete("/tokens/{name}", status_code=status.HTTP_204_NO_CONTENT, tags=["tokens"])
    async def revoke_token(name: str, token: Admin) -> None:
        """Revoke a token."""
        if not tokens.revoke(name):
            raise ApiError(404, f"no token {name!r}", "path.name")

    return router
