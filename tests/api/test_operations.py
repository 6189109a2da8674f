"""Operations over real HTTP: get one, its logs, and the paginated list per installation.

Operations are made by the write path; here they are inserted straight into the store with
`tests/api/operation_seed.py` (the write path records through a group commit).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from api.operation_seed import add_log, finish_operation, start_operation
from writeback.store.engine import create_engine, session_factory
from writeback.store.tables import Installation, Operation

PROBLEM_JSON = "application/problem+json"
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
MISSING_ID = "00000000-0000-4000-8000-000000000000"

MANIFEST = """\
specVersion: 1.0.0
integrations:
  - name: write-to-salesforce
    provider: salesforce
    write:
      objects:
        - objectName: contact
        - objectName: account
"""


@dataclass
class Env:
    project: dict[str, Any]
    client: httpx.Client
    integration: dict[str, Any]
    installation: dict[str, Any]

    @property
    def p(self) -> str:
        return f"/projects/{self.project['id']}"

    @property
    def list_url(self) -> str:
        return (
            f"{self.p}/integrations/{self.integration['id']}"
            f"/installations/{self.installation['id']}/operations"
        )


def new_env(server: Any, group_ref: str = "org-1") -> Env:
    project, client = server.new_project()
    deployed = client.put(
        f"/projects/{project['id']}/integrations:batch", json={"sourceYaml": MANIFEST}
    )
    assert deployed.status_code == 200, deployed.text
    connection = client.post(
        f"/projects/{project['id']}/connections:generate",
        json={
            "groupRef": group_ref,
            "consumerRef": "user-1",
            "provider": "salesforce",
            "providerWorkspaceRef": "acme",
            "oauth2AuthorizationCode": {"refreshToken": {"token": "refresh-token"}},
        },
    )
    assert connection.status_code == 201, connection.text
    integration = deployed.json()[0]
    installation = client.post(
        f"/projects/{project['id']}/integrations/{integration['id']}/installations",
        json={
            "groupRef": group_ref,
            "config": {"content": {"write": {"objects": {"contact": {"objectName": "contact"}}}}},
        },
    )
    assert installation.status_code == 201, installation.text
    return Env(project, client, integration, installation.json())


@asynccontextmanager
async def database(server: Any) -> AsyncIterator[AsyncSession]:
    engine = create_engine(server.settings.database_url)
    try:
        async with session_factory(engine)() as session:
            yield session
    finally:
        await engine.dispose()


async def insert_operations(
    server: Any, env: Env, times: list[datetime], status: str = "success"
) -> list[str]:
    """One finished write operation per create time; returns their ids in insertion order."""
    ids = []
    async with database(server) as session:
        installation = await session.get(Installation, env.installation["id"])
        assert installation is not None
        for number, created in enumerate(times):
            operation = await start_operation(
                session,
                installation,
                action_type="write",
                config_id=env.installation["config"]["id"],
                metadata={"objects": ["contact"]},
            )
            operation.create_time = created
            finish_operation(operation, installation, status, f"write #{number}")
            ids.append(operation.id)
        await session.commit()
    return ids


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    body = response.json()
    assert body["status"] == status
    assert isinstance(body["detail"], str) and body["detail"]
    return body


def issue_names(body: dict[str, Any]) -> list[str]:
    return [entry["name"] for entry in body.get("issues") or []]


async def test_get_operation_and_logs(server: Any) -> None:
    env = new_env(server)
    async with database(server) as session:
        installation = await session.get(Installation, env.installation["id"])
        assert installation is not None
        operation = await start_operation(
            session,
            installation,
            action_type="write",
            config_id=env.installation["config"]["id"],
            metadata={"objects": ["contact"], "retry": {"attempts": 1}},
        )
        add_log(session, operation, "INFO", "writing 2 records to contact")
        add_log(
            session,
            operation,
            "ERROR",
            "Salesforce rejected a record",
            error="REQUIRED_FIELD_MISSING",
            details={"field": "LastName"},
        )
        await session.flush()
        finish_operation(operation, installation, "failure", "[contact] Error writing to provider")
        operation.op_metadata = {**operation.op_metadata, "successfulRecordIds": ["003A"]}
        await session.commit()
        operation_id = operation.id

    response = env.client.get(f"{env.p}/operations/{operation_id}")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert RFC3339.match(body["createTime"])
    assert RFC3339.match(body["updateTime"])
    assert body == {
        "id": operation_id,
        "projectId": env.project["id"],
        "integrationId": env.integration["id"],
        "installationId": env.installation["id"],
        "configId": env.installation["config"]["id"],
        "actionType": "write",
        "status": "failure",
        "result": "[contact] Error writing to provider",
        "metadata": {
            "objects": ["contact"],
            "retry": {"attempts": 1},
            "successfulRecordIds": ["003A"],
        },
        "createTime": body["createTime"],
        "updateTime": body["updateTime"],
    }
    # The project can be named instead of identified.
    by_name = env.client.get(f"/projects/{env.project['name']}/operations/{operation_id}")
    assert by_name.json() == body

    logs = env.client.get(f"{env.p}/operations/{operation_id}/logs")
    assert logs.status_code == 200, logs.text
    lines = logs.json()
    assert all(RFC3339.match(line["timestamp"]) for line in lines)
    assert lines == [
        {
            "timestamp": lines[0]["timestamp"],
            "severity": "INFO",
            "message": {"msg": "writing 2 records to contact", "operation_id": operation_id},
        },
        {
            "timestamp": lines[1]["timestamp"],
            "severity": "ERROR",
            "message": {
                "msg": "Salesforce rejected a record",
                "operation_id": operation_id,
                "error": "REQUIRED_FIELD_MISSING",
                "details": {"field": "LastName"},
            },
        },
    ]

    # finish_operation also records the outcome on the installation.
    installation_url = (
        f"{env.p}/integrations/{env.integration['id']}/installations/{env.installation['id']}"
    )
    assert env.client.get(installation_url).json()["lastOperationStatus"] == "failure"


async def test_in_progress_operation_without_logs(server: Any) -> None:
    env = new_env(server)
    async with database(server) as session:
        installation = await session.get(Installation, env.installation["id"])
        assert installation is not None
        operation = await start_operation(
            session, installation, action_type="write", config_id=None
        )
        await session.commit()
        operation_id = operation.id

    body = env.client.get(f"{env.p}/operations/{operation_id}").json()
    assert body == {
        "id": operation_id,
        "projectId": env.project["id"],
        "integrationId": env.integration["id"],
        "installationId": env.installation["id"],
        "actionType": "write",
        "status": "in_progress",
        "metadata": {},
        "createTime": body["createTime"],
    }
    logs = env.client.get(f"{env.p}/operations/{operation_id}/logs")
    assert logs.status_code == 200
    assert logs.json() == []


async def test_list_walks_every_page_newest_first(server: Any) -> None:
    env = new_env(server)
    base = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
    # Whole seconds, and three operations sharing one create time, so the cursor has to
    # break ties by id.
    times = [
        base,
        base + timedelta(seconds=1),
        base + timedelta(seconds=2),
        base + timedelta(seconds=2),
        base + timedelta(seconds=2),
        base + timedelta(seconds=3, microseconds=500),
        base + timedelta(minutes=5),
    ]
    ids = await insert_operations(server, env, times)
    # Another installation's operations never show up in this list.
    other = new_env(server)
    await insert_operations(server, other, [base + timedelta(seconds=2)])

    by_id = dict(zip(ids, times, strict=True))
    expected = sorted(ids, key=lambda i: (by_id[i], i), reverse=True)

    seen: list[str] = []
    token: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"pageSize": 2}
        if token is not None:
            params["pageToken"] = token
        response = env.client.get(env.list_url, params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == {"results", "pagination"}
        pages += 1
        assert 1 <= len(body["results"]) <= 2
        for operation in body["results"]:
            assert operation["installationId"] == env.installation["id"]
            assert operation["actionType"] == "write"
            assert operation["status"] == "success"
        seen += [operation["id"] for operation in body["results"]]
        pagination = body["pagination"]
        if pagination["done"]:
            assert pagination == {"done": True}
            break
        assert set(pagination) == {"done", "nextPageToken"}
        assert pagination["done"] is False
        token = pagination["nextPageToken"]
        assert isinstance(token, str) and token
        assert pages < 10, "pagination does not end"

    assert pages == 4
    assert len(seen) == len(set(seen))
    assert seen == expected
    assert seen[0] == ids[-1]

    everything = env.client.get(env.list_url).json()
    assert [o["id"] for o in everything["results"]] == expected
    assert everything["pagination"] == {"done": True}

    # A page that ends exactly at the last operation is already done.
    exact = env.client.get(env.list_url, params={"pageSize": len(ids)}).json()
    assert [o["id"] for o in exact["results"]] == expected
    assert exact["pagination"] == {"done": True}


async def test_list_empty_and_installation_status(server: Any) -> None:
    env = new_env(server)
    empty = env.client.get(env.list_url)
    assert empty.status_code == 200
    assert empty.json() == {"results": [], "pagination": {"done": True}}
    await insert_operations(server, env, [datetime(2026, 1, 1, tzinfo=UTC)], status="success")
    body = env.client.get(env.list_url).json()
    assert body["results"][0]["result"] == "write #0"
    assert body["results"][0]["createTime"] == "2026-01-01T00:00:00Z"
    installation_url = (
        f"{env.p}/integrations/{env.integration['id']}/installations/{env.installation['id']}"
    )
    assert env.client.get(installation_url).json()["lastOperationStatus"] == "success"
    # The integration may be addressed by name.
    by_name = (
        f"{env.p}/integrations/write-to-salesforce/installations/"
        f"{env.installation['id']}/operations"
    )
    assert env.client.get(by_name).json() == body


@pytest.mark.parametrize("size", ["0", "1001", "-1", "two"])
def test_bad_page_size(server: Any, size: str) -> None:
    env = new_env(server)
    problem = assert_problem(env.client.get(env.list_url, params={"pageSize": size}), 400)
    assert issue_names(problem) == ["pageSize"]
    assert problem["issues"][0]["in"] == "query"
    assert "pageSize" in problem["detail"]


def _token(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "token",
    [
        "garbage!",
        "x",
        _token({"a": 1}),
        _token(["not a time", "id"]),
        _token([1, 2]),
        _token(None),
        _token(["2026-01-01T00:00:00", MISSING_ID]),  # no time zone
        "é",
    ],
)
def test_bad_page_token(server: Any, token: str) -> None:
    env = new_env(server)
    response = env.client.get(env.list_url, params={"pageToken": token, "pageSize": 2})
    problem = assert_problem(response, 400)
    assert issue_names(problem) == ["pageToken"]
    assert problem["issues"][0]["in"] == "query"
    assert "pageToken" in problem["detail"]
    assert "nextPageToken" in problem["remedy"]


async def test_unknown_operation(server: Any) -> None:
    env = new_env(server)
    for operation_id in (MISSING_ID, "not-a-uuid"):
        for suffix in ("", "/logs"):
            problem = assert_problem(
                env.client.get(f"{env.p}/operations/{operation_id}{suffix}"), 404
            )
            assert operation_id in problem["detail"]
            assert "operation" in problem["remedy"].lower()
    missing_installation = (
        f"{env.p}/integrations/{env.integration['id']}/installations/{MISSING_ID}/operations"
    )
    assert MISSING_ID in assert_problem(env.client.get(missing_installation), 404)["detail"]
    missing_integration = (
        f"{env.p}/integrations/{MISSING_ID}/installations/{env.installation['id']}/operations"
    )
    assert_problem(env.client.get(missing_integration), 404)


async def test_other_projects_key_gets_404(server: Any) -> None:
    env = new_env(server)
    [operation_id] = await insert_operations(server, env, [datetime(2026, 1, 1, tzinfo=UTC)])
    other = new_env(server)
    for response in (
        other.client.get(f"{env.p}/operations/{operation_id}"),
        other.client.get(f"{env.p}/operations/{operation_id}/logs"),
        other.client.get(env.list_url),
    ):
        problem = assert_problem(response, 404)
        assert env.project["id"] in problem["detail"]
    # Under the other project's own path the operation does not exist either.
    for suffix in ("", "/logs"):
        problem = assert_problem(
            other.client.get(f"{other.p}/operations/{operation_id}{suffix}"), 404
        )
        assert operation_id in problem["detail"]
    foreign_installation = (
        f"{other.p}/integrations/{other.integration['id']}"
        f"/installations/{env.installation['id']}/operations"
    )
    assert_problem(other.client.get(foreign_installation), 404)
    assert env.client.get(f"{env.p}/operations/{operation_id}").status_code == 200


async def test_operations_go_with_their_installation(server: Any) -> None:
    env = new_env(server)
    [operation_id] = await insert_operations(server, env, [datetime(2026, 1, 1, tzinfo=UTC)])
    url = f"{env.p}/integrations/{env.integration['id']}/installations/{env.installation['id']}"
    assert env.client.delete(url).status_code == 204
    assert_problem(env.client.get(f"{env.p}/operations/{operation_id}"), 404)
    async with database(server) as session:
        assert await session.get(Operation, operation_id) is None
