"""``flexcem grid serve`` on the embedded default (``--bus memory://``, a SQLite file): it issues an admin
token when the token file has none (secret shown once, stored hashed), serves the API and the dashboard, and
stops cleanly on SIGTERM; a bad bus URL or token file is refused at start-up naming the option, with status 2.
``flexcem grid token`` issues and revokes tokens."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from flexcem.cli.main import main
from flexcem.web.auth import TokenBook
from mosquitto_harness import free_port


def grid(*args: str) -> list[str]:
    return [sys.executable, "-m", "flexcem.cli.main", "grid", *args]


@pytest.mark.slow
def test_serve_on_the_embedded_bus_issues_an_admin_token_serves_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    tokens = tmp_path / "tokens.json"
    process = subprocess.Popen(
        grid("serve", "--db", f"sqlite:///{tmp_path / 'grid.db'}", "--bus", "memory://", "--http",
             f"127.0.0.1:{port}", "--tokens", str(tokens)),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        assert process.stdout is not None
        secret = None
        while secret is None:
            line = process.stdout.readline()
            assert line, "grid serve ended before issuing a token"
            found = re.search(r"issued admin token .*: (\S+)$", line)
            secret = found.group(1) if found else None
        deadline = time.monotonic() + 60
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/api/health")
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline and process.poll() is None
                time.sleep(0.1)
        answer = health.json()
        assert {k: answer[k] for k in ("status", "address")} == {"status": "ok", "address": "grid/dso"}
        assert datetime.fromisoformat(answer["now"]).tzinfo is not None, "the server's clock, for the dashboard"
        me = httpx.get(f"http://127.0.0.1:{port}/api/me", headers={"Authorization": f"Bearer {secret}"})
        assert me.json() == {"name": "admin", "role": "admin"}
        page = httpx.get(f"http://127.0.0.1:{port}/")
        assert page.status_code == 200 and "/static/grid/grid.js" in page.text
        assert secret not in tokens.read_text()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        rest = process.stdout.read()
        assert "grid server grid/dso stopped" in rest
    finally:
        if process.poll() is None:
            process.kill()


def test_a_bad_bus_url_or_token_file_is_refused_at_start_up_naming_the_option(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    tokens = tmp_path / "tokens.json"
    database = f"sqlite:///{tmp_path / 'grid.db'}"
    code = main(["grid", "serve", "--db", database, "--bus", "carrier-pigeon://x", "--tokens", str(tokens),
                 "--http", f"127.0.0.1:{free_port()}"])
    error = capsys.readouterr().err
    assert code == 2 and "--bus" in error and "memory://" in error
    tokens.write_text(json.dumps({"tokens": [{"name": "x", "role": "root"}]}))
    code = main(["grid", "serve", "--db", database, "--tokens", str(tokens)])
    error = capsys.readouterr().err
    assert code == 2 and "--tokens" in error and "tokens.0" in error
    assert json.loads(tokens.read_text())["tokens"][0]["role"] == "root", "the bad file is left as it was"


def test_grid_token_issues_and_revokes(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    tokens = tmp_path / "tokens.json"
    assert main(["grid", "token", "--tokens", str(tokens), "--name", "ops", "--role", "operator"]) == 0
    secret = capsys.readouterr().out.strip()
    entry = TokenBook.load(tokens).authenticate(secret)
    assert entry is not None and entry.role.value == "operator"
    assert main(["grid", "token", "--tokens", str(tokens), "--revoke", "ops"]) == 0
    assert TokenBook.load(tokens).authenticate(secret) is None
    assert main(["grid", "token", "--tokens", str(tokens), "--revoke", "ops"]) == 2
