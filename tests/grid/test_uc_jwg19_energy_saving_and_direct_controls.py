"""Story JWG19 (energy-saving signal) and WGSP2121's direct device controls of TR Table 1.

JWG19: "At 7 AM a saving request for 1 PM–5 PM arrives"; the CEM meets it "as possible". Table 1: heat
pump shut off signal profile, request store heat, VAR mode information, voltage support request, battery
ancillary service dispatch, request exported/imported power reduction — each answered "successful /
unsuccessful".
"""

from __future__ import annotations

from datetime import datetime

import pytest

from flexcem.data import DATA_CLOCK, CityLearnData
from flexcem.grid import DirectControlProgram, EnergySavingProgram, UnknownTarget
from flexcem.model import (
    AncillaryService,
    BatteryDispatch,
    DirectControlResult,
    EnergySavingRequest,
    EnergySavingResponse,
    Envelope,
    FlexModel,
    HeatPumpShutOffProfile,
    PowerReductionRequest,
    PowerReductionResponse,
    ResponseStatus,
    TimeWindow,
    VarMode,
    VarModeInformation,
    VoltageSupportRequest,
)
from grid_harness import AREA, Neighbourhood, address, hours, run_grid

SEVEN = datetime(2021, 8, 3, 7, 0, tzinfo=DATA_CLOCK)
DATA = CityLearnData.embedded()


def test_jwg19_a_saving_request_for_1_to_5_pm_collects_answers_by_its_start() -> None:
    async def scenario(hood: Neighbourhood) -> None:
        program = EnergySavingProgram(await hood.endpoint("retailer"), hood.registry)
        for name, saving in (("cem-1", 400.0), ("cem-2", None)):
            peer = await hood.endpoint(name)

            def answer(saving: float | None = saving):  # type: ignore[no-untyped-def]
                async def on_request(request: EnergySavingRequest, envelope: Envelope) -> EnergySavingResponse:
                    if saving is None:
                        return EnergySavingResponse(request_id=request.request_id, status=ResponseStatus.REJECT,
                                                    reason="user opted out today")
                    return EnergySavingResponse(request_id=request.request_id, status=ResponseStatus.ACCEPT,
                                                expected_saving_w=saving, expected_saving_wh=saving * 4)
                return on_request

            peer.on(EnergySavingRequest, answer())
        record = await program.request(AREA, SEVEN + hours(6), SEVEN + hours(10), target_percent=20.0)
        missing = await program.closed(record.signal_id, "EnergySavingResponse")
        assert missing == (address("cem-3"),) and record.deadlines["EnergySavingResponse"] == SEVEN + hours(6)
        assert program.expected_saving_w(record.signal_id) == 400.0
        with pytest.raises(ValueError, match=r"not in the future"):
            await program.request(AREA, SEVEN - hours(1), SEVEN + hours(1))

    run_grid(scenario, SEVEN)


def test_table_1_controls_are_sent_and_their_results_recorded() -> None:
    async def scenario(hood: Neighbourhood) -> None:
        program = DirectControlProgram(await hood.endpoint("dso"), hood.registry)
        peer = await hood.endpoint("cem-4")

        async def carry_out(control: FlexModel, envelope: Envelope) -> FlexModel:
            if isinstance(control, PowerReductionRequest):
                return PowerReductionResponse(request_id=control.request_id, accepted=True, expected_max_w=800.0)
            ident = next(getattr(control, n) for n in ("profile_id", "request_id", "control_id", "dispatch_id")
                         if hasattr(control, n))
            if isinstance(control, VarModeInformation):
                return DirectControlResult(ref=ident, control_type=envelope.type, success=False,
                                           reason="the inverter has no volt-var curve")
            return DirectControlResult(ref=ident, control_type=envelope.type, success=True, devices=("hp",))

        for control_type in (HeatPumpShutOffProfile, VarModeInformation, VoltageSupportRequest, BatteryDispatch,
                             PowerReductionRequest):
            peer.on(control_type, carry_out)  # type: ignore[arg-type]
        noon = SEVEN + hours(5)
        controls: list[FlexModel] = [
            HeatPumpShutOffProfile(profile_id="block-1", blocks=(TimeWindow(start=noon, end=noon + hours(2)),)),
            VarModeInformation(control_id="var-1", mode=VarMode.VOLT_VAR, valid_from=SEVEN),
            VoltageSupportRequest(request_id="volt-1", start=noon, end=noon + hours(1), low_v=218.5, high_v=241.5),
            BatteryDispatch(dispatch_id="fcr-1", service=AncillaryService.FREQUENCY_CONTAINMENT,
                            schedule=DATA.base_load(noon, noon + hours(2))),
            PowerReductionRequest(request_id="exp-1", limit_w=800.0, start=noon, end=noon + hours(3)),
        ]
        outcomes = []
        for control in controls:
            record = await program.send(address("cem-4"), control)  # type: ignore[arg-type]
            (answer,) = record.latest("result").values()
            outcomes.append((record.signal_id, getattr(answer.body, "success", None)))
        assert outcomes == [("block-1", True), ("var-1", False), ("volt-1", True), ("fcr-1", True), ("exp-1", None)]
        assert program.record("var-1").latest("result")[address("cem-4")].body.reason  # type: ignore[attr-defined]
        with pytest.raises(UnknownTarget):
            await program.send("feeder-0", controls[0])  # type: ignore[arg-type]

    run_grid(scenario, SEVEN)
