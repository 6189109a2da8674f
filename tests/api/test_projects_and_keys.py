"""Projects and API keys through the HTTP API: admin vs project keys, key lifecycle."""

from __future__ import annotations

import secrets

from conftest import Server

PROBLEM = "application/problem+json"


def test_admin_creates_project_with_lowercased_name(server: Server) -> None:
    name = f"Acme-{secrets.token_hex(3)}"
    response = server.admin.post("/projects", json={"name": name, "appName": "Acme App"})
    assert response.status_code == 201
    body = response.json()
    assert body["name"] == name.lower()
    assert body["appName"] == "Acme App"
    assert set(body) >= {"id", "name", "appName", "createTime"}
    # get by id, by name, and by name in another case
    for ref in (body["id"], name.lower(), name.upper()):
        got = server.admin.get(f"/projects/{ref}")
        assert got.status_code == 200, ref
        assert got.json()["id"] == body["id"]


def test_project_key_cannot_create_projects(server: Server) -> None:
    _, client = server.new_project()
    response = client.post("/projects", json={"name": "sneaky-" + secrets.token_hex(3)})
    assert response.status_code == 403
    assert response.headers["content-type"] == PROBLEM
    assert "admin" in response.json()["detail"]
    assert response.json()["remedy"]


def test_bad_and_duplicate_project_names(server: Server) -> None:
    bad = server.admin.post("/projects", json={"name": "-bad name-"})
    assert bad.status_code == 400
    assert bad.json()["issues"][0]["name"] == "name"
    assert bad.json()["issues"][0]["value"] == "-bad name-"
    name = "dup-" + secrets.token_hex(3)
    assert server.admin.post("/projects", json={"name": name}).status_code == 201
    again = server.admin.post("/projects", json={"name": name.upper()})
    assert again.status_code == 409
    assert name in again.json()["detail"]


def test_project_key_sees_only_its_project(server: Server) -> None:
    mine, client = server.new_project("mine")
    other, _ = server.new_project("other")
    listed = client.get("/projects").json()
    assert [p["id"] for p in listed] == [mine["id"]]
    all_ids = {p["id"] for p in server.admin.get("/projects").json()}
    assert {mine["id"], other["id"]} <= all_ids
    for path in (
        f"/projects/{other['id']}",
        f"/projects/{other['name']}",
        f"/projects/{other['id']}/api-keys",
        f"/projects/{other['id']}/integrations",
        f"/projects/{other['id']}/connections",
        f"/projects/{other['id']}/provider-apps",
        f"/projects/{other['id']}/installations",
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.headers["content-type"] == PROBLEM
        assert other["id"] not in response.text or "not found" in response.json()["detail"]


def test_project_update_with_mask(server: Server) -> None:
    project, client = server.new_project()
    response = client.patch(
        f"/projects/{project['id']}",
        json={"updateMask": ["appName"], "project": {"appName": "Renamed"}},
    )
    assert response.status_code == 200
    assert response.json()["appName"] == "Renamed"
    assert response.json()["name"] == project["name"]
    bad = client.patch(f"/projects/{project['id']}", json={"updateMask": ["orgId"], "project": {}})
    assert bad.status_code == 400
    assert bad.json()["issues"][0]["name"].startswith("updateMask")


def test_api_key_lifecycle(server: Server) -> None:
    project, client = server.new_project()
    base = f"/projects/{project['id']}/api-keys"
    created = client.post(base, json={"label": "ci", "scopes": ["read", "write"]})
    assert created.status_code == 201
    key = created.json()
    assert key["scopes"] == ["read", "write"]
    assert key["key"].startswith("wb_") and len(key["key"]) > 40
    assert key["prefix"] == key["key"][:10]
    assert key["active"] is True and key["label"] == "ci"
    # the secret is shown once: never in list or get
    listed = client.get(base).json()
    assert key["id"] in [k["id"] for k in listed]
    assert all("key" not in k for k in listed)
    assert "key" not in client.get(f"{base}/{key['id']}").json()
    # Ampersand addresses keys by their value: that works too
    assert client.get(f"{base}/{key['key']}").json()["id"] == key["id"]
    # the new key works
    new_client = server.client(key["key"])
    assert new_client.get(f"/projects/{project['id']}").status_code == 200
    # deactivate: it stops working with a message that says so
    patched = client.patch(
        f"{base}/{key['id']}",
        json={"updateMask": ["active", "label"], "apiKey": {"active": False, "label": "old"}},
    )
    assert patched.status_code == 200
    assert patched.json()["active"] is False and patched.json()["label"] == "old"
    denied = new_client.get(f"/projects/{project['id']}")
    assert denied.status_code == 401
    assert "deactivated" in denied.json()["detail"]
    assert client.get(base, params={"active": "false"}).json()[0]["id"] == key["id"]
    # delete: gone for good
    assert client.delete(f"{base}/{key['id']}").status_code == 204
    assert client.get(f"{base}/{key['id']}").status_code == 404
    assert new_client.get(f"/projects/{project['id']}").status_code == 401


def test_admin_creates_first_key_of_new_project(server: Server) -> None:
    name = "fresh-" + secrets.token_hex(3)
    project = server.admin.post("/projects", json={"name": name}).json()
    key = server.admin.post(f"/projects/{name}/api-keys", json={"label": "first"}).json()
    client = server.client(key["key"])
    assert client.get(f"/projects/{project['id']}").json()["name"] == name


def test_missing_and_wrong_keys(server: Server) -> None:
    anonymous = server.client(None)
    missing = anonymous.get("/projects")
    assert missing.status_code == 401
    assert missing.headers["content-type"] == PROBLEM
    assert "X-Api-Key" in missing.json()["remedy"]
    wrong = server.client("wb_not-a-real-key").get("/projects")
    assert wrong.status_code == 401
    assert "wb_not-a-real-key" not in wrong.text  # never echo a presented secret


def test_api_key_in_query_parameter(server: Server) -> None:
    project, client = server.new_project()
    key = client.post(f"/projects/{project['id']}/api-keys", json={"label": "q"}).json()["key"]
    anonymous = server.client(None)
    response = anonymous.get(f"/projects/{project['id']}", params={"apiKey": key})
    assert response.status_code == 200
    assert response.json()["id"] == project["id"]
