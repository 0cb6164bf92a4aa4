"""Load-management events in force (JWG2121, story JWG14) as store rows, and their resumption after a restart.

An event the CEM answered and whose feedback it has not yet sent is kept in ``cem_active_events`` (kind
``load_management``): the request, its sender, the baseline (the plan's site power in the window before the event),
the allowed devices, the answer given and an early stop. After a restart the event is put back as it was: its
limits are in the plan again, the devices the user does not allow stay held, a repeated request gets the same
answer, and at the window's end (or the early stop) the feedback goes to the sender — once.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from flexcem.cem.grid_signals import PlanWindow
from flexcem.cem.load_management import LoadEvent
from flexcem.model import LoadManagementRequest, LoadManagementResponse

if TYPE_CHECKING:
    from flexcem.cem.manager import CustomerEnergyManager

__all__ = ["LOAD_MANAGEMENT", "load_event_rows", "resume_load_event"]

LOAD_MANAGEMENT = "load_management"


def _state(event: LoadEvent) -> dict[str, Any]:
    baseline = event.baseline
    return {
        "request": event.request.model_dump(mode="json"),
        "sender": event.sender,
        "baseline": {
            "starts": [at.isoformat() for at in baseline.starts],
            "slot_s": baseline.slot.total_seconds(),
            "site_w": list(baseline.site_w),
        },
        "devices": list(event.devices),
        "weights": list(event.weights),
        "response": None if event.response is None else event.response.model_dump(mode="json"),
        "stop": None if event.stop is None else event.stop.isoformat(),
    }


def load_event_rows(cem: CustomerEnergyManager) -> dict[tuple[str, ...], dict[str, Any]]:
    """Rows of ``cem_active_events`` for the load-management events whose feedback is still to come."""
    rows: dict[tuple[str, ...], dict[str, Any]] = {}
    for event in cem.load_management.events.values():
        if event.feedback is not None or event.response is None:
            continue
        rows[(event.key,)] = {
            "key": event.key,
            "kind": LOAD_MANAGEMENT,
            "until": event.stop or event.request.end,
            "state": json.dumps(_state(event), sort_keys=True, separators=(",", ":")),
        }
    return rows


def resume_load_event(cem: CustomerEnergyManager, state: dict[str, Any]) -> LoadEvent:
    """Put the stored event back into ``cem`` (limits, held devices, answer) and await its end (feedback once)."""
    baseline = state["baseline"]
    event = LoadEvent(
        request=LoadManagementRequest.model_validate(state["request"]),
        sender=state["sender"],
        baseline=PlanWindow(
            tuple(datetime.fromisoformat(at) for at in baseline["starts"]),
            timedelta(seconds=baseline["slot_s"]),
            tuple(float(w) for w in baseline["site_w"]),
        ),
        devices=tuple(state["devices"]),
        weights=[float(w) for w in state["weights"]],
    )
    if state["response"] is not None:
        event.response = LoadManagementResponse.model_validate(state["response"])
    event.stop = None if state["stop"] is None else datetime.fromisoformat(state["stop"])
    management = cem.load_management
    management.events[event.request.event_id] = event
    management._apply(event)  # the same limits, comfort ranges and held devices as when it was taken
    event.task = asyncio.create_task(management._finish_at(event), name=f"load management {event.request.event_id}")
    cem.note(f"load management {event.request.event_id} resumed after the restart")
    return event
