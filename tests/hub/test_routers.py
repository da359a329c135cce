"""Each of the hub's routers served alone: what it needs is a store on app.state, nothing else."""

from __future__ import annotations

from fastapi.testclient import TestClient

from autograder.hub import HubStore, RepoId
from autograder.hub.app import create_app
from autograder.hub.routes import accounts, refs


def test_the_accounts_router_alone_creates_repos_and_serves_nothing_else(tmp_path):
    store = HubStore(tmp_path / "hub")
    http = TestClient(create_app(store, routers=[accounts.router]))
    http.headers["Authorization"] = f"Bearer {store.add_token('alice')}"
    assert http.get("/api/whoami-v2").json()["name"] == "alice"
    assert http.post("/api/repos/create", json={"name": "m", "private": True}).status_code == 200
    assert http.get("/api/models/alice/m").json()["private"] is True
    missing = http.get("/api/models/alice/m/refs")  # the refs router is not served
    assert (missing.status_code, missing.headers["X-Error-Code"]) == (404, "NotFound")


def test_the_refs_router_alone_checks_who_may_read_and_write(tmp_path):
    store = HubStore(tmp_path / "hub")
    alice, bob = store.add_token("alice"), store.add_token("bob")
    store.create(RepoId.parse("model", "alice", "m"), "alice", private=True)
    http = TestClient(create_app(store, routers=[refs.router]))
    as_bob = http.get("/api/models/alice/m/refs", headers={"Authorization": f"Bearer {bob}"})
    assert (as_bob.status_code, as_bob.headers["X-Error-Code"]) == (404, "RepoNotFound")
    as_alice = {"Authorization": f"Bearer {alice}"}
    assert http.post("/api/models/alice/m/branch/dev", headers=as_alice).status_code == 200
    branches = http.get("/api/models/alice/m/refs", headers=as_alice).json()["branches"]
    assert sorted(b["name"] for b in branches) == ["dev", "main"]
    denied = http.delete("/api/models/alice/m/branch/dev", headers={"Authorization": f"Bearer {bob}"})
    assert denied.status_code == 403
