"""``flexcem sim run`` end to end on a tiny scenario (two worker processes), and a bad scenario refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flexcem.cli.main import main

TINY = """name = "cli-tiny"
[period]
start = 2021-06-15T18:00:00
days = 0.25

[population]
homes = 2
seed = 1

[population.appliances]
dishwasher = 1.0
dishwasher_hour = 19.0
"""


def test_sim_run_writes_the_report_and_prints_the_normalised_kpis(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = tmp_path / "tiny.toml"
    scenario.write_text(TINY, encoding="utf-8")
    out = tmp_path / "out"
    assert main(["sim", "run", str(scenario), "--out", str(out), "--workers", "2"]) == 0
    printed = capsys.readouterr()
    assert "cli-tiny: 2 homes" in printed.out and "cost" in printed.out
    assert "homes 2/2" in printed.err  # the progress bar
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["homes"] == 2 and summary["workers"] == 2 and summary["slots"] == 24
    assert (out / "report.html").exists() and len(list((out / "homes").glob("*.csv"))) == 2
    # where the CPU went: each shard's, and the CEMs' planning inside it (the dishwashers' offers are planned)
    for run in ("control", "no_control"):
        assert len(summary["shard_cpu_s"][run]) == 2 and all(cpu > 0 for cpu in summary["shard_cpu_s"][run])
    assert 0 < summary["planning_cpu_s"]["control"] < sum(summary["shard_cpu_s"]["control"])
    assert summary["planning_cpu_s"]["no_control"] == 0.0


def test_a_bad_scenario_is_refused_with_file_line_and_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scenario = tmp_path / "bad.toml"
    scenario.write_text(TINY.replace("days = 0.25", "days = 0.25\nslot_minutes = 7"), encoding="utf-8")
    out = tmp_path / "out"
    assert main(["sim", "run", str(scenario), "--out", str(out)]) == 2
    assert f"{scenario}:5: period.slot_minutes" in capsys.readouterr().err
    assert not out.exists()
