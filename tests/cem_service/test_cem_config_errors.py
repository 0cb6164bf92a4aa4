"""A bad home configuration is refused at start-up naming the file, the line and the field (issue 6 item 2)."""

from __future__ import annotations

from pathlib import Path

import pytest

from flexcem.cem.config import ConfigError, HomeConfig, load_home_config, parse_home_config
from flexcem.cli.main import main
from flexcem.model import DeviceKind
from flexcem.model.toml_locator import line_of

EXAMPLE = Path(__file__).parents[2] / "examples" / "home.toml"

GOOD = """\
[identity]
domain = "home"

[site]
timezone = "Europe/Berlin"
tariff_sources = ["grid/retailer"]

[[devices]]
id = "washer"
kind = "washing_machine"

[[devices]]
id = "heatpump"
kind = "heat_pump"
load_management = { max_duration = "PT2H" }
"""


def _refusal(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        parse_home_config(text, "home.toml")
    return caught.value


def test_the_documented_example_is_a_valid_configuration() -> None:
    config = load_home_config(EXAMPLE)
    assert isinstance(config, HomeConfig)
    assert config.identity.address == "home/cem"
    assert config.store.path == EXAMPLE.parent / "flexcem-cem.db"
    assert config.bus.pki == EXAMPLE.parent / "pki"
    settings = config.cem_settings()
    assert settings.grid.emergency_exempt == ("boiler",)
    assert [p.device_id for p in settings.grid.load_management] == ["heatpump", "aircon"]
    assert [(r.device_id, r.threshold_per_kwh) for r in settings.price_thresholds] == [("heatpump", 0.25)]


def test_toml_syntax_error_names_the_line() -> None:
    error = _refusal(GOOD.replace('kind = "heat_pump"', 'kind = = "heat_pump"'))
    assert error.line == 14
    assert str(error).startswith("home.toml:14: TOML syntax:")


def test_bad_enum_names_line_and_field_with_the_allowed_values() -> None:
    error = _refusal(GOOD.replace('"heat_pump"', '"heatpump"'))
    assert (error.line, error.field) == (14, "devices[1].kind")
    assert str(error).startswith("home.toml:14: devices[1].kind: Input should be 'washing_machine'")
    assert all(f"'{kind.value}'" in str(error) for kind in DeviceKind)


def test_wrong_type_names_line_and_field() -> None:
    error = _refusal(GOOD.replace('timezone = "Europe/Berlin"', 'timezone = "Europe/Berlin"\nimport_limit_w = "a lot"'))
    assert (error.line, error.field) == (6, "site.import_limit_w")
    assert "valid number" in error.reason


def test_unknown_field_is_an_error_naming_it() -> None:
    error = _refusal(GOOD.replace('id = "washer"', 'id = "washer"\ncolour = "white"'))
    assert (error.line, error.field) == (10, "devices[0].colour")
    assert "unknown field" in str(error)


def test_unknown_field_inside_an_inline_table_gets_the_line_of_its_key() -> None:
    error = _refusal(GOOD.replace('{ max_duration = "PT2H" }', '{ max_duration = "PT2H", hours = 2 }'))
    assert (error.line, error.field) == (15, "devices[1].load_management.hours")


def test_missing_required_field_names_the_table_it_belongs_to() -> None:
    error = _refusal(GOOD.replace('id = "heatpump"\n', ""))
    assert (error.line, error.field) == (12, "devices[1].id")
    assert "Field required" in error.reason


def test_missing_required_table_is_named() -> None:
    error = _refusal(GOOD.replace('[identity]\ndomain = "home"\n', ""))
    assert error.field == "identity" and error.line == 1


def test_bad_duration_inside_an_array_of_tables_sub_table() -> None:
    text = GOOD.replace(
        'load_management = { max_duration = "PT2H" }\n', '[devices.load_management]\nmax_duration = "2h"\n'
    )
    error = _refusal(text)
    assert (error.line, error.field) == (16, "devices[1].load_management.max_duration")


def test_bad_values_are_refused_naming_the_field() -> None:
    assert _refusal(GOOD.replace("Europe/Berlin", "Mars/Olympus")).field == "site.timezone"
    assert _refusal(GOOD.replace('"grid/retailer"', '"not an address"')).field == "site.tariff_sources[0]"
    assert _refusal(GOOD + '\n[bus]\nurl = "http://broker"\n').field == "bus.url"
    assert _refusal(GOOD + '\n[http]\nlisten = "8080"\n').field == "http.listen"


def test_duplicate_device_is_refused() -> None:
    error = _refusal(GOOD.replace('id = "heatpump"', 'id = "washer"'))
    assert "washer" in str(error) and "twice" in str(error)


def test_locator_finds_keys_in_tables_arrays_and_dotted_keys() -> None:
    text = '# c\n[a]\nx = 1\n"q.k" = 2\nb.c = 3\n[[d]]\ny = 1\n[[d]]\ny = 2\n[d.e]\nz = 3\ns = """\nk = 9\n"""\n'
    assert line_of(text, ("a", "x")) == 3
    assert line_of(text, ("a", "q.k")) == 4
    assert line_of(text, ("a", "b", "c")) == 5
    assert line_of(text, ("d", 0, "y")) == 7
    assert line_of(text, ("d", 1, "y")) == 9
    assert line_of(text, ("d", 1, "e", "z")) == 11
    assert line_of(text, ("d", 1, "e", "k")) == 10  # inside a multi-line string: not a key
    assert line_of(text, ("d", 1, "missing")) == 8
    assert line_of(text, ("nowhere",)) == 1


def test_cem_run_refuses_a_bad_file_at_start_up_with_status_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "home.toml"
    path.write_text(GOOD.replace('"heat_pump"', '"heatpump"'), encoding="utf-8")
    assert main(["cem", "run", "--config", str(path)]) == 2
    assert "home.toml:14: devices[1].kind: Input should be" in capsys.readouterr().err
    assert not (tmp_path / "flexcem-cem.db").exists()  # refused before anything was opened


def test_cem_run_refuses_a_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cem", "run", "--config", str(tmp_path / "nope.toml")]) == 2
    assert "nope.toml: cannot read" in capsys.readouterr().err


def test_cem_run_refuses_a_bad_bus_url_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "home.toml"
    path.write_text(GOOD, encoding="utf-8")
    assert main(["cem", "run", "--config", str(path), "--bus", "http://x"]) == 2
    assert "--bus: Value error, 'http://x': the bus URL starts with" in capsys.readouterr().err
