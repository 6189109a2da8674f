"""The `writeback` command line, run as a real process."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

from conftest import Server, free_port

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def run(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    full_env.pop("WRITEBACK_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "writeback", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=ROOT,
        timeout=timeout,
    )


def test_init_creates_project_key_and_admin_key_once(tmp_path: Path) -> None:
    env = {"WRITEBACK_HOME": str(tmp_path), "WRITEBACK_ADMIN_KEY": ""}
    first = run("init", "--json", env=env)
    assert first.returncode == 0, first.stderr
    made = json.loads(first.stdout)
    assert made["projectName"] == "default"
    assert made["apiKey"].startswith("wb_") and made["adminKey"].startswith("wb_")
    assert (tmp_path / "writeback.db").exists()
    assert oct((tmp_path / "secret.key").stat().st_mode & 0o777) == "0o600"
    with closing(sqlite3.connect(tmp_path / "writeback.db")) as db:
        query = "select scopes from api_key where prefix = ?"
        (scopes,) = db.execute(query, (made["apiKey"][:10],)).fetchone()
    assert json.loads(scopes) == ["full"]  # init's key has every scope, credentials included
    second = json.loads(run("init", "--json", env=env).stdout)
    assert second["projectId"] == made["projectId"]
    assert second["apiKey"] != made["apiKey"]
    assert "adminKey" not in second
    named = json.loads(run("init", "--json", "--project", "Other-App", env=env).stdout)
    assert named["projectName"] == "other-app" and named["projectId"] != made["projectId"]


def test_init_rejects_a_bad_project_name(tmp_path: Path) -> None:
    result = run("init", "--project", "no spaces", env={"WRITEBACK_HOME": str(tmp_path)})
    assert result.returncode != 0
    assert "no spaces" in result.stderr and "letters, digits and dashes" in result.stderr


def test_migrate_and_a_bad_database_url(tmp_path: Path) -> None:
    ok = run("migrate", env={"WRITEBACK_HOME": str(tmp_path)})
    assert ok.returncode == 0 and "up to date" in ok.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "writeback", "migrate"],
        capture_output=True,
        text=True,
        env={**os.environ, "WRITEBACK_DATABASE_URL": "mysql://x@localhost/db"},
        timeout=60,
    )
    assert bad.returncode != 0
    assert "postgresql+asyncpg" in bad.stderr


def test_a_bad_setting_is_an_error_message_not_a_traceback(tmp_path: Path) -> None:
    result = run("worker", env={"WRITEBACK_HOME": str(tmp_path), "WRITEBACK_MAX_ATTEMPTS": "many"})
    assert result.returncode == 1
    assert "WRITEBACK_MAX_ATTEMPTS='many' is not an integer" in result.stderr
    assert "Traceback" not in result.stderr


def test_validate_good_and_bad_manifests() -> None:
    good = run("validate", str(EXAMPLES / "amp.yaml"))
    assert good.returncode == 0, good.stdout + good.stderr
    bad = run("validate", str(EXAMPLES / "invalid.amp.yaml"))
    assert bad.returncode == 1
    assert f"{EXAMPLES / 'invalid.amp.yaml'}:" in bad.stderr
    assert "duplicate object" in bad.stderr
    as_json = json.loads(run("validate", "--json", str(EXAMPLES / "invalid.amp.yaml")).stdout)
    assert as_json["ok"] is False
    assert all(isinstance(e["line"], int) for e in as_json["errors"])
    assert as_json["warnings"], "the invalid example has an unknown key, a warning"
    missing = run("validate", "nope.yaml")
    assert missing.returncode == 1 and "no such file" in missing.stderr


def test_deploy_and_resource_commands_through_the_api(server: Server, tmp_path: Path) -> None:
    project, client = server.new_project("cli")
    key = client.headers["X-Api-Key"]
    env = {
        "WRITEBACK_URL": server.url,
        "WRITEBACK_API_KEY": key,
        "WRITEBACK_PROJECT": project["name"],
    }

    deployed = run("deploy", str(EXAMPLES / "amp.yaml"), "--json", env=env)
    assert deployed.returncode == 0, deployed.stderr
    names = [i["name"] for i in json.loads(deployed.stdout)]
    assert names == ["write-to-salesforce", "write-to-hubspot"]
    table = run("integrations", "list", env=env)
    assert "write-to-salesforce" in table.stdout

    body = tmp_path / "connection.json"
    body.write_text(
        json.dumps(
            {
                "groupRef": "acme",
                "consumerRef": "jane",
                "provider": "hubspot",
                "apiKey": "pat-na1-secret-token",
            }
        )
    )
    connection = json.loads(
        run("connections", "create", "--body", str(body), "--json", env=env).stdout
    )
    assert connection["group"]["groupRef"] == "acme"
    assert "pat-na1-secret-token" not in json.dumps(connection)
    # tokens need the `credentials` scope, which a key does not get unless asked for
    refused = run("connections", "get", connection["id"], "--include-creds", "--json", env=env)
    assert refused.returncode == 1 and "`credentials`" in refused.stderr
    assert "pat-na1-secret-token" not in refused.stdout + refused.stderr
    admin = {**env, "WRITEBACK_API_KEY": server.admin_key}
    shown = run("connections", "get", connection["id"], "--include-creds", "--json", env=admin)
    assert json.loads(shown.stdout)["apiKey"] == "pat-na1-secret-token"

    install = tmp_path / "installation.json"
    install.write_text(
        json.dumps(
            {
                "groupRef": "acme",
                "config": {
                    "content": {"write": {"objects": {"contacts": {"objectName": "contacts"}}}}
                },
            }
        )
    )
    created = run(
        "installations",
        "create",
        "-i",
        "write-to-hubspot",
        "--body",
        str(install),
        "--json",
        env=env,
    )
    assert created.returncode == 0, created.stderr
    installation = json.loads(created.stdout)
    listed = json.loads(run("installations", "list", "--json", env=env).stdout)
    assert [i["id"] for i in listed] == [installation["id"]]
    operations = run(
        "operations",
        "list",
        "-i",
        "write-to-hubspot",
        "--installation",
        installation["id"],
        "--json",
        env=env,
    )
    assert json.loads(operations.stdout) == {"results": [], "pagination": {"done": True}}

    made_key = json.loads(run("keys", "create", "--label", "from-cli", "--json", env=env).stdout)
    assert made_key["key"].startswith("wb_")
    assert made_key["scopes"] == ["write", "read", "manage"]
    reader = run("keys", "create", "--label", "r", "--scope", "read", "--json", env=env)
    assert json.loads(reader.stdout)["scopes"] == ["read"]
    keys = json.loads(run("keys", "list", "--json", env=env).stdout)
    assert "from-cli" in [k["label"] for k in keys]
    projects = json.loads(run("projects", "list", "--json", env=env).stdout)
    assert [p["id"] for p in projects] == [project["id"]]


def test_cli_shows_api_problems_with_remedy(server: Server) -> None:
    project, client = server.new_project("cli")
    env = {"WRITEBACK_URL": server.url, "WRITEBACK_API_KEY": client.headers["X-Api-Key"]}
    result = run("projects", "create", "nope-" + project["name"], env=env)
    assert result.returncode == 1
    assert "HTTP 403" in result.stderr and "Remedy:" in result.stderr
    unreachable = run(
        "projects",
        "list",
        env={"WRITEBACK_URL": f"http://127.0.0.1:{free_port()}", "WRITEBACK_API_KEY": "x"},
    )
    assert unreachable.returncode == 1 and "Cannot reach writeback" in unreachable.stderr
    no_key = run("projects", "list", env={"WRITEBACK_URL": server.url, "WRITEBACK_API_KEY": ""})
    assert no_key.returncode == 1 and "No API key" in no_key.stderr


def test_demo_runs_end_to_end(tmp_path: Path) -> None:
    result = run(
        "demo",
        "--no-wait",
        "--home",
        str(tmp_path / "demo"),
        "--port",
        str(free_port()),
        "--sandbox-port",
        str(free_port()),
        timeout=180,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "write-to-salesforce writes: account, contact, touchpoints__c" in out
    assert "API key:" in out
    # the docs' examples ran for real and the sandbox holds their records
    assert "Harry James" in out  # created, then updated by id
    assert "harry@hogwarts.com" in out  # HubSpot contact created with association 279
    assert '"successCount": 2' in out and "REQUIRED_FIELD_MISSING" in out  # the batch
    assert "Gringotts Wizarding Bank" in out  # written through the companyName mapping
