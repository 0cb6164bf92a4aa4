"""Simple commands to appliances (TR §3.4.7): start, pause, resume, abort with their results."""

from __future__ import annotations

from datetime import timedelta

import pytest

from flexcem.model import CommandKind, CommandResult, DeviceState, SimpleCommand
from home_harness import Home, local, run_home, settle

NOON = local(2021, 6, 15, 12, 0)


async def _command(home: Home, command: CommandKind) -> CommandResult:
    return await home.cem.endpoint.deliver(
        "home/washer", SimpleCommand(device_id="washer", command=command), expect=CommandResult
    )


def test_pause_holds_the_programme_and_resume_finishes_it_later() -> None:
    async def scenario(home: Home) -> None:
        washer = await home.washer()
        washer.prepare("cotton_40", latest_end=local(2021, 6, 15, 23, 0))
        await washer.activate()
        await settle(home)
        assert (await _command(home, CommandKind.START)).success
        await home.clock.sleep(600)
        paused = await _command(home, CommandKind.PAUSE)
        assert paused.success and paused.state is DeviceState.PAUSED
        energy = washer.job.energy_wh
        await home.clock.sleep(1800)
        assert washer.job.energy_wh == energy and washer.power.power_w < 1.0
        assert (await _command(home, CommandKind.RESUME)).success
        await home.clock.sleep(3 * 3600)
        assert washer.state is DeviceState.FINISHED
        started, finished = washer.job.started_at, washer.job.finished_at
        assert finished - started >= timedelta(hours=2, minutes=30)  # two hours of washing + 30 min paused
        assert washer.job.energy_wh == pytest.approx(washer.job.offer.estimated_energy_wh, abs=0.5)

    run_home(scenario, start=NOON)


def test_commands_that_do_not_fit_the_state_fail_with_a_reason() -> None:
    async def scenario(home: Home) -> None:
        washer = await home.washer()
        result = await _command(home, CommandKind.PAUSE)
        assert not result.success and "cannot pause" in (result.reason or "")
        washer.prepare("quick_30", latest_end=local(2021, 6, 15, 23, 0))
        await washer.activate()
        await settle(home)
        aborted = await _command(home, CommandKind.ABORT)
        assert aborted.success and aborted.state is DeviceState.ABORTED
        await settle(home)
        assert home.cem.jobs.all()[0].phase == "aborted"
        assert (await _command(home, CommandKind.RESUME)).reason == "cannot resume: the device is aborted"

    run_home(scenario, start=NOON)
