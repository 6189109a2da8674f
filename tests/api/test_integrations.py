"""Deploying amp.yaml through the API: upsert by name, a revision per deploy, errors by line."""

from __future__ import annotations

from pathlib import Path

from conftest import Server

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
PROBLEM = "application/problem+json"


def deploy(client, project_id: str, text: str):  # type: ignore[no-untyped-def]
    return client.put(f"/projects/{project_id}/integrations:batch", json={"sourceYaml": text})


def test_deploy_example_manifest(server: Server) -> None:
    project, client = server.new_project()
    response = deploy(client, project["id"], (EXAMPLES / "amp.yaml").read_text())
    assert response.status_code == 200, response.text
    deployed = {i["name"]: i for i in response.json()}
    assert set(deployed) == {"write-to-salesforce", "write-to-hubspot"}
    salesforce = deployed["write-to-salesforce"]
    assert salesforce["provider"] == "salesforce"
    assert salesforce["projectId"] == project["id"]
    content = salesforce["latestRevision"]["content"]
    assert salesforce["latestRevision"]["specVersion"] == "1.0.0"
    assert [o["objectName"] for o in content["write"]["objects"]] == [
        "account",
        "contact",
        "touchpoints__c",
    ]
    assert content["write"]["objects"][0]["inheritMapping"] is True
    # read objects (and their field mappings) are kept for writes to inherit
    read_names = [o["objectName"] for o in content["read"]["objects"]]
    assert "account" in read_names
    fields = content["read"]["objects"][0].get("requiredFields", []) + content["read"]["objects"][
        0
    ].get("optionalFields", [])
    assert any("mapToName" in f for f in fields)


def test_redeploy_upserts_by_name_with_a_new_revision(server: Server) -> None:
    project, client = server.new_project()
    text = (EXAMPLES / "write-only.amp.yaml").read_text()
    first = deploy(client, project["id"], text).json()[0]
    second = deploy(client, project["id"], text.replace("touchpoints__c", "lead")).json()[0]
    assert second["id"] == first["id"]
    assert second["latestRevision"]["id"] != first["latestRevision"]["id"]
    names = [o["objectName"] for o in second["latestRevision"]["content"]["write"]["objects"]]
    assert "lead" in names and "touchpoints__c" not in names
    listed = client.get(f"/projects/{project['id']}/integrations").json()
    assert [i["id"] for i in listed] == [first["id"]]
    revisions = client.get(f"/projects/{project['id']}/integrations/{first['id']}/revisions")
    assert [r["id"] for r in revisions.json()] == [
        second["latestRevision"]["id"],
        first["latestRevision"]["id"],
    ]


def test_get_by_id_or_name_and_delete(server: Server) -> None:
    project, client = server.new_project()
    deployed = deploy(client, project["id"], (EXAMPLES / "amp.yaml").read_text()).json()
    target = deployed[0]
    base = f"/projects/{project['name']}/integrations"
    assert client.get(f"{base}/{target['id']}").json()["name"] == target["name"]
    assert client.get(f"{base}/{target['name']}").json()["id"] == target["id"]
    assert client.delete(f"{base}/{target['name']}").status_code == 204
    gone = client.get(f"{base}/{target['id']}")
    assert gone.status_code == 404
    assert gone.headers["content-type"] == PROBLEM
    assert len(client.get(base).json()) == len(deployed) - 1


def test_invalid_manifest_is_422_with_file_lines(server: Server) -> None:
    project, client = server.new_project()
    text = "\n".join(
        [
            "specVersion: 1.0.0",
            "integrations:",
            "  - name: crm",
            "    provider: salesforce",
            "    write:",
            "      objects:",
            "        - objectName: contact",
            "        - objectName: contact",
        ]
    )
    response = deploy(client, project["id"], text)
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    issue = response.json()["issues"][0]
    assert issue["line"] == 8
    assert issue["path"] == "integrations[0].write.objects[1].objectName"
    assert issue["detail"] == (
        'amp.yaml:8 integrations[0].write.objects[1].objectName: duplicate object "contact"'
    )
    # nothing was deployed
    assert client.get(f"/projects/{project['id']}/integrations").json() == []


def test_yaml_garbage_and_missing_source(server: Server) -> None:
    project, client = server.new_project()
    garbage = deploy(client, project["id"], "integrations: [\n  - {")
    assert garbage.status_code == 422
    assert garbage.json()["issues"][0]["line"] is not None
    missing = client.put(f"/projects/{project['id']}/integrations:batch", json={})
    assert missing.status_code == 400
    assert missing.json()["issues"][0]["name"] == "sourceYaml"
    zipped = client.put(
        f"/projects/{project['id']}/integrations:batch",
        json={"sourceZipUrl": "https://example.invalid/x.zip"},
    )
    assert zipped.status_code == 400
    assert zipped.json()["issues"][0]["name"] == "sourceZipUrl"


def test_deploy_cannot_change_an_integrations_provider(server: Server) -> None:
    project, client = server.new_project()
    text = (EXAMPLES / "write-only.amp.yaml").read_text()
    assert deploy(client, project["id"], text).status_code == 200
    changed = text.replace("provider: salesforce", "provider: hubspot").replace(
        "touchpoints__c", "deals"
    )
    response = deploy(client, project["id"], changed)
    assert response.status_code == 422
    assert "cannot change" in response.json()["detail"]
