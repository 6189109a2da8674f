"""list / get / create for control-plane resources, through the HTTP API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from writeback.cli.http import CliError
from writeback.cli.options import JsonOpt, KeyOpt, ProjectOpt, UrlOpt, client
from writeback.cli.output import emit

PROJECT_COLUMNS = [("name", "name"), ("id", "id"), ("app", "appName"), ("created", "createTime")]
KEY_COLUMNS = [("label", "label"), ("id", "id"), ("prefix", "prefix"), ("active", "active")]
APP_COLUMNS = [("provider", "provider"), ("id", "id"), ("clientId", "clientId")]
INTEGRATION_COLUMNS = [
    ("name", "name"),
    ("id", "id"),
    ("provider", "provider"),
    ("revision", "latestRevision.id"),
]
CONNECTION_COLUMNS = [
    ("groupRef", "group.groupRef"),
    ("id", "id"),
    ("provider", "provider"),
    ("status", "status"),
]
INSTALLATION_COLUMNS = [
    ("groupRef", "group.groupRef"),
    ("id", "id"),
    ("connection", "connection.id"),
    ("config", "config.id"),
    ("last operation", "lastOperationStatus"),
]
OPERATION_COLUMNS = [
    ("id", "id"),
    ("status", "status"),
    ("result", "result"),
    ("created", "createTime"),
]
LOG_COLUMNS = [("time", "timestamp"), ("severity", "severity"), ("message", "message.msg")]

BodyFile = Annotated[
    Path, typer.Option("--body", help="JSON file with the request body, as the API takes it.")
]


def _read_body(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise CliError(f"{path}: no such file") from exc
    except json.JSONDecodeError as exc:
        raise CliError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from exc


projects = typer.Typer(help="Projects.", no_args_is_help=True)
keys = typer.Typer(help="API keys of a project.", no_args_is_help=True)
provider_apps = typer.Typer(help="Provider apps (OAuth clients).", no_args_is_help=True)
integrations = typer.Typer(help="Deployed integrations.", no_args_is_help=True)
connections = typer.Typer(help="Customers' connections (credentials).", no_args_is_help=True)
installations = typer.Typer(help="Installations of an integration.", no_args_is_help=True)
operations = typer.Typer(help="Operations and their logs.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(projects, name="projects")
    app.add_typer(keys, name="keys")
    app.add_typer(provider_apps, name="provider-apps")
    app.add_typer(integrations, name="integrations")
    app.add_typer(connections, name="connections")
    app.add_typer(installations, name="installations")
    app.add_typer(operations, name="operations")


@projects.command("list")
def projects_list(url: UrlOpt = None, api_key: KeyOpt = None, as_json: JsonOpt = False) -> None:
    emit(client(url, api_key).get("/projects"), as_json, PROJECT_COLUMNS)


@projects.command("get")
def projects_get(
    project: Annotated[str, typer.Argument(help="Project id or name.")],
    url: UrlOpt = None,
    api_key: KeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    emit(client(url, api_key).get(f"/projects/{project}"), as_json, PROJECT_COLUMNS)


@projects.command("create")
def projects_create(
    name: Annotated[str, typer.Argument(help="Project name (letters, digits, dashes).")],
    app_name: Annotated[str | None, typer.Option(help="Display name of your app.")] = None,
    url: UrlOpt = None,
    api_key: KeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a project (needs the admin key)."""
    body = {"name": name, "appName": app_name or name}
    emit(client(url, api_key).post("/projects", body), as_json, PROJECT_COLUMNS)


@keys.command("list")
def keys_list(
    project: ProjectOpt, url: UrlOpt = None, api_key: KeyOpt = None, as_json: JsonOpt = False
) -> None:
    emit(client(url, api_key).get(f"/projects/{project}/api-keys"), as_json, KEY_COLUMNS)


@keys.command("get")
def keys_get(
    key_id: Annotated[str, typer.Argument(help="API key id.")],
    project: ProjectOpt,
    url: UrlOpt = None,
    api_key: KeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    emit(client(url, api_key).get(f"/projects/{project}/api-keys/{key_id}"), as_json, KEY_COLUMNS)


@keys.command("create")
def keys_create(
    project: ProjectOpt,
    label: Annotated[str, typer.Option(help="What the key is for.")] = "cli",
    scope: Annotated[
        list[str] | None,
        typer.Option(
            help="write, read, manage, credentials or full (repeat); default: write, read, manage."
        ),
    ] = None,
    url: UrlOpt = None,
    api_key: KeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Create an API key; the key is printed once."""
    body: dict[str, object] = {"label": label}
    if scope:
        body["scopes"] = scope
    made = client(url, api_key).post(f"/projects/{project}/api-keys", body)
    emit(made, as_json, [("key (shown once)", "key"), *KEY_COLUMNS])


@provider_apps.command("list")
def provider_apps_list(
    project: ProjectOpt, url: UrlOpt = None, api_key: KeyOpt = None, as_json: JsonOpt = False
) -> None:
    emit(client(url, api_key).get(f"/projects/{project}/provider-apps"), as_json, APP_COLUMNS)


@provider_apps.command("get")
def provider_apps_get(
    app_id: Annotated[str, typer.Argument(help="Provider app id.")],
    project: ProjectOpt,
    url: UrlOpt = None,
    api_key: KeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    found = client(url, api_key).get(f"/projects/{project}/provider-apps/{app_id}")
    emit(found, as_json, APP_COLUMNS)


@provider_apps.command("create")
def provider_apps_create(
    project: ProjectOpt,
    provider: Annotated[str, typer.Option(help="salesforce or hubspot.")],
    client_id: Annotated[str, typer.Option(help="OAuth client id.")],
    client_secret: Annotated[
        str, typer.Option(help="OAuth client secret.", envvar="WRITEBACK_CLIENT_SECRET")
    ],
    scope: Annotated[list[str] | None, typer.Option(help="OAuth scope (repeat).")] = None,
    url: UrlOpt = None,
    api_key: KeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    body = {
        "provider": provider,
        "clientId": client_id,
        "clientSecret": client_secret,
        "scopes": scope or [],
    }
    emit(
        client(url, api_key).post(f"/projects/{project}/provider-apps", body), as_json, APP_COLUMNS
    )


@integrations.command("list")
def integrations_list(
    project: ProjectOpt, url: UrlOpt = None, api_key: KeyOpt = None, as_json: JsonOpt = False
) -> None:
    emit(
        client(url, api_key).get(f"/projects/{project}/integrations"), as_json, INTEGRATION_COLUMNS
    )


@integrations.command("get")
def integrations_get(
    integration: Annotated[str, typer.Argument(help="Integration id or name.")],
    project: ProjectOpt,
    url: UrlOpt = None,
    api_key: KeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    found = client(url, api_key).get(f"/projects/{project}/integrations/{integration}")
    emit(found, as_json, INTEGRATION_COLUMNS)


@connections.command("list")
def connections_list(
    project: ProjectOpt,
    group_ref: Annotated[str | None, typer.Option(help="Only this group.")] = None,
    url: UrlOpt = None,
    api_key: KeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    found = client(url, api_key).get(f"/projects/{project}/connections", groupRef=group_ref)
    emit(found, as_json, CONNECTION_COLUMNS)


@connections.command("get")
def connections_get(
    connection_id: Annotated[str, typer.Argument(help="Connection id.")],
    project: ProjectOpt,
    include_creds: Annotated[bool, typer.Option(help="Show the tokens.")] = False,
    url: UrlOpt = None,
    api_key: KeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    found = client(url, api_key).get(
        f"/projects/{project}/connections/{connection_id}",
        includeCreds=str(include_creds).lower(),
    )
    emit(found, as_json, CONNECTION_COLUMNS)


@connections.command("create")
def connections_create(
    project: ProjectOpt,
    body: BodyFile,
    url: UrlOpt = None,
    api_key: KeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Import credentials (POST …/connections:generate) from a JSON body file."""
    made = client(url, api_key).post(f"/projects/{project}/connections:generate", _read_body(body))
    emit(made, as_json, CONNECTION_COLUMNS)


IntegrationOpt = Annotated[str, typer.Option("--integration", "-i", help="Integration id or name.")]


@installations.command("list")
def installations_list(
    project: ProjectOpt,
    integration: Annotated[
        str | None, typer.Option("--integration", "-i", help="Only this integration.")
    ] = None,
    group_ref: Annotated[str | None, typer.Option(help="Only this group.")] = None,
    url: UrlOpt = None,
    api_key: KeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    path = f"/projects/{project}/installations"
    if integration:
        path = f"/projects/{project}/integrations/{integration}/installations"
    emit(client(url, api_key).get(path, groupRef=group_ref), as_json, INSTALLATION_COLUMNS)


@installations.command("get")
def installations_get(
    installation_id: Annotated[str, typer.Argument(help="Installation id.")],
    project: ProjectOpt,
    integration: IntegrationOpt,
    url: UrlOpt = None,
    api_key: KeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    path = f"/projects/{project}/integrations/{integration}/installations/{installation_id}"
    emit(client(url, api_key).get(path), as_json, INSTALLATION_COLUMNS)


@installations.command("create")
def installations_create(
    project: ProjectOpt,
    integration: IntegrationOpt,
    body: BodyFile,
    url: UrlOpt = None,
    api_key: KeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Install an integration for a group, from a JSON body file ({groupRef, config, ...})."""
    path = f"/projects/{project}/integrations/{integration}/installations"
    emit(client(url, api_key).post(path, _read_body(body)), as_json, INSTALLATION_COLUMNS)


@operations.command("get")
def operations_get(
    operation_id: Annotated[str, typer.Argument(help="Operation id.")],
    project: ProjectOpt,
    url: UrlOpt = None,
    api_key: KeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    found = client(url, api_key).get(f"/projects/{project}/operations/{operation_id}")
    emit(found, as_json, OPERATION_COLUMNS)


@operations.command("logs")
def operations_logs(
    operation_id: Annotated[str, typer.Argument(help="Operation id.")],
    project: ProjectOpt,
    url: UrlOpt = None,
    api_key: KeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    found = client(url, api_key).get(f"/projects/{project}/operations/{operation_id}/logs")
    emit(found, as_json, LOG_COLUMNS)


@operations.command("retry")
def operations_retry(
    operation_id: Annotated[str, typer.Argument(help="Operation id of a failed write.")],
    project: ProjectOpt,
    url: UrlOpt = None,
    api_key: KeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Replay a failed (or outcome-unknown) write: a new attempt on the same operation."""
    found = client(url, api_key).post(f"/projects/{project}/operations/{operation_id}:retry", {})
    emit(found, as_json, OPERATION_COLUMNS)


@operations.command("list")
def operations_list(
    project: ProjectOpt,
    integration: IntegrationOpt,
    installation: Annotated[str, typer.Option(help="Installation id.")],
    page_size: Annotated[int, typer.Option(help="Operations per page.")] = 50,
    page_token: Annotated[str | None, typer.Option(help="From a previous page.")] = None,
    url: UrlOpt = None,
    api_key: KeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    path = f"/projects/{project}/integrations/{integration}/installations/{installation}/operations"
    page = client(url, api_key).get(path, pageSize=page_size, pageToken=page_token)
    emit(page if as_json else page["results"], as_json, OPERATION_COLUMNS)
