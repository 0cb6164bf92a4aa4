"""TR JWG3102 "restart in the same state": a CEM service ended without any clean-up (as by SIGKILL) and started
again from its store has the same devices, offers, plan and proposal, and sends its devices nothing twice."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from cem_service_harness import ServiceHome, crash, run_service_home

from flexcem.bus import Endpoint
from flexcem.cem.jobs import JobPhase
from flexcem.model import (
    AdjustmentAction,
    AlertLevel,
    CommandKind,
    DeviceState,
    DeviceStatus,
    EmergencySignal,
    Envelope,
    LoadAdjustmentFeedback,
    LoadManagementRequest,
    LoadManagementResponse,
    PowerFlow,
    StartTimeAssignment,
)
from home_harness import hours, local, one_hour_offer

START = local(2021, 7, 1, 8)


async def _settle(home: ServiceHome, seconds: float = 5.0) -> None:
    await home.clock.sleep(seconds)


def test_restart_keeps_devices_offers_and_plan_and_sends_no_start_twice(tmp_path: Path) -> None:
    async def scenario(home: ServiceHome) -> None:
        first = home.service()
        await first.start()
        await home.publish_tariff()
        washer = await home.flex_device("washer")
        await washer.endpoint.deliver("home/cem", one_hour_offer("washer", "wash-1", START, START + hours(12)))
        await _settle(home)
        cem = first.cem
        assert cem is not None and cem.plan is not None
        job = cem.jobs.get("wash-1")
        assert job is not None and job.phase is JobPhase.SCHEDULED and job.confirmed is not None
        assert [type(m) for m in washer.received] == [StartTimeAssignment]
        plan, confirmed, journal = cem.plan, job.confirmed, len(cem.journal)
        status = DeviceStatus(
            device_id="washer", state=DeviceState.WAITING_FOR_START, at=home.clock.now(), offer_id="wash-1"
        )
        await washer.endpoint.deliver("home/cem", status)
        await _settle(home, 1.0)
        await crash(first)

        second = home.service()
        again = await second.start()
        assert second.statistics.restored_devices == 1 and second.statistics.restored_jobs == 1
        assert again.plan == plan
        restored = again.jobs.get("wash-1")
        assert restored is not None and restored.phase is JobPhase.SCHEDULED
        assert restored.confirmed == confirmed
        record = again.registry.get("washer")
        assert record is not None and record.status == status
        assert len(again.journal) > journal  # the old journal is back, with the restart noted
        again.request_replan("after the restart")  # same inputs: the plan keeps the confirmed start
        await _settle(home)
        assert [type(m) for m in washer.received] == [StartTimeAssignment]
        await second.stop()

    run_service_home(tmp_path, START, scenario)


def test_restart_keeps_the_proposal_and_the_user_commits_it_afterwards(tmp_path: Path) -> None:
    async def scenario(home: ServiceHome) -> None:
        first = home.service()
        await first.start()
        await home.publish_tariff()
        washer = await home.flex_device("washer")
        await washer.endpoint.deliver("home/cem", one_hour_offer("washer", "wash-1", START, START + hours(12)))
        await _settle(home)
        assert first.cem is not None and first.cem.proposal is not None
        proposal_id, plan = first.cem.proposal.proposal_id, first.cem.proposal.plan
        assert washer.received == []  # nothing before the commit
        await crash(first)

        second = home.service()
        again = await second.start()
        assert again.proposal is not None
        assert (again.proposal.proposal_id, again.proposal.plan, again.proposal.committed_at) == (
            proposal_id,
            plan,
            None,
        )
        committed = await again.commit(proposal_id)
        await _settle(home)
        assert [type(m) for m in washer.received] == [StartTimeAssignment]
        await crash(second)

        third = home.service()
        last = await third.start()
        assert last.proposal is not None and last.proposal.committed_at == committed.committed_at
        job = last.jobs.get("wash-1")
        assert job is not None and job.phase is JobPhase.SCHEDULED
        await third.stop()

    run_service_home(tmp_path, START, scenario, commit_required=True)


def test_restart_during_an_emergency_keeps_standby_and_ends_it_once(tmp_path: Path) -> None:
    async def scenario(home: ServiceHome) -> None:
        first = home.service()
        await first.start()
        heater = await home.switched_device("heater")
        boiler = await home.switched_device("boiler")
        grid = Endpoint(await home.bus.connect("home/retailer"), home.clock)
        await grid.start()
        signal = EmergencySignal(emergency_id="e1", level=AlertLevel.NORMAL, start=home.clock.now(), duration=hours(1))
        await grid.deliver("home/cem", signal)
        await _settle(home)
        assert [c.command for c in heater.received] == [CommandKind.OFF]
        assert boiler.received == []  # exempt by the contract profile
        await crash(first)

        await home.clock.sleep(600)  # down for ten minutes, inside the emergency
        second = home.service()
        again = await second.start()
        await _settle(home)
        assert again.emergency_active and "emergency e1" in again.emergency.active
        assert [c.command for c in heater.received] == [CommandKind.OFF]  # not sent again
        await home.clock.sleep(3600)
        assert not again.emergency_active
        assert [c.command for c in heater.received] == [CommandKind.OFF, CommandKind.ON]  # the end, once
        assert boiler.received == []
        await second.stop()

    run_service_home(tmp_path, START, scenario)


def test_a_restart_after_a_crash_reports_the_power_loss_and_one_after_a_clean_stop_does_not(tmp_path: Path) -> None:
    async def scenario(home: ServiceHome) -> None:
        first = home.service()
        await first.start()
        await home.clock.sleep(120)
        lost = home.clock.now()
        await crash(first)
        await home.clock.sleep(600)

        second = home.service()
        again = await second.start()
        await _settle(home)
        reports = again.grid_side.power_loss.reports
        assert len(reports) == 1
        assert lost - timedelta(minutes=1) <= reports[0].lost_at <= lost
        assert timedelta(minutes=10) <= reports[0].duration <= timedelta(minutes=11)
        await second.stop()

        third = home.service()
        last = await third.start()
        await _settle(home)
        assert last.grid_side.power_loss.reports == []
        await third.stop()

    run_service_home(tmp_path, START, scenario)


def test_restart_during_a_load_management_window_keeps_the_event_and_sends_its_feedback_once(tmp_path: Path) -> None:
    async def scenario(home: ServiceHome) -> None:
        first = home.service()
        await first.start()
        await home.publish_tariff()
        washer = await home.flex_device("washer")
        await washer.endpoint.deliver("home/cem", one_hour_offer("washer", "wash-1", START, START + hours(12)))
        await _settle(home)
        dso = Endpoint(await home.bus.connect("home/dso"), home.clock)
        feedback: list[LoadAdjustmentFeedback] = []

        async def on_feedback(body: LoadAdjustmentFeedback, envelope: Envelope) -> None:
            feedback.append(body)

        dso.on(LoadAdjustmentFeedback, on_feedback)
        await dso.start()
        now = home.clock.now()
        request = LoadManagementRequest(
            event_id="lm-1",
            action=AdjustmentAction.REDUCE,
            amount_w=500.0,
            start=START + hours(2),
            end=START + hours(4),
            response_deadline=now + timedelta(minutes=5),
            value_per_kwh=0.2,
            currency="USD",
        )
        answer = await dso.deliver("home/cem", request, expect=LoadManagementResponse)
        assert first.cem is not None
        limits = first.cem.reductions.limits(now, PowerFlow.IMPORT)
        assert limits
        await home.clock.sleep(2 * 3600 + 600)  # inside the window
        await crash(first)

        second = home.service()
        again = await second.start()
        await _settle(home)
        assert "lm-1" in again.load_management.events
        assert again.reductions.limits(home.clock.now(), PowerFlow.IMPORT) == tuple(
            limit for limit in limits if limit.end > home.clock.now()
        )
        assert again.load_management.events["lm-1"].response == answer
        await home.clock.sleep(2 * 3600)  # past the window's end
        assert [f.event_id for f in feedback] == ["lm-1"]
        assert again.reductions.limits(home.clock.now(), PowerFlow.IMPORT) == ()
        await dso.close()
        await second.stop()

    run_service_home(tmp_path, START, scenario)
