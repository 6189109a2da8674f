"""Installations over real HTTP: create, list, get, PATCH (update mask and per-object JSON
Patch), config validation, delete, cascades and project isolation."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import httpx

PROBLEM_JSON = "application/problem+json"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
ACCESS = "00Dxx-access-token-secret"
REFRESH = "5Aep-refresh-token-secret"

MANIFEST = """\
specVersion: 1.0.0
integrations:
  - name: write-to-salesforce
    displayName: Write to Salesforce
    provider: salesforce
    read:
      objects:
        - objectName: account
          destination: defaultWebhook
          schedule: "*/30 * * * *"
          requiredFields:
            - fieldName: id
            - fieldName: name
              mapToName: companyName
        - objectName: contact
          destination: defaultWebhook
          schedule: "*/30 * * * *"
          requiredFields:
            - fieldName: id
            - fieldName: email
    write:
      objects:
        - objectName: account
          inheritMapping: true
        - objectName: contact
        - objectName: touchpoints__c
  - name: write-to-hubspot
    provider: hubspot
    write:
      objects:
        - objectName: contacts
"""

CONTENT = {
    "write": {
        "objects": {
            "account": {"objectName": "account"},
            "contact": {
                "objectName": "contact",
                "selectedFieldSettings": {
                    "source": {"default": {"stringValue": "myApp"}, "writeOnUpdate": "never"}
                },
            },
        }
    }
}


@dataclass
class Env:
    project: dict[str, Any]
    client: httpx.Client
    salesforce: dict[str, Any]
    hubspot: dict[str, Any]

    @property
    def p(self) -> str:
        return f"/projects/{self.project['id']}"

    def installations(self, integration: str | None = None) -> str:
        return f"{self.p}/integrations/{integration or self.salesforce['id']}/installations"

    def connect(self, group_ref: str, provider: str = "salesforce") -> dict[str, Any]:
        body: dict[str, Any] = {"groupRef": group_ref, "consumerRef": f"user-{group_ref}"}
        if provider == "salesforce":
            body |= {
                "provider": "salesforce",
                "providerWorkspaceRef": "acme",
                "oauth2AuthorizationCode": {
                    "accessToken": {"token": ACCESS, "expiresAt": "2030-01-01T00:00:00Z"},
                    "refreshToken": {"token": REFRESH},
                },
            }
        else:
            body |= {"provider": provider, "apiKey": "hubspot-key"}
        response = self.client.post(f"{self.p}/connections:generate", json=body)
        assert response.status_code == 201, response.text
        return response.json()

    def install(
        self,
        group_ref: str,
        content: dict[str, Any] | None = None,
        integration: str | None = None,
        **extra: Any,
    ) -> httpx.Response:
        body = {"groupRef": group_ref, "config": {"content": content or CONTENT}, **extra}
        return self.client.post(self.installations(integration), json=body)

    def installed(self, group_ref: str, **kwargs: Any) -> dict[str, Any]:
        response = self.install(group_ref, **kwargs)
        assert response.status_code == 201, response.text
        return response.json()

    def patch_object(self, object_name: str, body: dict[str, Any]) -> httpx.Response:
        url = f"{self.p}/integrations/{self.salesforce['id']}/objects/{object_name}/config-content"
        return self.client.patch(url, json=body)


def deploy(client: httpx.Client, project_id: str, yaml: str = MANIFEST) -> list[dict[str, Any]]:
    response = client.put(f"/projects/{project_id}/integrations:batch", json={"sourceYaml": yaml})
    assert response.status_code == 200, response.text
    return response.json()


def new_env(server: Any) -> Env:
    project, client = server.new_project()
    integrations = {i["name"]: i for i in deploy(client, project["id"])}
    return Env(
        project, client, integrations["write-to-salesforce"], integrations["write-to-hubspot"]
    )


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    body = response.json()
    assert body["status"] == status
    assert isinstance(body["detail"], str) and body["detail"]
    return body


def issue_names(body: dict[str, Any]) -> list[str]:
    return [entry["name"] for entry in body.get("issues") or []]


def test_create_installation_shape(server: Any) -> None:
    env = new_env(server)
    connection = env.connect("org-1")
    response = env.install("org-1", connectionId=connection["id"])
    assert response.status_code == 201, response.text
    assert response.headers["content-type"] == "application/json"
    assert ACCESS not in response.text and REFRESH not in response.text
    installation = response.json()
    config = installation["config"]
    assert UUID.match(installation["id"]) and UUID.match(config["id"])
    assert RFC3339.match(installation["createTime"]) and RFC3339.match(config["createTime"])
    assert installation == {
        "id": installation["id"],
        "projectId": env.project["id"],
        "integrationId": env.salesforce["id"],
        "group": connection["group"],
        "connection": connection,
        "config": {
            "id": config["id"],
            "revisionId": env.salesforce["latestRevision"]["id"],
            "createTime": config["createTime"],
            "createdBy": "api:create-installation",
            "content": {"provider": "salesforce", **CONTENT},
        },
        "healthStatus": "healthy",
        "createdBy": "api:create-installation",
        "createTime": installation["createTime"],
    }


def test_create_uses_group_connection_and_created_by(server: Any) -> None:
    env = new_env(server)
    env.connect("org-1", provider="hubspot")  # another provider's connection is not picked
    connection = env.connect("org-1")
    installation = env.installed("org-1", config={"content": CONTENT, "createdBy": "builder:jane"})
    assert installation["connection"]["id"] == connection["id"]
    assert installation["createdBy"] == "builder:jane"
    assert installation["config"]["createdBy"] == "builder:jane"


def test_second_installation_for_group_conflicts(server: Any) -> None:
    env = new_env(server)
    env.connect("org-1")
    first = env.installed("org-1")
    problem = assert_problem(env.install("org-1"), 409)
    assert "org-1" in problem["detail"] and first["id"] in problem["detail"]
    assert problem["context"] == {"installationId": first["id"]}
    assert "PATCH" in problem["remedy"]
    assert [i["id"] for i in env.client.get(env.installations()).json()] == [first["id"]]


def test_group_without_connection(server: Any) -> None:
    env = new_env(server)
    # The group exists (it has a HubSpot connection) but has no Salesforce connection.
    env.connect("org-1", provider="hubspot")
    problem = assert_problem(env.install("org-1"), 400)
    assert issue_names(problem) == ["groupRef"]
    assert "salesforce" in problem["detail"]
    assert "connections:generate" in problem["remedy"]

    unknown = assert_problem(env.install("no-such-group"), 400)
    assert issue_names(unknown) == ["groupRef"]
    assert "no-such-group" in unknown["detail"]
    assert env.client.get(f"{env.p}/installations").json() == []


def test_connection_of_another_group_or_provider(server: Any) -> None:
    env = new_env(server)
    env.connect("org-1")
    other_group = env.connect("org-2")
    hubspot = env.connect("org-1", provider="hubspot")
    problem = assert_problem(env.install("org-1", connectionId=other_group["id"]), 400)
    assert issue_names(problem) == ["connectionId"]
    assert "another group" in problem["detail"]

    problem = assert_problem(env.install("org-1", connectionId=hubspot["id"]), 400)
    assert issue_names(problem) == ["connectionId"]
    assert "hubspot" in problem["detail"]

    missing = env.install("org-1", connectionId="00000000-0000-4000-8000-000000000000")
    assert_problem(missing, 404)
    assert env.client.get(f"{env.p}/installations").json() == []


def test_list_get_and_filters(server: Any) -> None:
    env = new_env(server)
    env.connect("org-1")
    env.connect("org-2")
    env.connect("org-1", provider="hubspot")
    sf_1 = env.installed("org-1")
    sf_2 = env.installed("org-2")
    hs_1 = env.installed(
        "org-1",
        integration=env.hubspot["id"],
        content={"write": {"objects": {"contacts": {"objectName": "contacts"}}}},
    )
    assert hs_1["config"]["content"]["provider"] == "hubspot"

    def ids(url: str, **params: str) -> list[str]:
        response = env.client.get(url, params=params)
        assert response.status_code == 200, response.text
        assert ACCESS not in response.text
        return [i["id"] for i in response.json()]

    assert env.client.get(env.installations()).json() == [sf_1, sf_2]
    assert ids(env.installations(env.hubspot["id"])) == [hs_1["id"]]
    assert ids(env.installations(), groupRef="org-2") == [sf_2["id"]]
    assert ids(env.installations(), groupRef="nobody") == []
    assert ids(f"{env.p}/installations") == [sf_1["id"], sf_2["id"], hs_1["id"]]
    assert ids(f"{env.p}/installations", groupRef="org-1") == [sf_1["id"], hs_1["id"]]

    got = env.client.get(f"{env.installations()}/{sf_2['id']}")
    assert got.status_code == 200
    assert got.json() == sf_2
    # An installation is only found under its own integration.
    assert_problem(env.client.get(f"{env.installations(env.hubspot['id'])}/{sf_2['id']}"), 404)


def test_integration_by_name(server: Any) -> None:
    env = new_env(server)
    env.connect("org-1")
    response = env.install("org-1", integration="write-to-salesforce")
    assert response.status_code == 201, response.text
    installation = response.json()
    assert installation["integrationId"] == env.salesforce["id"]
    by_name = env.installations("write-to-salesforce")
    assert env.client.get(by_name).json() == [installation]
    assert env.client.get(f"{by_name}/{installation['id']}").json() == installation
    patched = env.client.patch(
        f"{by_name}/{installation['id']}",
        json={"updateMask": ["config.createdBy"], "installation": {"config": {"createdBy": "x"}}},
    )
    assert patched.status_code == 200, patched.text
    url = f"{env.p}/integrations/write-to-salesforce/objects/contact/config-content"
    by_name_patch = env.client.patch(
        url,
        json={
            "groupRef": "org-1",
            "action": "write",
            "changes": [{"op": "add", "path": "/deletionSettings", "value": {"enabled": True}}],
        },
    )
    assert by_name_patch.status_code == 200, by_name_patch.text
    assert env.client.delete(f"{by_name}/{installation['id']}").status_code == 204
    assert_problem(env.client.get(env.installations("write-to-nowhere")), 404)


def test_patch_with_update_mask_creates_new_config(server: Any) -> None:
    env = new_env(server)
    env.connect("org-1")
    installation = env.installed("org-1")
    url = f"{env.installations()}/{installation['id']}"
    new_contact = {
        "objectName": "contact",
        "deletionSettings": {"enabled": True},
        "selectedFieldSettings": {"notes": {"writeOnUpdate": "ifEmpty"}},
    }
    response = env.client.patch(
        url,
        json={
            "updateMask": ["config.content.write.objects.contact"],
            "installation": {
                "config": {
                    "content": {
                        "write": {
                            "objects": {
                                "contact": new_contact,
                                # Not in the mask, so ignored.
                                "account": {"objectName": "account", "junk": 1},
                            }
                        }
                    }
                }
            },
        },
    )
    assert response.status_code == 200, response.text
    patched = response.json()
    old_config, new_config = installation["config"], patched["config"]
    assert new_config["id"] != old_config["id"]
    assert UUID.match(new_config["id"])
    assert new_config["revisionId"] == old_config["revisionId"]
    assert new_config["createdBy"] == old_config["createdBy"]
    assert new_config["content"] == {
        "provider": "salesforce",
        "write": {"objects": {"account": {"objectName": "account"}, "contact": new_contact}},
    }
    assert patched["id"] == installation["id"]
    assert patched["connection"] == installation["connection"]
    assert RFC3339.match(patched["updateTime"])
    assert env.client.get(url).json() == patched

    # A mask without a value in the body removes that object.
    removed = env.client.patch(
        url, json={"updateMask": ["config.content.write.objects.contact"], "installation": {}}
    )
    assert removed.status_code == 200, removed.text
    assert removed.json()["config"]["content"]["write"]["objects"] == {
        "account": {"objectName": "account"}
    }
    assert removed.json()["config"]["id"] not in (old_config["id"], new_config["id"])


def test_patch_whole_write_objects_and_proxy(server: Any) -> None:
    env = new_env(server)
    env.connect("org-1")
    installation = env.installed("org-1")
    url = f"{env.installations()}/{installation['id']}"
    response = env.client.patch(
        url,
        json={
            "updateMask": ["config.content.write.objects", "config.content.proxy.enabled"],
            "installation": {
                "config": {
                    "content": {
                        "write": {"objects": {"touchpoints__c": {"objectName": "touchpoints__c"}}},
                        "proxy": {"enabled": True},
                    }
                }
            },
        },
    )
    assert response.status_code == 200, response.text
    assert response.json()["config"]["content"] == {
        "provider": "salesforce",
        "write": {"objects": {"touchpoints__c": {"objectName": "touchpoints__c"}}},
        "proxy": {"enabled": True},
    }
    bad = env.client.patch(
        url,
        json={
            "updateMask": ["config.content.proxy.enabled"],
            "installation": {"config": {"content": {"proxy": {"enabled": "yes"}}}},
        },
    )
    problem = assert_problem(bad, 422)
    assert issue_names(problem) == ["installation.config.content.proxy.enabled"]
    assert env.client.get(url).json() == response.json()


def test_patch_created_by_and_unchanged_config(server: Any) -> None:
    env = new_env(server)
    env.connect("org-1")
    installation = env.installed("org-1")
    url = f"{env.installations()}/{installation['id']}"
    response = env.client.patch(
        url,
        json={
            "updateMask": ["config.createdBy"],
            "installation": {"config": {"createdBy": "builder:ops"}},
        },
    )
    assert response.status_code == 200, response.text
    config = response.json()["config"]
    assert config["createdBy"] == "builder:ops"
    assert config["content"] == installation["config"]["content"]
    assert config["id"] != installation["config"]["id"]
    # The installation's own createdBy records who created it and does not change.
    assert response.json()["createdBy"] == "api:create-installation"

    # Sending the same value again changes nothing and writes no new config.
    same = env.client.patch(
        url,
        json={
            "updateMask": ["config.createdBy"],
            "installation": {"config": {"createdBy": "builder:ops"}},
        },
    )
    assert same.status_code == 200, same.text
    assert same.json()["config"]["id"] == config["id"]


def test_invalid_update_mask(server: Any) -> None:
    env = new_env(server)
    env.connect("org-1")
    installation = env.installed("org-1")
    url = f"{env.installations()}/{installation['id']}"
    for mask in (["config.content.provider"], ["groupRef"], ["config.content.write.objects.*"]):
        problem = assert_problem(
            env.client.patch(url, json={"updateMask": mask, "installation": {}}), 400
        )
        assert issue_names(problem) == ["updateMask"]
        assert mask[0] in problem["detail"]
        assert problem["remedy"].startswith("Allowed masks: ")
        for allowed in (
            "connectionId",
            "config.createdBy",
            "config.content.write.objects.*",
            "config.content.write.objects",
            "config.content.read.objects.*",
            "config.content.proxy.enabled",
        ):
            assert allowed in problem["remedy"]
    empty = env.client.patch(url, json={"updateMask": [], "installation": {}})
    assert issue_names(assert_problem(empty, 400)) == ["updateMask"]
    assert env.client.get(url).json() == installation


def test_patch_connection_id(server: Any) -> None:
    env = new_env(server)
    first = env.connect("org-1")
    installation = env.installed("org-1", connectionId=first["id"])
    second = env.connect("org-1")
    other_group = env.connect("org-2")
    hubspot = env.connect("org-1", provider="hubspot")
    url = f"{env.installations()}/{installation['id']}"

    response = env.client.patch(
        url,
        json={"updateMask": ["connectionId"], "installation": {"connectionId": second["id"]}},
    )
    assert response.status_code == 200, response.text
    assert response.json()["connection"] == second
    # Only the connection changed: the config is the same version.
    assert response.json()["config"] == installation["config"]
    # The old connection is no longer in use, so it can be deleted.
    assert env.client.delete(f"{env.p}/connections/{first['id']}").status_code == 204

    for bad, expected in ((other_group, "another group"), (hubspot, "hubspot")):
        problem = assert_problem(
            env.client.patch(
                url,
                json={"updateMask": ["connectionId"], "installation": {"connectionId": bad["id"]}},
            ),
            400,
        )
        assert issue_names(problem) == ["installation.connectionId"]
        assert expected in problem["detail"]
    missing = env.client.patch(url, json={"updateMask": ["connectionId"], "installation": {}})
    assert issue_names(assert_problem(missing, 400)) == ["installation.connectionId"]
    assert env.client.get(url).json()["connection"]["id"] == second["id"]


def test_patch_object_config_content(server: Any) -> None:
    env = new_env(server)
    env.connect("org-1")
    installation = env.installed("org-1")
    add_deletion = [{"op": "add", "path": "/deletionSettings", "value": {"enabled": True}}]
    response = env.patch_object(
        "contact", {"groupRef": "org-1", "action": "write", "changes": add_deletion}
    )
    assert response.status_code == 200, response.text
    patched = response.json()
    assert patched["id"] == installation["id"]
    assert patched["config"]["id"] != installation["config"]["id"]
    assert patched["config"]["createdBy"].startswith("api:")
    expected_contact = {
        **CONTENT["write"]["objects"]["contact"],
        "deletionSettings": {"enabled": True},
    }
    assert patched["config"]["content"] == {
        "provider": "salesforce",
        "write": {"objects": {"account": {"objectName": "account"}, "contact": expected_contact}},
    }

    # By installation id; an object without config yet starts from {"objectName": ...}.
    by_id = env.patch_object(
        "touchpoints__c",
        {
            "installationId": installation["id"],
            "action": "write",
            "changes": [
                {"op": "replace", "path": "/objectName", "value": "touchpoints__c"},
                {"op": "add", "path": "/selectedFieldSettings", "value": {}},
                {
                    "op": "add",
                    "path": "/selectedFieldSettings/channel",
                    "value": {"default": {"stringValue": "email"}},
                },
            ],
        },
    )
    assert by_id.status_code == 200, by_id.text
    objects = by_id.json()["config"]["content"]["write"]["objects"]
    assert objects["touchpoints__c"] == {
        "objectName": "touchpoints__c",
        "selectedFieldSettings": {"channel": {"default": {"stringValue": "email"}}},
    }
    assert objects["contact"] == expected_contact

    remove = env.patch_object(
        "contact",
        {
            "groupRef": "org-1",
            "action": "write",
            "changes": [{"op": "remove", "path": "/selectedFieldSettings/source"}],
        },
    )
    assert remove.status_code == 200, remove.text
    assert remove.json()["config"]["content"]["write"]["objects"]["contact"] == {
        "objectName": "contact",
        "selectedFieldSettings": {},
        "deletionSettings": {"enabled": True},
    }
    got = env.client.get(f"{env.installations()}/{installation['id']}")
    assert got.json() == remove.json()


def test_patch_object_config_content_errors(server: Any) -> None:
    env = new_env(server)
    env.connect("org-1")
    env.connect("org-2")
    installation = env.installed("org-1")
    url = f"{env.installations()}/{installation['id']}"
    change = [{"op": "add", "path": "/deletionSettings", "value": {"enabled": True}}]

    for target in ({}, {"groupRef": "org-1", "installationId": installation["id"]}):
        problem = assert_problem(
            env.patch_object("contact", {**target, "action": "write", "changes": change}), 400
        )
        assert "groupRef" in problem["detail"] and "installationId" in problem["detail"]

    problem = assert_problem(
        env.patch_object(
            "opportunity", {"groupRef": "org-1", "action": "write", "changes": change}
        ),
        404,
    )
    assert issue_names(problem) == ["objectName"]
    assert "opportunity" in problem["detail"]
    assert "account, contact, touchpoints__c" in problem["remedy"]
    # touchpoints__c is a write object only, so it is not found for "read".
    problem = assert_problem(
        env.patch_object(
            "touchpoints__c", {"groupRef": "org-1", "action": "read", "changes": change}
        ),
        404,
    )
    assert issue_names(problem) == ["objectName"]

    problem = assert_problem(
        env.patch_object(
            "contact",
            {
                "groupRef": "org-1",
                "action": "write",
                "changes": [
                    *change,
                    {"op": "replace", "path": "/nothing/here", "value": 1},
                ],
            },
        ),
        400,
    )
    assert issue_names(problem) == ["changes[1]"]
    assert "/nothing/here" in problem["detail"]

    bad_op = env.patch_object(
        "contact", {"groupRef": "org-1", "action": "write", "changes": [{"op": "merge"}]}
    )
    assert issue_names(assert_problem(bad_op, 400)) == ["changes[0]"]

    empty = env.patch_object("contact", {"groupRef": "org-1", "action": "write", "changes": []})
    assert issue_names(assert_problem(empty, 400)) == ["changes"]

    bad_action = env.patch_object(
        "contact", {"groupRef": "org-1", "action": "delete", "changes": change}
    )
    assert issue_names(assert_problem(bad_action, 400)) == ["action"]

    # The patched object must still be a valid config.
    invalid = env.patch_object(
        "contact",
        {
            "groupRef": "org-1",
            "action": "write",
            "changes": [{"op": "add", "path": "/deletionSettings", "value": {"enabled": "yes"}}],
        },
    )
    problem = assert_problem(invalid, 422)
    assert issue_names(problem) == ["config.content.write.objects.contact.deletionSettings.enabled"]

    no_installation = env.patch_object(
        "contact", {"groupRef": "org-2", "action": "write", "changes": change}
    )
    assert "org-2" in assert_problem(no_installation, 404)["detail"]
    unknown_id = env.patch_object(
        "contact",
        {
            "installationId": "00000000-0000-4000-8000-000000000000",
            "action": "write",
            "changes": change,
        },
    )
    assert_problem(unknown_id, 404)
    # Nothing above changed the installation.
    assert env.client.get(url).json() == installation


def create_problem(env: Env, content: Any) -> dict[str, Any]:
    return assert_problem(env.install("org-1", content=content), 422)


def test_config_content_validation_names_the_path(server: Any) -> None:
    env = new_env(server)
    env.connect("org-1")
    prefix = "config.content.write.objects"

    problem = create_problem(
        env,
        {
            "write": {
                "objects": {
                    "contact": {
                        "objectName": "contact",
                        "selectedFieldSettings": {"source": {"default": {"integerValue": "5"}}},
                    }
                }
            }
        },
    )
    name = f"{prefix}.contact.selectedFieldSettings.source.default.integerValue"
    assert issue_names(problem) == [name]
    assert name in problem["detail"]
    assert problem["remedy"]

    problem = create_problem(
        env, {"write": {"objects": {"opportunity": {"objectName": "opportunity"}}}}
    )
    assert issue_names(problem) == [f"{prefix}.opportunity"]
    assert "account, contact, touchpoints__c" in problem["detail"]

    problem = create_problem(
        env,
        {
            "write": {
                "objects": {
                    "contact": {
                        "objectName": "contact",
                        "selectedFieldSettings": {"notes": {"writeOnUpdate": "sometimes"}},
                    }
                }
            }
        },
    )
    assert issue_names(problem) == [f"{prefix}.contact.selectedFieldSettings.notes.writeOnUpdate"]

    problem = create_problem(
        env, {"write": {"objects": {"contact": {"objectName": "contact", "colour": "red"}}}}
    )
    assert issue_names(problem) == [f"{prefix}.contact.colour"]
    assert problem["issues"][0]["detail"] == "unknown field"

    problem = create_problem(env, {"write": {"objects": {"contact": {"objectName": "account"}}}})
    assert issue_names(problem) == [f"{prefix}.contact.objectName"]

    problem = create_problem(
        env, {"provider": "hubspot", "write": {"objects": {"contact": {"objectName": "contact"}}}}
    )
    assert issue_names(problem) == ["config.content.provider"]

    problem = create_problem(
        env,
        {
            "write": {
                "objects": {
                    "contact": {
                        "objectName": "contact",
                        "selectedFieldSettings": {
                            "a": {"default": {"stringValue": "x", "booleanValue": True}}
                        },
                    }
                }
            }
        },
    )
    assert issue_names(problem) == [f"{prefix}.contact.selectedFieldSettings.a.default"]

    # Several problems are all reported.
    problem = create_problem(
        env,
        {
            "write": {
                "objects": {
                    "contact": {"objectName": "contact", "deletionSettings": {}},
                    "account": {"objectName": "account", "x": 1},
                }
            }
        },
    )
    assert sorted(issue_names(problem)) == [
        f"{prefix}.account.x",
        f"{prefix}.contact.deletionSettings.enabled",
    ]
    assert env.client.get(f"{env.p}/installations").json() == []


def test_update_validation_names_the_request_path(server: Any) -> None:
    env = new_env(server)
    env.connect("org-1")
    installation = env.installed("org-1")
    url = f"{env.installations()}/{installation['id']}"
    response = env.client.patch(
        url,
        json={
            "updateMask": ["config.content.write.objects.contact"],
            "installation": {
                "config": {
                    "content": {
                        "write": {
                            "objects": {
                                "contact": {
                                    "objectName": "contact",
                                    "selectedFieldSettings": {"x": {"writeOnCreate": "ifEmpty"}},
                                }
                            }
                        }
                    }
                }
            },
        },
    )
    problem = assert_problem(response, 422)
    assert issue_names(problem) == [
        "installation.config.content.write.objects.contact.selectedFieldSettings.x.writeOnCreate"
    ]
    undeclared = env.client.patch(
        url,
        json={
            "updateMask": ["config.content.write.objects.lead"],
            "installation": {
                "config": {"content": {"write": {"objects": {"lead": {"objectName": "lead"}}}}}
            },
        },
    )
    problem = assert_problem(undeclared, 422)
    assert issue_names(problem) == ["installation.config.content.write.objects.lead"]
    assert env.client.get(url).json() == installation


def test_redeploy_then_patch_records_new_revision(server: Any) -> None:
    env = new_env(server)
    env.connect("org-1")
    installation = env.installed("org-1")
    first_revision = env.salesforce["latestRevision"]["id"]
    assert installation["config"]["revisionId"] == first_revision
    redeployed = {i["name"]: i for i in deploy(env.client, env.project["id"])}
    new_revision = redeployed["write-to-salesforce"]["latestRevision"]["id"]
    assert new_revision != first_revision

    url = f"{env.installations()}/{installation['id']}"
    # Reading does not move the installation to the new revision.
    assert env.client.get(url).json()["config"]["revisionId"] == first_revision
    response = env.patch_object(
        "account",
        {
            "groupRef": "org-1",
            "action": "write",
            "changes": [{"op": "add", "path": "/deletionSettings", "value": {"enabled": False}}],
        },
    )
    assert response.status_code == 200, response.text
    assert response.json()["config"]["revisionId"] == new_revision

    third = {i["name"]: i for i in deploy(env.client, env.project["id"])}
    third_revision = third["write-to-salesforce"]["latestRevision"]["id"]
    updated = env.client.patch(
        url,
        json={
            "updateMask": ["config.content.write.objects.touchpoints__c"],
            "installation": {
                "config": {
                    "content": {
                        "write": {"objects": {"touchpoints__c": {"objectName": "touchpoints__c"}}}
                    }
                }
            },
        },
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["config"]["revisionId"] == third_revision


def test_delete_installation_deletes_unused_connection(server: Any) -> None:
    env = new_env(server)
    connection = env.connect("org-1")
    env.connect("org-1", provider="hubspot")
    installation = env.installed("org-1")
    hubspot_installation = env.installed(
        "org-1",
        integration=env.hubspot["id"],
        content={"write": {"objects": {"contacts": {"objectName": "contacts"}}}},
    )
    url = f"{env.installations()}/{installation['id']}"
    response = env.client.delete(url)
    assert response.status_code == 204
    assert response.content == b""
    assert_problem(env.client.get(url), 404)
    assert_problem(env.client.delete(url), 404)
    assert_problem(env.client.get(f"{env.p}/connections/{connection['id']}"), 404)
    # The other installation and its connection are untouched.
    assert env.client.get(f"{env.p}/installations").json() == [hubspot_installation]
    hubspot_connection = hubspot_installation["connection"]["id"]
    assert env.client.get(f"{env.p}/connections/{hubspot_connection}").status_code == 200
    # The group can install again once it has a connection.
    env.connect("org-1")
    assert env.install("org-1").status_code == 201


def test_delete_installation_keeps_connection_still_in_use(server: Any) -> None:
    env = new_env(server)
    connection = env.connect("org-1")
    # A second Salesforce integration using the same connection.
    extra = deploy(
        env.client,
        env.project["id"],
        "specVersion: 1.0.0\nintegrations:\n  - name: sf-two\n    provider: salesforce\n"
        "    write:\n      objects:\n        - objectName: lead\n",
    )[0]
    first = env.installed("org-1", connectionId=connection["id"])
    second = env.installed(
        "org-1",
        integration=extra["id"],
        connectionId=connection["id"],
        content={"write": {"objects": {"lead": {"objectName": "lead"}}}},
    )
    assert second["connection"]["id"] == connection["id"]
    assert env.client.delete(f"{env.installations()}/{first['id']}").status_code == 204
    assert env.client.get(f"{env.p}/connections/{connection['id']}").status_code == 200


def test_deleting_integration_cascades(server: Any) -> None:
    env = new_env(server)
    connection = env.connect("org-1")
    installation = env.installed("org-1")
    url = f"{env.installations()}/{installation['id']}"
    response = env.client.delete(f"{env.p}/integrations/{env.salesforce['id']}")
    assert response.status_code == 204, response.text
    assert_problem(env.client.get(url), 404)
    assert env.client.get(f"{env.p}/installations").json() == []
    # as with deleting the installation itself, its now unused connection goes too
    assert_problem(env.client.get(f"{env.p}/connections/{connection['id']}"), 404)
    # Redeploying creates a new integration with no installations.
    again = {i["name"]: i for i in deploy(env.client, env.project["id"])}
    assert again["write-to-salesforce"]["id"] != env.salesforce["id"]
    assert env.client.get(env.installations(again["write-to-salesforce"]["id"])).json() == []


def test_other_projects_key_gets_404(server: Any) -> None:
    env = new_env(server)
    env.connect("org-1")
    installation = env.installed("org-1")
    other_project, other = server.new_project("other")
    url = f"{env.installations()}/{installation['id']}"
    patch_url = f"{env.p}/integrations/{env.salesforce['id']}/objects/contact/config-content"
    change = [{"op": "add", "path": "/deletionSettings", "value": {"enabled": True}}]
    for response in (
        other.get(url),
        other.get(env.installations()),
        other.get(f"{env.p}/installations"),
        other.post(env.installations(), json={"groupRef": "org-1", "config": {"content": {}}}),
        other.patch(url, json={"updateMask": ["config.createdBy"], "installation": {}}),
        other.patch(patch_url, json={"groupRef": "org-1", "action": "write", "changes": change}),
        other.delete(url),
    ):
        problem = assert_problem(response, 404)
        assert env.project["id"] in problem["detail"]
        assert ACCESS not in response.text

    # The integration and installation ids do not resolve under the other project either.
    deploy(other, other_project["id"])
    other_path = f"/projects/{other_project['id']}/integrations/{env.salesforce['id']}"
    problem = assert_problem(other.get(f"{other_path}/installations/{installation['id']}"), 404)
    assert env.salesforce["id"] in problem["detail"]
    by_name = f"/projects/{other_project['id']}/integrations/write-to-salesforce/installations"
    problem = assert_problem(other.get(f"{by_name}/{installation['id']}"), 404)
    assert installation["id"] in problem["detail"]
    assert other.get(f"/projects/{other_project['id']}/installations").json() == []
    assert env.client.get(url).json() == installation
