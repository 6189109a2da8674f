"""Provider apps over real HTTP: create, list, get, PATCH by update mask, delete, isolation."""

from __future__ import annotations

import re
from typing import Any

import httpx

from writeback.store.engine import create_engine, session_factory
from writeback.store.secrets import SecretBox
from writeback.store.tables import ProviderApp

PROBLEM_JSON = "application/problem+json"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
SECRET = "sf-client-secret-do-not-echo"


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    body = response.json()
    assert body["status"] == status
    assert isinstance(body["detail"], str) and body["detail"]
    return body


def issue_names(body: dict[str, Any]) -> list[str]:
    return [entry["name"] for entry in body.get("issues") or []]


def assert_no_secret(response: httpx.Response) -> None:
    assert SECRET not in response.text
    assert "clientSecret" not in response.text


async def stored_secret(server: Any, app_id: str) -> str:
    """The client secret as stored (encrypted at rest, so decrypt it to compare)."""
    engine = create_engine(server.settings.database_url)
    try:
        async with session_factory(engine)() as session:
            row = await session.get(ProviderApp, app_id)
            assert row is not None
            assert SECRET not in row.client_secret_encrypted
            return SecretBox.from_settings(server.settings).decrypt(row.client_secret_encrypted)
    finally:
        await engine.dispose()


def create_salesforce_app(client: httpx.Client, project_id: str, **extra: Any) -> dict[str, Any]:
    body = {"provider": "salesforce", "clientId": "sf-client-id", "clientSecret": SECRET, **extra}
    response = client.post(f"/projects/{project_id}/provider-apps", json=body)
    assert response.status_code == 200, response.text
    assert_no_secret(response)
    return response.json()


def test_create_returns_camel_case_app_without_secret(server: Any) -> None:
    project, client = server.new_project()
    response = client.post(
        f"/projects/{project['id']}/provider-apps",
        json={
            "provider": "salesforce",
            "clientId": "sf-client-id",
            "clientSecret": SECRET,
            "externalRef": "connected-app-7",
            "scopes": ["api", "refresh_token"],
            "metadata": {
                "authQueryParams": {"prompt": ["consent"]},
                "providerParams": {"packageInstallURL": "https://example.com/pkg"},
            },
        },
    )
    assert response.status_code == 200, response.text  # Ampersand answers 200, not 201
    assert response.headers["content-type"] == "application/json"
    assert_no_secret(response)
    app = response.json()
    assert UUID.match(app["id"])
    assert RFC3339.match(app["createTime"])
    assert app == {
        "id": app["id"],
        "projectId": project["id"],
        "externalRef": "connected-app-7",
        "provider": "salesforce",
        "clientId": "sf-client-id",
        "scopes": ["api", "refresh_token"],
        "metadata": {
            "authQueryParams": {"prompt": ["consent"]},
            "providerParams": {"packageInstallURL": "https://example.com/pkg"},
        },
        "createTime": app["createTime"],
    }


def test_create_minimal_app_omits_unset_fields(server: Any) -> None:
    project, client = server.new_project()
    app = create_salesforce_app(client, project["id"])
    assert set(app) == {"id", "projectId", "provider", "clientId", "scopes", "createTime"}
    assert app["scopes"] == []


def test_create_by_project_name_and_case_insensitive_provider(server: Any) -> None:
    project, client = server.new_project()
    response = client.post(
        f"/projects/{project['name']}/provider-apps",
        json={"provider": "SalesForce", "clientId": "cid", "clientSecret": SECRET},
    )
    assert response.status_code == 200, response.text
    assert response.json()["provider"] == "salesforce"
    assert response.json()["projectId"] == project["id"]


def test_list_and_get(server: Any) -> None:
    project, client = server.new_project()
    base = f"/projects/{project['id']}/provider-apps"
    empty = client.get(base)
    assert empty.status_code == 200
    assert empty.json() == []
    first = create_salesforce_app(client, project["id"])
    second = client.post(
        base,
        json={
            "provider": "hubspot",
            "clientId": "hs-client",
            "clientSecret": SECRET,
            "scopes": ["oauth", "crm.objects.contacts.write"],
        },
    )
    assert second.status_code == 200, second.text
    listed = client.get(base)
    assert listed.status_code == 200
    assert_no_secret(listed)
    assert listed.json() == [first, second.json()]
    got = client.get(f"{base}/{first['id']}")
    assert got.status_code == 200
    assert_no_secret(got)
    assert got.json() == first


async def test_patch_with_update_mask(server: Any) -> None:
    project, client = server.new_project()
    app = create_salesforce_app(client, project["id"], scopes=["api"])
    assert await stored_secret(server, app["id"]) == SECRET
    url = f"/projects/{project['id']}/provider-apps/{app['id']}"
    response = client.patch(
        url,
        json={
            "updateMask": ["clientId", "clientSecret", "scopes", "metadata"],
            "providerApp": {
                "clientId": "new-client-id",
                "clientSecret": SECRET + "-rotated",
                "scopes": ["api", "refresh_token", "offline_access"],
                "metadata": {"providerParams": {"packageInstallURL": "https://x.test/p"}},
                "externalRef": "ignored because not in the mask",
            },
        },
    )
    assert response.status_code == 200, response.text
    assert_no_secret(response)
    patched = response.json()
    assert RFC3339.match(patched["updateTime"])
    assert patched == {
        "id": app["id"],
        "projectId": project["id"],
        "provider": "salesforce",
        "clientId": "new-client-id",
        "scopes": ["api", "refresh_token", "offline_access"],
        "metadata": {"providerParams": {"packageInstallURL": "https://x.test/p"}},
        "createTime": app["createTime"],
        "updateTime": patched["updateTime"],
    }
    got = client.get(url)
    assert got.status_code == 200
    assert got.json() == patched
    assert await stored_secret(server, app["id"]) == SECRET + "-rotated"

    # Fields outside the mask stay as they are.
    only_scopes = client.patch(
        url, json={"updateMask": ["scopes"], "providerApp": {"scopes": ["api"], "clientId": "x"}}
    )
    assert only_scopes.status_code == 200, only_scopes.text
    assert only_scopes.json()["scopes"] == ["api"]
    assert only_scopes.json()["clientId"] == "new-client-id"
    assert await stored_secret(server, app["id"]) == SECRET + "-rotated"


def test_patch_clears_metadata(server: Any) -> None:
    project, client = server.new_project()
    app = create_salesforce_app(
        client, project["id"], metadata={"providerParams": {"packageInstallURL": "https://a.b/c"}}
    )
    assert app["metadata"] == {"providerParams": {"packageInstallURL": "https://a.b/c"}}
    response = client.patch(
        f"/projects/{project['id']}/provider-apps/{app['id']}",
        json={"updateMask": ["metadata"], "providerApp": {}},
    )
    assert response.status_code == 200, response.text
    assert "metadata" not in response.json()


def test_unknown_provider_is_rejected_naming_provider(server: Any) -> None:
    project, client = server.new_project()
    response = client.post(
        f"/projects/{project['id']}/provider-apps",
        json={"provider": "notacrm", "clientId": "c", "clientSecret": SECRET},
    )
    body = assert_problem(response, 400)
    assert issue_names(body) == ["provider"]
    assert "provider" in body["detail"] and "notacrm" in body["detail"]
    assert "salesforce" in body["remedy"] and "hubspot" in body["remedy"]
    assert client.get(f"/projects/{project['id']}/provider-apps").json() == []


def test_hubspot_needs_scopes(server: Any) -> None:
    project, client = server.new_project()
    base = f"/projects/{project['id']}/provider-apps"
    for extra in ({}, {"scopes": []}):
        response = client.post(
            base, json={"provider": "hubspot", "clientId": "c", "clientSecret": SECRET, **extra}
        )
        body = assert_problem(response, 400)
        assert issue_names(body) == ["scopes"]
        assert "scopes" in body["detail"]
    assert client.get(base).json() == []

    # Removing the scopes of an existing HubSpot app by PATCH is refused too.
    created = client.post(
        base,
        json={"provider": "hubspot", "clientId": "c", "clientSecret": SECRET, "scopes": ["oauth"]},
    )
    assert created.status_code == 200, created.text
    response = client.patch(
        f"{base}/{created.json()['id']}",
        json={"updateMask": ["scopes"], "providerApp": {"scopes": []}},
    )
    body = assert_problem(response, 400)
    assert issue_names(body) == ["providerApp.scopes"]
    assert client.get(f"{base}/{created.json()['id']}").json()["scopes"] == ["oauth"]


def test_missing_required_fields(server: Any) -> None:
    project, client = server.new_project()
    response = client.post(
        f"/projects/{project['id']}/provider-apps", json={"provider": "salesforce"}
    )
    body = assert_problem(response, 400)
    assert sorted(issue_names(body)) == ["clientId", "clientSecret"]


def test_bad_update_mask_value(server: Any) -> None:
    project, client = server.new_project()
    app = create_salesforce_app(client, project["id"])
    url = f"/projects/{project['id']}/provider-apps/{app['id']}"
    response = client.patch(
        url, json={"updateMask": ["clientSecrett"], "providerApp": {"clientId": "x"}}
    )
    body = assert_problem(response, 400)
    assert issue_names(body) == ["updateMask[0]"]
    assert "updateMask" in body["detail"]

    empty = client.patch(url, json={"updateMask": [], "providerApp": {}})
    assert issue_names(assert_problem(empty, 400)) == ["updateMask"]

    # A masked field without a value is named in the error.
    missing = client.patch(url, json={"updateMask": ["clientId"], "providerApp": {}})
    body = assert_problem(missing, 400)
    assert issue_names(body) == ["providerApp.clientId"]
    assert client.get(url).json() == app


def test_patch_provider_checks_catalog(server: Any) -> None:
    project, client = server.new_project()
    app = create_salesforce_app(client, project["id"])
    url = f"/projects/{project['id']}/provider-apps/{app['id']}"
    response = client.patch(
        url, json={"updateMask": ["provider"], "providerApp": {"provider": "nope"}}
    )
    body = assert_problem(response, 400)
    assert issue_names(body) == ["providerApp.provider"]
    assert client.get(url).json()["provider"] == "salesforce"


def test_delete_then_404(server: Any) -> None:
    project, client = server.new_project()
    app = create_salesforce_app(client, project["id"])
    url = f"/projects/{project['id']}/provider-apps/{app['id']}"
    deleted = client.delete(url)
    assert deleted.status_code == 204
    assert deleted.content == b""
    body = assert_problem(client.get(url), 404)
    assert app["id"] in body["detail"]
    assert_problem(client.delete(url), 404)
    assert_problem(client.patch(url, json={"updateMask": ["scopes"], "providerApp": {}}), 404)
    assert client.get(f"/projects/{project['id']}/provider-apps").json() == []


def test_other_projects_key_gets_404(server: Any) -> None:
    project, client = server.new_project()
    other_project, other = server.new_project("other")
    app = create_salesforce_app(client, project["id"])
    url = f"/projects/{project['id']}/provider-apps/{app['id']}"
    for response in (
        other.get(url),
        other.get(f"/projects/{project['id']}/provider-apps"),
        other.patch(url, json={"updateMask": ["scopes"], "providerApp": {"scopes": []}}),
        other.delete(url),
        other.post(
            f"/projects/{project['id']}/provider-apps",
            json={"provider": "salesforce", "clientId": "c", "clientSecret": SECRET},
        ),
    ):
        body = assert_problem(response, 404)
        assert project["id"] in body["detail"]
        assert app["id"] not in response.text

    # The app's id under the other project's own path is not found either.
    assert_problem(other.get(f"/projects/{other_project['id']}/provider-apps/{app['id']}"), 404)
    assert client.get(url).json() == app


def test_requires_api_key(server: Any) -> None:
    project, _ = server.new_project()
    anonymous = server.client(None)
    assert_problem(anonymous.get(f"/projects/{project['id']}/provider-apps"), 401)
