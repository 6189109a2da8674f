"""`validate` (local) and `deploy` (through the HTTP API) of amp.yaml manifests."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from writeback.cli.http import CliError
from writeback.cli.options import JsonOpt, KeyOpt, ProjectOpt, UrlOpt, client
from writeback.cli.output import console, emit, emit_json, errors
from writeback.manifest import format_issues, load_manifest_file

ManifestArg = Annotated[Path, typer.Argument(help="Path to amp.yaml.")]


def register(app: typer.Typer) -> None:
    app.command()(validate)
    app.command()(deploy)


def _issues_json(result: object) -> dict[str, object]:
    def one(found: object) -> dict[str, object]:
        return {
            "line": found.line,  # type: ignore[attr-defined]
            "path": found.path,  # type: ignore[attr-defined]
            "message": found.message,  # type: ignore[attr-defined]
            "text": str(found),
        }

    return {
        "ok": result.ok,  # type: ignore[attr-defined]
        "errors": [one(e) for e in result.errors],  # type: ignore[attr-defined]
        "warnings": [one(w) for w in result.warnings],  # type: ignore[attr-defined]
    }


def validate(path: ManifestArg, as_json: JsonOpt = False) -> None:
    """Check an amp.yaml: errors (exit 1) and warnings, each with file:line and key path."""
    if not path.exists():
        raise CliError(f"{path}: no such file")
    result = load_manifest_file(path)
    if as_json:
        emit_json(_issues_json(result))
    else:
        text = format_issues(result)
        (console if result.ok else errors).print(text, highlight=False, markup=False)
    if not result.ok:
        raise typer.Exit(1)


def deploy(
    path: ManifestArg,
    project: ProjectOpt,
    url: UrlOpt = None,
    api_key: KeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Deploy an amp.yaml to a project: each integration is upserted with a new revision."""
    if not path.exists():
        raise CliError(f"{path}: no such file")
    result = load_manifest_file(path)
    if not result.ok:
        errors.print(format_issues(result), highlight=False, markup=False)
        raise typer.Exit(1)
    if result.warnings and not as_json:
        errors.print(format_issues(result), highlight=False, markup=False)
    deployed = client(url, api_key).put(
        f"/projects/{project}/integrations:batch", {"sourceYaml": path.read_text()}
    )
    emit(
        deployed,
        as_json,
        [
            ("integration", "name"),
            ("id", "id"),
            ("provider", "provider"),
            ("revision", "latestRevision.id"),
        ],
        title=f"Deployed {path}",
    )
