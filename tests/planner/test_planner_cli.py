"""``flexcem plan INPUT.json -o PLAN.json``: plans good files, names every field of bad ones (exit 2)."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

from flexcem.cli import plan_command
from flexcem.planner import Plan

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "plan-input.json"
DOCUMENTED_FIELDS = {
    "start",
    "slot_duration",
    "slot_count",
    "currency",
    "site_power_w",
    "committed_power_w",
    "price_per_kwh",
    "co2_g_per_kwh",
    "devices",
    "total_cost",
    "violations",
    "status",
    "mip_gap",
    "build_time_s",
    "solve_time_s",
}
DEVICE_FIELDS = {"device_id", "kind", "sequence_id", "start", "end", "power_w", "energy_wh", "cost", "co2_g"}


def test_good_file_gives_a_plan_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out" / "PLAN.json"
    assert plan_command.main([str(EXAMPLE), "-o", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data.keys() >= DOCUMENTED_FIELDS
    assert all(device.keys() >= DEVICE_FIELDS for device in data["devices"])
    assert data["slot_duration"] == "PT15M"
    assert len(data["site_power_w"]) == data["slot_count"] == 18 * 4
    plan = Plan.model_validate_json(out.read_text())
    assert plan.device("ev").energy_wh == pytest.approx(32_000.0, abs=0.01)
    assert "plan written to" in capsys.readouterr().err


def test_plan_on_stdout_is_clean_json() -> None:
    # A fresh process: HiGHS prints a banner on its first use, which must not reach stdout.
    done = subprocess.run(
        [sys.executable, "-m", "flexcem.cli.plan_command", str(EXAMPLE)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["status"] == "optimal"


def _bad(tmp_path: Path, content: str, capsys: pytest.CaptureFixture[str]) -> str:
    path = tmp_path / "bad.json"
    path.write_text(content)
    assert plan_command.main([str(path)]) == plan_command.EXIT_BAD_INPUT
    captured = capsys.readouterr()
    assert captured.out == ""
    return captured.err


def test_bad_fields_are_named_on_stderr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = json.loads(EXAMPLE.read_text())
    data["colour"] = "blue"
    data["devices"][0]["latest_end"] = "2024-03-05T07:00:00"  # naive
    data["devices"][2]["max_power_w"] = -11000
    err = _bad(tmp_path, json.dumps(data), capsys)
    lines = err.strip().splitlines()
    assert any(line.endswith("colour: Extra inputs are not permitted") for line in lines)
    assert any("devices.0.flexible_start.latest_end: " in line for line in lines)
    assert any("devices.2.charging_session.max_power_w: " in line for line in lines)
    assert all(line.startswith(f"{tmp_path / 'bad.json'}: ") for line in lines)


def test_uncovered_horizon_names_prices(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = json.loads(EXAMPLE.read_text())
    data["prices"] = data["prices"][:10]
    err = _bad(tmp_path, json.dumps(data), capsys)
    assert ": prices: Value error, prices do not cover the horizon" in err


def test_invalid_json_gives_line_and_column(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = _bad(tmp_path, '{\n  "start": "2024-03-04T17:00:00+01:00",\n  "prices": [,]\n}\n', capsys)
    assert "invalid JSON at line 3, column 14" in err


def test_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert plan_command.main([str(tmp_path / "nope.json")]) == plan_command.EXIT_BAD_INPUT
    assert "cannot read" in capsys.readouterr().err


def test_sub_command_wiring() -> None:
    parser = argparse.ArgumentParser(prog="flexcem")
    plan_command.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["plan", str(EXAMPLE), "-o", "x.json", "--time-limit", "5"])
    assert args.run is plan_command.run
    assert args.output == Path("x.json")
    assert args.time_limit == 5.0
    assert args.mip_gap == 1e-4


def test_write_schemas(tmp_path: Path) -> None:
    assert plan_command.main(["--write-schemas", str(tmp_path)]) == 0
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "plan-input.schema.json",
        "plan-output.schema.json",
    ]
