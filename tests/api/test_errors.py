"""Every control-plane error is problem+json with a detail, a remedy and a request id."""

from __future__ import annotations

import httpx

from conftest import Server

PROBLEM = "application/problem+json"


def test_malformed_json_is_a_400_naming_the_body(server: Server) -> None:
    project, client = server.new_project()
    response = client.post(
        f"/projects/{project['id']}/api-keys",
        content=b'{"label": "x",',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["issues"][0]["in"] == "body"
    assert "malformed JSON" in body["issues"][0]["detail"]
    assert body["requestId"] == response.headers["x-request-id"]
    assert body["status"] == 400 and body["title"] == "Bad Request"


def test_body_that_is_not_json_says_to_send_json(server: Server) -> None:
    project, client = server.new_project()
    response = client.post(f"/projects/{project['id']}/api-keys", content=b"label=x")
    assert response.status_code == 415  # no Content-Type: refused at the edge (body_limits.py)
    assert response.headers["content-type"] == PROBLEM
    assert "Content-Type: application/json" in response.json()["remedy"]


def test_wrong_types_and_unknown_fields_are_named(server: Server) -> None:
    project, client = server.new_project()
    response = client.post(
        f"/projects/{project['id']}/api-keys", json={"label": 5, "colour": "red"}
    )
    assert response.status_code == 400
    names = {i["name"]: i for i in response.json()["issues"]}
    assert names["label"]["value"] == 5
    assert names["colour"]["detail"] == "unknown field"
    assert "label" in response.json()["detail"]


def test_missing_required_field(server: Server) -> None:
    project, client = server.new_project()
    response = client.post(f"/projects/{project['id']}/api-keys", json={})
    assert response.status_code == 400
    issue = response.json()["issues"][0]
    assert issue["name"] == "label" and issue["in"] == "body"
    assert "value" not in issue


def test_unknown_route_and_method(server: Server) -> None:
    project, client = server.new_project()
    response = client.get(f"/projects/{project['id']}/nothing-here")
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM
    assert "No route" in response.json()["detail"]
    response = client.put(f"/projects/{project['id']}")
    assert response.status_code == 405
    assert response.headers["content-type"] == PROBLEM


def test_unknown_ids_are_404_problems(server: Server) -> None:
    project, client = server.new_project()
    p = project["id"]
    for path in (
        f"/projects/{p}/integrations/no-such-integration",
        f"/projects/{p}/integrations/00000000-0000-0000-0000-000000000000",
        f"/projects/{p}/connections/00000000-0000-0000-0000-000000000000",
        f"/projects/{p}/provider-apps/00000000-0000-0000-0000-000000000000",
        f"/projects/{p}/operations/00000000-0000-0000-0000-000000000000",
        f"/projects/{p}/api-keys/00000000-0000-0000-0000-000000000000",
        "/providers/zendesk-nope",
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.headers["content-type"] == PROBLEM, path
        assert response.json()["remedy"], path


def test_client_request_id_is_echoed(server: Server) -> None:
    response = server.admin.get("/projects/nope-404", headers={"X-Request-Id": "trace-123"})
    assert response.headers["x-request-id"] == "trace-123"
    assert response.json()["requestId"] == "trace-123"


def test_providers_catalog_needs_no_key(server: Server) -> None:
    anonymous = server.client(None)
    catalog = anonymous.get("/providers")
    assert catalog.status_code == 200
    assert {"salesforce", "hubspot"} <= set(catalog.json())
    hubspot = anonymous.get("/providers/hubspot").json()
    assert hubspot["name"] == "hubspot"
    assert hubspot["support"]["write"] is True
    assert hubspot["support"]["batchWrite"]["create"]["defaultRecordLimit"] == 100
    assert anonymous.get("/providers/Salesforce").json()["name"] == "salesforce"


def test_openapi_documents_the_write_endpoint(server: Server) -> None:
    document = httpx.get(server.url + "/openapi.json").json()
    path = "/v1/projects/{projectIdOrName}/integrations/{integrationId}/objects/{objectName}"
    assert "post" in document["paths"][path]
    assert "WriteRequest" in document["components"]["schemas"]
