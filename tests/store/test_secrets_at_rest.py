"""Secrets written through the API never appear in the raw database."""

from __future__ import annotations

import asyncio
import stat

import pytest
from sqlalchemy import text

from conftest import Server
from writeback.settings import Settings
from writeback.store.engine import create_engine
from writeback.store.secrets import SecretBox, SecretKeyError, load_master_key

ACCESS_TOKEN = "00DAccessTokenThatMustNeverBeStoredInClear123"
REFRESH_TOKEN = "5AepRefreshTokenThatMustNeverBeStoredInClear9"
CLIENT_SECRET = "client-secret-that-must-never-be-stored-in-clear"


async def _postgres_dump(url: str) -> bytes:
    """Every row of every table as text: what a database dump would reveal."""
    engine = create_engine(url)
    out = []
    async with engine.connect() as conn:
        tables = await conn.execute(
            text("select tablename from pg_tables where schemaname = 'public'")
        )
        for (table,) in tables.all():
            rows = await conn.execute(text(f'select t::text from "{table}" t'))
            out.extend(row[0] for row in rows)
    await engine.dispose()
    return "\n".join(out).encode()


def raw_database(server: Server) -> bytes:
    if server.backend == "sqlite":
        files = [server.home / "writeback.db", server.home / "writeback.db-wal"]
        return b"".join(f.read_bytes() for f in files if f.exists())
    return asyncio.run(_postgres_dump(server.settings.database_url))


def test_tokens_client_secrets_and_api_keys_are_not_in_the_database(server: Server) -> None:
    project, client = server.new_project()
    p = project["id"]
    api_key = client.post(f"/projects/{p}/api-keys", json={"label": "secret"}).json()["key"]
    app = client.post(
        f"/projects/{p}/provider-apps",
        json={"provider": "salesforce", "clientId": "cid", "clientSecret": CLIENT_SECRET},
    )
    assert app.status_code == 200 and CLIENT_SECRET not in app.text
    connection = client.post(
        f"/projects/{p}/connections:generate",
        json={
            "groupRef": "acme",
            "consumerRef": "jane",
            "provider": "salesforce",
            "providerWorkspaceRef": "acme",
            "oauth2AuthorizationCode": {
                "accessToken": {"token": ACCESS_TOKEN, "expiresAt": "2030-01-01T00:00:00Z"},
                "refreshToken": {"token": REFRESH_TOKEN},
            },
        },
    )
    assert connection.status_code == 201, connection.text
    assert ACCESS_TOKEN not in connection.text and REFRESH_TOKEN not in connection.text
    # ...but the API can still give them back to their owner on request
    creds = client.get(
        f"/projects/{p}/connections/{connection.json()['id']}", params={"includeCreds": "true"}
    ).json()["oauth2AuthorizationCode"]
    assert creds["accessToken"]["token"] == ACCESS_TOKEN
    assert creds["refreshToken"]["token"] == REFRESH_TOKEN

    dump = raw_database(server)
    assert b"acme" in dump  # the dump is real: plain data is visible in it
    for secret in (ACCESS_TOKEN, REFRESH_TOKEN, CLIENT_SECRET, api_key, server.admin_key):
        assert secret.encode() not in dump, secret[:8]


def test_generated_key_file_is_private(tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(home=tmp_path, database_url="sqlite+aiosqlite://", secret_key=None)
    key = load_master_key(settings)
    mode = stat.S_IMODE(settings.secret_key_file.stat().st_mode)
    assert mode == 0o600
    assert load_master_key(settings) == key  # reused, not regenerated


def test_key_file_readable_by_others_is_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(home=tmp_path, database_url="sqlite+aiosqlite://", secret_key=None)
    load_master_key(settings)
    settings.secret_key_file.chmod(0o644)
    with pytest.raises(SecretKeyError, match="chmod 600"):
        load_master_key(settings)


def test_wrong_key_cannot_decrypt_and_says_why() -> None:
    stored = SecretBox(b"key-one").encrypt("token")
    assert SecretBox(b"key-one").decrypt(stored) == "token"
    with pytest.raises(SecretKeyError, match="WRITEBACK_SECRET_KEY"):
        SecretBox(b"key-two").decrypt(stored)


def test_api_key_digest_is_keyed() -> None:
    one, two = SecretBox(b"key-one"), SecretBox(b"key-two")
    assert one.digest("wb_abc") == one.digest("wb_abc")
    assert one.digest("wb_abc") != two.digest("wb_abc")
    assert "wb_abc" not in one.digest("wb_abc")
