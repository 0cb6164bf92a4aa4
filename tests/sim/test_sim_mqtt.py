"""``flexcem sim run --bus mqtt://…``: the same scenario over a Mosquitto of the test's own (anonymous, local)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from flexcem.cli.main import main
from mosquitto_harness import MOSQUITTO, anonymous_broker

TINY = """name = "mqtt-tiny"
[period]
start = 2021-06-15T18:00:00
days = 0.125

[population]
homes = 2
seed = 1

[population.battery]
share = 1.0

[population.appliances]
dishwasher = 1.0
dishwasher_hour = 18.5
"""


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[str]:
    if not Path(MOSQUITTO).exists():
        pytest.skip("no Mosquitto")
    with anonymous_broker(tmp_path) as uri:
        yield uri


def test_the_scenario_runs_over_a_broker_with_messages_through_it(broker: str, tmp_path: Path) -> None:
    scenario = tmp_path / "tiny.toml"
    scenario.write_text(TINY, encoding="utf-8")
    out = tmp_path / "out"
    assert main(["sim", "run", str(scenario), "--out", str(out), "--bus", broker, "--quiet", "--workers", "1"]) == 0
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["bus"] == broker
    control = summary["kpis"]["control"]
    assert control["plans"] >= 1 and control["messages_received"] > 0  # the start and the offer may share a plan
    assert summary["kpis"]["no_control"]["messages_sent"] > 0
