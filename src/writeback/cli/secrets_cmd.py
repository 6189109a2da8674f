"""`writeback secrets`: generate a master key, rotate stored secrets to the first key, show
which key ids are in use (so an operator knows when an old key can be dropped)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import typer
from sqlalchemy.exc import OperationalError, ProgrammingError

from writeback.cli.http import CliError
from writeback.cli.output import console, emit_json, errors
from writeback.settings import Settings
from writeback.store.engine import check_database_url, create_engine
from writeback.store.keyring import open_secret_box
from writeback.store.master_keys import generate_master_key
from writeback.store.migrate import upgrade_to_head
from writeback.store.rotation import key_usage, rotate
from writeback.store.secrets import SecretBox

secrets_app = typer.Typer(
    help="Master keys: generate one, re-encrypt stored secrets, see which keys are in use.",
    no_args_is_help=True,
)
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


def register(app: typer.Typer) -> None:
    app.add_typer(secrets_app, name="secrets")


@secrets_app.command()
def generate() -> None:
    """Print a new strong master key (32 random bytes, URL-safe base64)."""
    print(generate_master_key())
    errors.print(
        "To rotate: put this key first in WRITEBACK_SECRET_KEY, the current key after it"
        " (comma-separated), restart every process, run `writeback secrets rotate`, then drop"
        " the old key.",
        style="dim",
    )


def _settings() -> Settings:
    settings = Settings.from_env()
    check_database_url(settings.database_url)  # cli.main reports a bad one
    return settings


async def _rotate(settings: Settings, batch_size: int) -> dict[str, Any]:
    engine = create_engine(settings.database_url)
    try:
        await upgrade_to_head(engine)
        # checks the keys against the database and settles the keyring before anything moves
        box = await open_secret_box(settings, engine)
        report = await rotate(engine, box, batch_size=batch_size)
    finally:
        await engine.dispose()
    return {
        "keyId": box.primary_key_id,
        "reencrypted": dict(report.reencrypted),
        "changedMeanwhile": report.changed_meanwhile,
        "undecryptable": report.undecryptable,
    }


@secrets_app.command("rotate")
def rotate_cmd(
    batch_size: Annotated[
        int, typer.Option(min=1, help="Rows re-encrypted per transaction.")
    ] = 200,
    as_json: JsonFlag = False,
) -> None:
    """Re-encrypt every stored secret with the first key of WRITEBACK_SECRET_KEY.

    Safe to interrupt and to re-run: values not yet rotated still decrypt with the old key."""
    done = asyncio.run(_rotate(_settings(), batch_size))
    if as_json:
        emit_json(done)
    else:
        total = sum(done["reencrypted"].values())
        console.print(f"Re-encrypted {total} value(s) with key id [bold]{done['keyId']}[/bold]")
        for column, count in sorted(done["reencrypted"].items()):
            console.print(f"  {column}: {count}")
        if done["changedMeanwhile"]:
            console.print(
                f"{done['changedMeanwhile']} value(s) changed while rotating: run it again",
                style="yellow",
            )
    if done["undecryptable"]:
        raise CliError(
            f"{len(done['undecryptable'])} value(s) could not be decrypted with any configured"
            f" key: {', '.join(done['undecryptable'][:10])}. Add the key they were written"
            " with after the first one and run `writeback secrets rotate` again."
        )


async def _status(settings: Settings) -> dict[str, Any]:
    box = SecretBox.from_settings(settings)  # read-only: nothing is written to the database
    engine = create_engine(settings.database_url)
    try:
        usage = await key_usage(engine, box)
    except (OperationalError, ProgrammingError) as exc:
        raise CliError(
            f"cannot read the database's secrets ({str(exc.orig).splitlines()[0]}); run"
            " `writeback migrate` first"
        ) from exc
    finally:
        await engine.dispose()
    configured = [
        {"keyId": kid, "position": n, "encryptsNewValues": n == 1, "values": usage.by_key[kid]}
        for n, kid in enumerate(box.key_ids, start=1)
    ]
    unknown = {kid: count for kid, count in usage.by_key.items() if kid not in box.key_ids}
    return {
        "keys": configured,
        "unconfiguredKeyIds": unknown,
        "undecryptable": usage.undecryptable,
        "byColumn": {column: dict(counts) for column, counts in sorted(usage.by_column.items())},
    }


@secrets_app.command()
def status(as_json: JsonFlag = False) -> None:
    """Which key ids encrypt how many stored values."""
    found = asyncio.run(_status(_settings()))
    if as_json:
        emit_json(found)
        return
    from rich.table import Table

    table = Table(title="Master keys (WRITEBACK_SECRET_KEY order)")
    for header in ("#", "key id", "role", "values"):
        table.add_column(header)
    for key in found["keys"]:
        role = "encrypts new values" if key["encryptsNewValues"] else "decrypts only"
        table.add_row(str(key["position"]), key["keyId"], role, str(key["values"]))
    console.print(table)
    for column, counts in found["byColumn"].items():
        console.print(f"  {column}: " + ", ".join(f"{k} {n}" for k, n in sorted(counts.items())))
    older = found["keys"][1:]
    pending = sum(key["values"] for key in older)
    if pending:
        console.print(
            f"{pending} value(s) still use older keys: run `writeback secrets rotate`.",
            style="yellow",
        )
    for key in older:
        if not key["values"]:
            console.print(f"Key id {key['keyId']} encrypts nothing: it can be removed.")
    if found["unconfiguredKeyIds"] or found["undecryptable"]:
        lost = sum(found["unconfiguredKeyIds"].values()) + found["undecryptable"]
        raise CliError(
            f"{lost} stored value(s) were written with a key that is not configured"
            f" (key ids: {', '.join(found['unconfiguredKeyIds']) or 'unknown'}); add it back"
        )
