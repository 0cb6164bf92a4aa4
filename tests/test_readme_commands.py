"""The README's two commands are the ones that work, and CI runs the second one verbatim."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _shell_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return [block.strip() for block in re.findall(r"```sh\n(.*?)```", text, flags=re.S)]


def test_readme_first_command_installs_and_runs_the_demo() -> None:
    first = _shell_blocks()[0]
    assert "pip install ." in first and first.endswith("flexcem demo")


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    second = _shell_blocks()[1]
    assert "pytest" in second and "'.[test]'" in second
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert second in ci
