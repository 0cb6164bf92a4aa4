"""JWG1110 — Control of smart home appliances based on price information by time slot (TR A.3.6; uc-home §5).

"The tariff is issued at noon every day for the following 24 h. The CEM calculates a next-day operating plan
… The user confirms the results and commits the plan; the CEM controls each appliance per the plan."
Acceptance: "Plan is not executed until the user commits it; an uncommitted plan sends no commands."
"""

from __future__ import annotations

import pytest

from flexcem.cem import CemSettings
from flexcem.model import DeviceState, StartTimeAssignment
from home_harness import DOMAIN, Home, local, run_home, settle

NOON = local(2021, 6, 15, 12)
SETTINGS = CemSettings(tariff_sources=(f"{DOMAIN}/retailer",), commit_required=True)


def test_an_uncommitted_plan_sends_nothing_and_the_commit_sends_the_proposed_starts() -> None:
    async def scenario(home: Home) -> tuple[int, dict[str, object], list[StartTimeAssignment], list[DeviceState]]:
        washer = await home.washer()
        dishwasher = await home.dishwasher()
        washer.prepare("cotton_60", latest_end=local(2021, 6, 16, 7))
        dishwasher.prepare("auto_65", latest_end=local(2021, 6, 16, 7))
        await washer.activate()
        await dishwasher.activate()
        await settle(home)
        await home.clock.sleep(3600)  # an hour passes without the user's commit
        before = len(home.messages(StartTimeAssignment))
        proposal = home.cem.proposal
        assert proposal is not None and proposal.committed_at is None
        proposed = {device.device_id: device.start for device in proposal.plan.devices}
        await home.cem.commit(proposal.proposal_id)
        await settle(home)
        sent = [envelope.body for envelope in home.messages(StartTimeAssignment)]
        return before, proposed, sent, [washer.state, dishwasher.state]

    before, proposed, sent, states = run_home(scenario, start=NOON, settings=SETTINGS)
    assert before == 0, "a start time went out before the user committed the plan"
    assert {assignment.device_id: assignment.start for assignment in sent} == proposed
    assert states == [DeviceState.WAITING_FOR_START, DeviceState.WAITING_FOR_START]


def test_committing_a_replaced_or_unknown_proposal_is_refused_naming_it() -> None:
    async def scenario(home: Home) -> None:
        washer = await home.washer()
        washer.prepare("cotton_60", latest_end=local(2021, 6, 16, 7))
        await washer.activate()
        await settle(home)
        first = home.cem.proposal
        assert first is not None
        dishwasher = await home.dishwasher()
        dishwasher.prepare("auto_65", latest_end=local(2021, 6, 16, 7))
        await dishwasher.activate()
        await settle(home)  # the new offer makes a new proposal
        assert home.cem.proposal is not None and home.cem.proposal.proposal_id != first.proposal_id
        with pytest.raises(ValueError, match=f"proposal_id '{first.proposal_id}' is not the current proposal"):
            await home.cem.commit(first.proposal_id)
        with pytest.raises(ValueError, match="proposal_id 'nonsense'"):
            await home.cem.commit("nonsense")
        current = home.cem.proposal.proposal_id
        await home.cem.commit(current)
        with pytest.raises(ValueError, match="committed already"):
            await home.cem.commit(current)
        assert len(home.messages(StartTimeAssignment)) == 2

    run_home(scenario, start=NOON, settings=SETTINGS)


def test_a_proposal_whose_starts_have_passed_cannot_be_committed() -> None:
    async def scenario(home: Home) -> None:
        washer = await home.washer()
        washer.prepare("cotton_60", latest_end=local(2021, 6, 15, 23))
        await washer.activate()
        await settle(home)
        proposal = home.cem.proposal
        assert proposal is not None
        start = proposal.plan.device("washer").start
        assert start is not None
        await home.clock.sleep_until(start)
        with pytest.raises(ValueError, match="out of date"):
            await home.cem.commit(proposal.proposal_id)
        await settle(home)
        assert home.cem.proposal is not None and home.cem.proposal.proposal_id != proposal.proposal_id
        assert not home.messages(StartTimeAssignment)

    run_home(scenario, start=NOON, settings=SETTINGS)
