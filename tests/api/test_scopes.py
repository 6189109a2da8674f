"""Scoped API keys: every route's scope decision, its enforcement over real HTTP, what new keys
get, who may grant what, and what a read-only key can see."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import Server
from connection_support import salesforce_connection
from writeback.api.app import create_app, route_table
from writeback.api.scopes import RouteTable, route_scope
from writeback.settings import Settings

PROBLEM = "application/problem+json"
SCOPES = ("write", "read", "manage", "credentials")
ACCESS, REFRESH = "00Dxx-scoped-access-token", "5Aep-scoped-refresh-token"
CLIENT_SECRET = "provider-app-client-secret-value"
HTTP_METHODS = {"get", "post", "put", "patch", "delete", "head", "options"}


@dataclass
class Keys:
    project: dict[str, Any]
    full: httpx.Client
    only: dict[str, httpx.Client]  # a key with just this scope
    without: dict[str, httpx.Client]  # a key with every scope but this one
    prefixes: dict[str, str]  # scope -> prefix of the key `without` it


def new_key(server: Server, project_id: str, scopes: list[str], label: str) -> dict[str, Any]:
    response = server.admin.post(
        f"/projects/{project_id}/api-keys", json={"label": label, "scopes": scopes}
    )
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture(scope="module")
def keys(server: Server) -> Keys:
    project, full = server.new_project("scoped", scopes=["full"])
    only, without, prefixes = {}, {}, {}
    for scope in SCOPES:
        only[scope] = server.client(new_key(server, project["id"], [scope], f"only-{scope}")["key"])
        others = [s for s in SCOPES if s != scope]
        made = new_key(server, project["id"], others, f"no-{scope}")
        without[scope] = server.client(made["key"])
        prefixes[scope] = made["prefix"]
    return Keys(project, full, only, without, prefixes)


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["status"] == status and body["detail"] and body["remedy"]
    return body


def concrete(template: str, project_id: str) -> str:
    """A path for a route template: the real project, made-up ids elsewhere."""
    path = re.sub(
        r"\{(\w+)\}", lambda m: project_id if m[1] == "projectIdOrName" else "x", template
    )
    return path.removeprefix("/v1")


def call(client: httpx.Client, method: str, path: str, **params: str) -> httpx.Response:
    body = {"json": {}} if method in ("POST", "PUT", "PATCH") else {}
    return client.request(method, path, params=params, **body)  # type: ignore[arg-type]


# --- the policy: every route has a decision -------------------------------------------------


def test_every_api_route_has_a_scope_decision(tmp_path: Path) -> None:
    app = create_app(Settings(home=tmp_path, database_url=f"sqlite+aiosqlite:///{tmp_path / 'db'}"))
    served = {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        if path.startswith("/v1")
        for method in operations
        if method in HTTP_METHODS
    }
    assert len(served) > 40  # the whole API, not a fragment
    table = route_table()
    assert table.undecided == []  # a new custom verb or method must be decided in api/scopes.py
    decided = {(route.method, route.template) for route in table.routes}
    assert served <= decided, f"routes the auth gate does not know: {served - decided}"
    for method, template in served:
        route_scope(method, template)  # raises NoScopeDecision for a route it cannot decide
    # the decisions that matter most, spelled out
    scope_of = {(route.method, route.template): route.scope for route in table.routes}
    project = "/v1/projects/{projectIdOrName}"
    assert scope_of[("GET", "/v1/providers")] is None  # public, as in Ampersand
    assert scope_of[("POST", project + "/integrations/{integrationId}/objects/{objectName}")] == (
        "write"
    )
    assert scope_of[("POST", project + "/operations/{operationId}:retry")] == "write"
    assert scope_of[("POST", project + "/connections:generate")] == "manage"
    assert scope_of[("GET", project + "/connections/{connectionId}")] == "read"
    assert scope_of[("POST", project + "/api-keys")] == "manage"


def test_the_policy_does_not_guess_for_new_kinds_of_routes() -> None:
    table = RouteTable(
        [("POST", "/v1/projects/{projectIdOrName}/things/{id}:frobnicate"), ("OPTIONS", "/v1/x")]
    )
    assert len(table.undecided) == 2
    # meanwhile they need `manage` rather than nothing
    assert [route.scope for route in table.routes] == ["manage", "manage"]


# --- enforcement over HTTP, route by route ---------------------------------------------------


def test_every_route_enforces_its_scope(server: Server, keys: Keys) -> None:
    anonymous = server.client(None)
    pid = keys.project["id"]
    checked = 0
    for route in route_table().routes:
        path = concrete(route.template, pid)
        where = f"{route.method} {route.template}"
        if route.scope is None:
            assert call(anonymous, route.method, path).status_code not in (401, 403), where
            continue
        assert_problem(call(anonymous, route.method, path), 401)
        refused = assert_problem(call(keys.without[route.scope], route.method, path), 403)
        assert refused["code"] == "missing_scope", where
        assert f"`{route.scope}`" in refused["detail"], where
        assert keys.prefixes[route.scope] in refused["detail"], where  # names the key
        assert f"no-{route.scope}" in refused["detail"], where  # ...and its label
        assert route.scope in refused["remedy"] and "api-keys" in refused["remedy"], where
        assert refused["context"]["missingScopes"] == [route.scope], where
        # the scope alone is enough to get past the gate (the route answers for itself)
        allowed = call(keys.only[route.scope], route.method, path)
        assert allowed.status_code != 401, where
        if allowed.status_code == 403:
            assert allowed.json().get("code") != "missing_scope", where
        checked += 1
    assert checked > 40


def generate_connection(client: httpx.Client, project_id: str) -> dict[str, Any]:
    response = client.post(
        f"/projects/{project_id}/connections:generate",
        json=salesforce_connection(
            ACCESS, REFRESH, group="scoped-group", consumer="scoped-user", workspace="acme-scoped"
        ),
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_tokens_need_the_credentials_scope(server: Server, keys: Keys) -> None:
    pid = keys.project["id"]
    connection = generate_connection(keys.full, pid)
    url = f"/projects/{pid}/connections/{connection['id']}"
    default_key = server.new_project()[1]  # write, read, manage: another project's, for later
    refused_by = [
        keys.without["credentials"],
        keys.only["read"],
    ]
    for client in refused_by:
        for value in ("true", "TRUE", "1", "yes", "on"):
            response = client.get(url, params={"includeCreds": value})
            body = assert_problem(response, 403)
            assert body["context"]["missingScopes"] == ["credentials"]
            assert ACCESS not in response.text and REFRESH not in response.text
        # the same parameter twice: refused if either asks for tokens
        twice = client.get(url + "?includeCreds=false&includeCreds=true")
        assert_problem(twice, 403)
        plain = client.get(url, params={"includeCreds": "false"})
        assert plain.status_code == 200 and ACCESS not in plain.text
    # read and credentials together are needed: credentials alone lacks read
    body = assert_problem(keys.only["credentials"].get(url, params={"includeCreds": "true"}), 403)
    assert body["context"]["missingScopes"] == ["read"]
    for client in (keys.full, server.admin):
        shown = client.get(url, params={"includeCreds": "true"})
        assert shown.status_code == 200, shown.text
        assert shown.json()["oauth2AuthorizationCode"]["refreshToken"]["token"] == REFRESH
    # a default key is refused for its scope before anything about the project is looked at
    assert_problem(default_key.get(url, params={"includeCreds": "true"}), 403)


# --- keys' scopes: defaults, validation, and who may grant what -----------------------------


def test_new_keys_get_write_read_manage_and_scopes_are_validated(
    server: Server, keys: Keys
) -> None:
    base = f"/projects/{keys.project['id']}/api-keys"
    made = server.admin.post(base, json={"label": "default"})
    assert made.status_code == 201
    assert made.json()["scopes"] == ["write", "read", "manage"]
    assert server.admin.get(f"{base}/{made.json()['id']}").json()["scopes"] == [
        "write",
        "read",
        "manage",
    ]
    for scopes in (["bogus"], ["read", "admin"], ["frontend"], []):
        body = assert_problem(server.admin.post(base, json={"label": "x", "scopes": scopes}), 400)
        assert body["issues"][0]["name"] == "scopes"
        if scopes:
            assert "write, read, manage, credentials, full" in body["detail"]
    patched = server.admin.patch(
        f"{base}/{made.json()['id']}",
        json={"updateMask": ["scopes"], "apiKey": {"scopes": ["read", "nope"]}},
    )
    assert assert_problem(patched, 400)["issues"][0]["name"] == "apiKey.scopes"
    # duplicates are kept once
    once = server.admin.post(base, json={"label": "dup", "scopes": ["read", "read"]})
    assert once.json()["scopes"] == ["read"]


def test_a_key_grants_only_scopes_it_holds(server: Server, keys: Keys) -> None:
    base = f"/projects/{keys.project['id']}/api-keys"
    manager = keys.without["credentials"]  # write, read, manage
    for scopes in (["credentials"], ["full"], ["read", "credentials"]):
        body = assert_problem(manager.post(base, json={"label": "x", "scopes": scopes}), 403)
        assert body["context"]["missingScopes"] == ["credentials"]
    assert manager.post(base, json={"label": "ok", "scopes": ["read"]}).status_code == 201
    # nor can it give itself (or another key) a scope it lacks
    own = manager.get(base).json()
    own_id = next(k["id"] for k in own if k["label"] == "no-credentials")
    escalate = {"updateMask": ["scopes"], "apiKey": {"scopes": ["full"]}}
    assert_problem(manager.patch(f"{base}/{own_id}", json=escalate), 403)
    assert manager.get(f"{base}/{own_id}").json()["scopes"] == ["write", "read", "manage"]
    # a full key may
    assert keys.full.post(base, json={"label": "c", "scopes": ["credentials"]}).status_code == 201


def test_narrowing_a_key_takes_effect_at_once(server: Server, keys: Keys) -> None:
    pid = keys.project["id"]
    made = new_key(server, pid, ["read", "manage"], "narrowed")
    client = server.client(made["key"])
    webhooks = f"/projects/{pid}/webhooks"
    assert client.get(webhooks).status_code == 200
    narrowed = keys.full.patch(
        f"/projects/{pid}/api-keys/{made['id']}",
        json={"updateMask": ["scopes"], "apiKey": {"scopes": ["read"]}},
    )
    assert narrowed.status_code == 200 and narrowed.json()["scopes"] == ["read"]
    assert client.get(webhooks).status_code == 200
    body = assert_problem(client.post(webhooks, json={"url": "http://127.0.0.1:9/x"}), 403)
    assert body["context"]["missingScopes"] == ["manage"]


def test_admin_key_has_every_scope_in_every_project(server: Server, keys: Keys) -> None:
    pid = keys.project["id"]
    assert server.admin.get(f"/projects/{pid}/api-keys").status_code == 200
    made = server.admin.post(f"/projects/{pid}/api-keys", json={"label": "a", "scopes": ["full"]})
    assert made.status_code == 201


# --- what a read-only key can see ----------------------------------------------------------


def test_read_only_key_sees_no_secret(server: Server) -> None:
    project, full = server.new_project("readonly", scopes=["full"])
    pid = project["id"]
    app = full.post(
        f"/projects/{pid}/provider-apps",
        json={"provider": "salesforce", "clientId": "cid", "clientSecret": CLIENT_SECRET},
    )
    assert app.status_code == 200, app.text
    connection = generate_connection(full, pid)
    hook = full.post(f"/projects/{pid}/webhooks", json={"url": "http://127.0.0.1:9/hook"})
    assert hook.status_code == 201, hook.text
    other_key = new_key(server, pid, ["write"], "another")
    reader_key = new_key(server, pid, ["read"], "reader")
    reader = server.client(reader_key["key"])
    secrets = [
        ACCESS,
        REFRESH,
        CLIENT_SECRET,
        hook.json()["secret"],
        other_key["key"],
        reader_key["key"],
    ]
    paths = [
        "/projects",
        f"/projects/{pid}",
        f"/projects/{pid}/api-keys",
        f"/projects/{pid}/api-keys/{other_key['id']}",
        f"/projects/{pid}/provider-apps",
        f"/projects/{pid}/provider-apps/{app.json()['id']}",
        f"/projects/{pid}/connections",
        f"/projects/{pid}/connections/{connection['id']}",
        f"/projects/{pid}/webhooks",
        f"/projects/{pid}/webhooks/{hook.json()['id']}",
        f"/projects/{pid}/webhooks/{hook.json()['id']}/deliveries",
        f"/projects/{pid}/integrations",
        f"/projects/{pid}/installations",
    ]
    for path in paths:
        response = reader.get(path)
        assert response.status_code == 200, (path, response.text)
        for secret in secrets:
            assert secret not in response.text, path
    # and it changes nothing
    for method, path in (
        ("POST", f"/projects/{pid}/api-keys"),
        ("DELETE", f"/projects/{pid}/webhooks/{hook.json()['id']}"),
        ("PATCH", f"/projects/{pid}"),
    ):
        assert_problem(call(reader, method, path), 403)
    assert full.get(f"/projects/{pid}/webhooks/{hook.json()['id']}").status_code == 200
