"""Bearer tokens with roles on the grid API: no token or a wrong one is 401, a role too low is 403, and the
roles nest (viewer reads; operator also acts; admin also manages the registry and tokens). Tokens are
stored hashed, and a revoked token stops working at once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from grid_fixtures import SECRETS, GridApi, GridDatabase, auth, grid_tokens, run_grid_api

from flexcem.web.auth import TokenBook


@pytest.fixture
def sqlite_database(tmp_path: Path) -> GridDatabase:
    return GridDatabase("sqlite", f"sqlite:///{tmp_path / 'grid.db'}")


def test_without_a_token_or_with_a_wrong_one_the_api_answers_401(sqlite_database: GridDatabase) -> None:
    async def scenario(api: GridApi) -> None:
        missing = await api.http.get("/api/endpoints")
        assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
        assert missing.json()["field"] == "header.authorization"
        wrong = await api.http.get("/api/endpoints", headers={"Authorization": "Bearer not-a-token-at-all-xyz"})
        assert wrong.status_code == 401 and "unknown" in wrong.json()["error"]
        basic = await api.http.get("/api/endpoints", headers={"Authorization": "Basic dXNlcjpwYXNz"})
        assert basic.status_code == 401
        assert (await api.http.get("/api/health")).json()["status"] == "ok", "health needs no token"

    run_grid_api(scenario, sqlite_database)


def test_a_viewer_reads_but_may_not_publish_and_an_operator_may_not_manage_the_registry(
    sqlite_database: GridDatabase,
) -> None:
    async def scenario(api: GridApi) -> None:
        await api.registered({"cem-1": []}, {"feeder-7": ["cem-1"]})
        assert (await api.get("/api/signals", "viewer")).status_code == 200
        refused = await api.post("/api/traffic-light", {"area": "feeder-7", "state": "red"}, "viewer")
        assert refused.status_code == 403 and "viewer" in refused.json()["error"]
        assert (await api.get("/api/signals")).json()["items"] == [], "nothing was sent"
        registry = await api.post("/api/customers", {"id": "c-9"}, "operator")
        assert registry.status_code == 403
        assert (
            await api.post("/api/traffic-light", {"area": "feeder-7", "state": "red"}, "operator")
        ).status_code == 201
        assert (
            await api.post("/api/traffic-light", {"area": "feeder-7", "state": "green"}, "admin")
        ).status_code == 201
        assert (await api.get("/api/me", "operator")).json() == {"name": "operator", "role": "operator"}

    run_grid_api(scenario, sqlite_database)


def test_an_admin_issues_and_revokes_tokens_and_a_revoked_token_stops_working(sqlite_database: GridDatabase) -> None:
    async def scenario(api: GridApi) -> None:
        assert (await api.post("/api/tokens", {"name": "ops-2", "role": "operator"}, "operator")).status_code == 403
        issued = await api.post("/api/tokens", {"name": "ops-2", "role": "operator"}, "admin")
        assert issued.status_code == 201
        secret = issued.json()["token"]
        headers = {"Authorization": f"Bearer {secret}"}
        assert (await api.http.get("/api/me", headers=headers)).json()["role"] == "operator"
        listed = (await api.get("/api/tokens", "admin")).json()
        assert {t["name"] for t in listed} == {"viewer", "operator", "admin", "ops-2"}
        assert all("token" not in t and "sha256" not in t for t in listed)
        again = await api.post("/api/tokens", {"name": "ops-2", "role": "viewer"}, "admin")
        assert again.status_code == 422 and again.json()["field"] == "body.name"
        assert (await api.http.delete("/api/tokens/ops-2", headers=auth("admin"))).status_code == 204
        assert (await api.http.get("/api/me", headers=headers)).status_code == 401

    run_grid_api(scenario, sqlite_database)


def test_the_token_file_keeps_only_hashes_and_is_read_back(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    book = grid_tokens(path)
    secret = book.issue("ops", "operator")
    text = path.read_text()
    assert secret not in text and all(s not in text for s in SECRETS.values())
    again = TokenBook.load(path)
    found = again.authenticate(secret)
    assert found is not None and found.name == "ops" and found.role.value == "operator"
    assert again.authenticate("x" * 43) is None


def test_a_bad_token_file_is_refused_naming_the_field(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    path.write_text(
        json.dumps(
            {"tokens": [{"name": "a", "role": "boss", "sha256": "0" * 64, "created_at": "2026-11-30T00:00:00Z"}]}
        )
    )
    with pytest.raises(ValueError, match=r"tokens\.0\.role"):
        TokenBook.load(path)
