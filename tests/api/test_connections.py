"""Connections over real HTTP: import credentials (`connections:generate`), list, get, delete."""

from __future__ import annotations

import re
from typing import Any

import httpx

PROBLEM_JSON = "application/problem+json"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
ACCESS = "00Dxx-access-token-secret"
REFRESH = "5Aep-refresh-token-secret"
HUBSPOT_KEY = "pat-na1-hubspot-key-secret"

MANIFEST = """\
specVersion: 1.0.0
integrations:
  - name: write-to-salesforce
    provider: salesforce
    write:
      objects:
        - objectName: contact
"""


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    body = response.json()
    assert body["status"] == status
    assert isinstance(body["detail"], str) and body["detail"]
    return body


def issue_names(body: dict[str, Any]) -> list[str]:
    return [entry["name"] for entry in body.get("issues") or []]


def assert_no_tokens(response: httpx.Response) -> None:
    for secret in (ACCESS, REFRESH, HUBSPOT_KEY):
        assert secret not in response.text


def salesforce_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "groupRef": "org_123",
        "groupName": "Acme",
        "consumerRef": "user_9",
        "consumerName": "Jane",
        "provider": "salesforce",
        "providerWorkspaceRef": "acme-corp",
        "providerMetadata": {
            "instanceUrl": {"value": "https://acme-corp.my.salesforce.com", "source": "token"}
        },
        "oauth2AuthorizationCode": {
            "accessToken": {
                "token": ACCESS,
                "issuedAt": "2026-01-01T00:00:00Z",
                "expiresAt": "2026-01-01T02:00:00Z",
            },
            "refreshToken": {"token": REFRESH},
            "scopes": ["api", "refresh_token"],
        },
    }
    body.update(overrides)
    return {key: value for key, value in body.items() if value is not None}


def generate(client: httpx.Client, project_id: str, body: dict[str, Any]) -> httpx.Response:
    return client.post(f"/projects/{project_id}/connections:generate", json=body)


def created(client: httpx.Client, project_id: str, body: dict[str, Any]) -> dict[str, Any]:
    response = generate(client, project_id, body)
    assert response.status_code == 201, response.text
    assert_no_tokens(response)
    return response.json()


def test_generate_salesforce_oauth(server: Any) -> None:
    project, client = server.new_project()
    response = generate(client, project["id"], salesforce_body())
    assert response.status_code == 201, response.text
    assert response.headers["content-type"] == "application/json"
    assert_no_tokens(response)
    connection = response.json()
    assert UUID.match(connection["id"])
    group, consumer = connection["group"], connection["consumer"]
    assert RFC3339.match(connection["createTime"])
    assert RFC3339.match(group["createTime"]) and RFC3339.match(consumer["createTime"])
    assert connection == {
        "id": connection["id"],
        "projectId": project["id"],
        "provider": "salesforce",
        "group": {
            "groupRef": "org_123",
            "groupName": "Acme",
            "projectId": project["id"],
            "createTime": group["createTime"],
        },
        "consumer": {
            "consumerRef": "user_9",
            "consumerName": "Jane",
            "projectId": project["id"],
            "createTime": consumer["createTime"],
        },
        "providerWorkspaceRef": "acme-corp",
        "createTime": connection["createTime"],
        "authScheme": "oauth2/authorizationCode",
        "status": "created",
        "providerMetadata": {
            "instanceUrl": {"value": "https://acme-corp.my.salesforce.com", "source": "token"}
        },
        "oauth2AuthorizationCode": {
            "accessToken": {"expiresAt": "2026-01-01T02:00:00Z"},
            "scopes": ["api", "refresh_token"],
        },
    }


def test_get_with_include_creds_shows_tokens(server: Any) -> None:
    project, client = server.new_project(scopes=["full"])
    connection = created(client, project["id"], salesforce_body())
    url = f"/projects/{project['id']}/connections/{connection['id']}"

    plain = client.get(url)
    assert plain.status_code == 200
    assert_no_tokens(plain)
    assert plain.json() == connection

    with_creds = client.get(url, params={"includeCreds": "true"})
    assert with_creds.status_code == 200, with_creds.text
    body = with_creds.json()
    assert body["oauth2AuthorizationCode"] == {
        "accessToken": {
            "token": ACCESS,
            "expiresAt": "2026-01-01T02:00:00Z",
            "issuedAt": "2026-01-01T00:00:00Z",
        },
        "refreshToken": {"token": REFRESH},
        "scopes": ["api", "refresh_token"],
    }
    # Everything but the credentials is the same as without includeCreds.
    body.pop("oauth2AuthorizationCode")
    expected = dict(connection)
    expected.pop("oauth2AuthorizationCode")
    assert body == expected

    false = client.get(url, params={"includeCreds": "false"})
    assert false.status_code == 200
    assert_no_tokens(false)


def test_generate_salesforce_with_instance_url_only(server: Any) -> None:
    project, client = server.new_project()
    connection = created(client, project["id"], salesforce_body(providerWorkspaceRef=None))
    assert "providerWorkspaceRef" not in connection
    assert connection["providerMetadata"]["instanceUrl"]["value"] == (
        "https://acme-corp.my.salesforce.com"
    )


def test_generate_salesforce_with_workspace_only(server: Any) -> None:
    project, client = server.new_project()
    connection = created(client, project["id"], salesforce_body(providerMetadata=None))
    assert connection["providerWorkspaceRef"] == "acme-corp"
    assert "providerMetadata" not in connection


def test_generate_hubspot_api_key(server: Any) -> None:
    project, client = server.new_project(scopes=["full"])
    connection = created(
        client,
        project["id"],
        {"groupRef": "g1", "consumerRef": "c1", "provider": "hubspot", "apiKey": HUBSPOT_KEY},
    )
    assert connection["authScheme"] == "apiKey"
    assert connection["status"] == "created"
    assert connection["provider"] == "hubspot"
    # Names default to the refs.
    assert connection["group"]["groupName"] == "g1"
    assert connection["consumer"]["consumerName"] == "c1"
    assert "apiKey" not in connection
    assert "oauth2AuthorizationCode" not in connection

    url = f"/projects/{project['id']}/connections/{connection['id']}"
    with_creds = client.get(url, params={"includeCreds": "true"})
    assert with_creds.status_code == 200
    assert with_creds.json()["apiKey"] == HUBSPOT_KEY


def test_generate_hubspot_oauth_with_provider_app(server: Any) -> None:
    project, client = server.new_project(scopes=["full"])
    app = client.post(
        f"/projects/{project['id']}/provider-apps",
        json={
            "provider": "hubspot",
            "clientId": "hs-client",
            "clientSecret": "hs-secret",
            "scopes": ["oauth"],
        },
    )
    assert app.status_code == 200, app.text
    connection = created(
        client,
        project["id"],
        {
            "groupRef": "g1",
            "consumerRef": "c1",
            "provider": "hubspot",
            "providerAppId": app.json()["id"],
            "oauth2AuthorizationCode": {
                "accessToken": {
                    "token": ACCESS,
                    "issuedAt": "2026-03-01T09:30:00+02:00",
                    "expiresAt": "2026-03-01T10:00:00+02:00",
                },
                "refreshToken": {"token": REFRESH},
            },
        },
    )
    assert connection["authScheme"] == "oauth2/authorizationCode"
    assert connection["providerApp"] == app.json()
    # Times are normalised to UTC, in this response as in later reads.
    assert connection["oauth2AuthorizationCode"] == {
        "accessToken": {"expiresAt": "2026-03-01T08:00:00Z"},
        "scopes": [],
    }
    assert "hs-secret" not in str(connection)
    url = f"/projects/{project['id']}/connections/{connection['id']}"
    assert client.get(url).json() == connection
    with_creds = client.get(url, params={"includeCreds": "true"}).json()
    assert with_creds["oauth2AuthorizationCode"] == {
        "accessToken": {
            "token": ACCESS,
            "issuedAt": "2026-03-01T07:30:00Z",
            "expiresAt": "2026-03-01T08:00:00Z",
        },
        "refreshToken": {"token": REFRESH},
        "scopes": [],
    }


def test_generate_reuses_group_and_updates_its_name(server: Any) -> None:
    project, client = server.new_project()
    first = created(client, project["id"], salesforce_body())
    second = created(
        client,
        project["id"],
        salesforce_body(groupName="Acme Inc", consumerRef="user_10", consumerName=None),
    )
    assert second["id"] != first["id"]
    assert second["group"]["groupName"] == "Acme Inc"
    assert second["group"]["createTime"] == first["group"]["createTime"]
    assert second["consumer"]["consumerRef"] == "user_10"
    got_first = client.get(f"/projects/{project['id']}/connections/{first['id']}").json()
    assert got_first["group"]["groupName"] == "Acme Inc"


def test_list_with_filters(server: Any) -> None:
    project, client = server.new_project()
    sf_a = created(client, project["id"], salesforce_body(groupRef="a", consumerRef="u1"))
    sf_b = created(client, project["id"], salesforce_body(groupRef="b", consumerRef="u2"))
    hs_a = created(
        client,
        project["id"],
        {"groupRef": "a", "consumerRef": "u2", "provider": "hubspot", "apiKey": HUBSPOT_KEY},
    )
    base = f"/projects/{project['id']}/connections"

    def ids(**params: str) -> list[str]:
        response = client.get(base, params=params)
        assert response.status_code == 200, response.text
        assert_no_tokens(response)
        return [c["id"] for c in response.json()]

    assert client.get(base).json() == [sf_a, sf_b, hs_a]
    assert ids(provider="salesforce") == [sf_a["id"], sf_b["id"]]
    assert ids(provider="hubspot") == [hs_a["id"]]
    assert ids(groupRef="a") == [sf_a["id"], hs_a["id"]]
    assert ids(consumerRef="u2") == [sf_b["id"], hs_a["id"]]
    assert ids(provider="salesforce", groupRef="a") == [sf_a["id"]]
    assert ids(groupRef="nobody") == []


def test_no_credential_block(server: Any) -> None:
    project, client = server.new_project()
    body = salesforce_body(oauth2AuthorizationCode=None)
    problem = assert_problem(generate(client, project["id"], body), 400)
    assert "credential" in problem["detail"]
    assert "oauth2AuthorizationCode" in problem["detail"]
    assert client.get(f"/projects/{project['id']}/connections").json() == []


def test_two_credential_blocks(server: Any) -> None:
    project, client = server.new_project()
    body = {"groupRef": "g", "consumerRef": "c", "provider": "hubspot", "apiKey": HUBSPOT_KEY}
    body["oauth2AuthorizationCode"] = {"refreshToken": {"token": REFRESH}}
    problem = assert_problem(generate(client, project["id"], body), 400)
    assert "exactly one" in problem["detail"]
    assert "oauth2AuthorizationCode, apiKey" in problem["detail"]
    assert HUBSPOT_KEY not in problem["detail"]
    assert client.get(f"/projects/{project['id']}/connections").json() == []


def test_salesforce_rejects_api_key(server: Any) -> None:
    project, client = server.new_project()
    body = salesforce_body(oauth2AuthorizationCode=None, apiKey="k")
    problem = assert_problem(generate(client, project["id"], body), 400)
    assert issue_names(problem) == ["apiKey"]
    assert "salesforce" in problem["detail"]
    assert "oauth2AuthorizationCode" in problem["remedy"]


def test_salesforce_needs_workspace_or_instance_url(server: Any) -> None:
    project, client = server.new_project()
    body = salesforce_body(providerWorkspaceRef=None, providerMetadata=None)
    problem = assert_problem(generate(client, project["id"], body), 400)
    assert issue_names(problem) == ["providerWorkspaceRef"]
    assert "instanceUrl" in problem["remedy"]

    not_a_url = salesforce_body(
        providerWorkspaceRef=None, providerMetadata={"instanceUrl": {"value": "acme"}}
    )
    problem = assert_problem(generate(client, project["id"], not_a_url), 400)
    assert issue_names(problem) == ["providerMetadata.instanceUrl.value"]
    assert client.get(f"/projects/{project['id']}/connections").json() == []


def test_naive_expires_at(server: Any) -> None:
    project, client = server.new_project()
    body = salesforce_body()
    body["oauth2AuthorizationCode"]["accessToken"]["expiresAt"] = "2026-01-01T02:00:00"
    problem = assert_problem(generate(client, project["id"], body), 400)
    assert issue_names(problem) == ["oauth2AuthorizationCode.accessToken.expiresAt"]
    assert "zone" in problem["detail"]

    body = salesforce_body()
    body["oauth2AuthorizationCode"]["accessToken"]["issuedAt"] = "2026-01-01T00:00:00"
    problem = assert_problem(generate(client, project["id"], body), 400)
    assert issue_names(problem) == ["oauth2AuthorizationCode.accessToken.issuedAt"]
    assert client.get(f"/projects/{project['id']}/connections").json() == []


def test_flat_expiry_from_older_clients(server: Any) -> None:
    project, client = server.new_project()
    oauth = {"refreshToken": {"token": REFRESH}, "expiry": "2026-05-01T12:00:00"}
    problem = assert_problem(
        generate(client, project["id"], salesforce_body(oauth2AuthorizationCode=oauth)), 400
    )
    assert issue_names(problem) == ["oauth2AuthorizationCode.expiry"]
    oauth["expiry"] = "2026-05-01T12:00:00Z"
    connection = created(client, project["id"], salesforce_body(oauth2AuthorizationCode=oauth))
    assert connection["oauth2AuthorizationCode"] == {
        "accessToken": {"expiresAt": "2026-05-01T12:00:00Z"},
        "scopes": [],
    }


def test_oauth_without_tokens(server: Any) -> None:
    project, client = server.new_project()
    body = salesforce_body(oauth2AuthorizationCode={"scopes": ["api"]})
    problem = assert_problem(generate(client, project["id"], body), 400)
    assert issue_names(problem) == ["oauth2AuthorizationCode"]


def test_missing_refs_and_unknown_fields(server: Any) -> None:
    project, client = server.new_project()
    body = salesforce_body()
    del body["groupRef"]
    body["groupReff"] = "typo"
    problem = assert_problem(generate(client, project["id"], body), 400)
    assert sorted(issue_names(problem)) == ["groupRef", "groupReff"]


def test_unknown_provider(server: Any) -> None:
    project, client = server.new_project()
    body = {"groupRef": "g", "consumerRef": "c", "provider": "notacrm", "apiKey": "k"}
    problem = assert_problem(generate(client, project["id"], body), 400)
    assert issue_names(problem) == ["provider"]
    assert "notacrm" in problem["detail"]


def test_provider_app_of_another_provider(server: Any) -> None:
    project, client = server.new_project()
    app = client.post(
        f"/projects/{project['id']}/provider-apps",
        json={"provider": "salesforce", "clientId": "c", "clientSecret": "s"},
    )
    assert app.status_code == 200, app.text
    body = {
        "groupRef": "g",
        "consumerRef": "c",
        "provider": "hubspot",
        "providerAppId": app.json()["id"],
        "apiKey": HUBSPOT_KEY,
    }
    problem = assert_problem(generate(client, project["id"], body), 400)
    assert issue_names(problem) == ["providerAppId"]
    assert "salesforce" in problem["detail"] and "hubspot" in problem["detail"]

    body["providerAppId"] = "00000000-0000-4000-8000-000000000000"
    missing = assert_problem(generate(client, project["id"], body), 404)
    assert body["providerAppId"] in missing["detail"]
    assert client.get(f"/projects/{project['id']}/connections").json() == []


def test_provider_app_of_another_project(server: Any) -> None:
    project, client = server.new_project()
    other_project, other = server.new_project("other")
    app = other.post(
        f"/projects/{other_project['id']}/provider-apps",
        json={"provider": "salesforce", "clientId": "c", "clientSecret": "s"},
    )
    assert app.status_code == 200, app.text
    body = salesforce_body(providerAppId=app.json()["id"])
    assert_problem(generate(client, project["id"], body), 404)


def test_delete(server: Any) -> None:
    project, client = server.new_project()
    connection = created(client, project["id"], salesforce_body())
    url = f"/projects/{project['id']}/connections/{connection['id']}"
    response = client.delete(url)
    assert response.status_code == 204
    assert response.content == b""
    assert_problem(client.get(url), 404)
    assert_problem(client.delete(url), 404)
    assert client.get(f"/projects/{project['id']}/connections").json() == []


def test_delete_while_installed_conflicts(server: Any) -> None:
    project, client = server.new_project()
    deployed = client.put(
        f"/projects/{project['id']}/integrations:batch", json={"sourceYaml": MANIFEST}
    )
    assert deployed.status_code == 200, deployed.text
    integration_id = deployed.json()[0]["id"]
    connection = created(client, project["id"], salesforce_body())
    installation = client.post(
        f"/projects/{project['id']}/integrations/{integration_id}/installations",
        json={
            "groupRef": "org_123",
            "connectionId": connection["id"],
            "config": {"content": {"write": {"objects": {"contact": {"objectName": "contact"}}}}},
        },
    )
    assert installation.status_code == 201, installation.text
    url = f"/projects/{project['id']}/connections/{connection['id']}"
    problem = assert_problem(client.delete(url), 409)
    assert installation.json()["id"] in problem["detail"]
    assert "Delete the installation first" in problem["remedy"]
    assert client.get(url).status_code == 200


def test_other_projects_key_gets_404(server: Any) -> None:
    project, client = server.new_project()
    other_project, other = server.new_project("other", scopes=["full"])
    connection = created(client, project["id"], salesforce_body())
    url = f"/projects/{project['id']}/connections/{connection['id']}"
    for response in (
        other.get(url),
        other.get(url, params={"includeCreds": "true"}),
        other.delete(url),
        other.get(f"/projects/{project['id']}/connections"),
        generate(other, project["id"], salesforce_body()),
    ):
        problem = assert_problem(response, 404)
        assert project["id"] in problem["detail"]
        assert_no_tokens(response)
    # Under the other project's own path the connection does not exist.
    problem = assert_problem(
        other.get(f"/projects/{other_project['id']}/connections/{connection['id']}"), 404
    )
    assert connection["id"] in problem["detail"]
    assert other.get(f"/projects/{other_project['id']}/connections").json() == []
    assert client.get(url).status_code == 200
