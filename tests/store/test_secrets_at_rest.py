"""Secrets written through the API never appear in the raw database."""

from __future__ import annotations

import asyncio
import base64
import os
import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text

from conftest import Server
from connection_support import salesforce_connection
from writeback.settings import Settings, SettingsError
from writeback.store.engine import create_engine
from writeback.store.master_keys import generate_master_key
from writeback.store.secrets import (
    SecretBox,
    SecretKeyError,
    derive,
    load_master_key,
    load_master_keys,
)

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
    project, client = server.new_project(scopes=["full"])
    p = project["id"]
    api_key = client.post(f"/projects/{p}/api-keys", json={"label": "secret"}).json()["key"]
    app = client.post(
        f"/projects/{p}/provider-apps",
        json={"provider": "salesforce", "clientId": "cid", "clientSecret": CLIENT_SECRET},
    )
    assert app.status_code == 200 and CLIENT_SECRET not in app.text
    connection = client.post(
        f"/projects/{p}/connections:generate",
        json=salesforce_connection(ACCESS_TOKEN, REFRESH_TOKEN),
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


def test_ciphertexts_name_their_key_and_any_listed_key_decrypts() -> None:
    one, two = SecretBox(b"key-one"), SecretBox([b"key-two", b"key-one"])
    stored = one.encrypt("token")
    kid = one.key_ids[0]
    assert stored.startswith(f"wbenc2:{kid}:")
    assert two.key_ids == [SecretBox(b"key-two").key_ids[0], kid]
    assert two.decrypt(stored) == "token"  # the second key still decrypts
    assert two.encrypt("x").startswith(f"wbenc2:{two.key_ids[0]}:")  # the first encrypts
    assert not two.is_current(stored) and two.is_current(two.reencrypt(stored))
    with pytest.raises(SecretKeyError, match=f"key id {kid}, which is not among the keys"):
        SecretBox(b"key-three").decrypt(stored)


def test_old_format_ciphertexts_decrypt_with_any_listed_key() -> None:
    master = b"key-one"
    fernet = Fernet(base64.urlsafe_b64encode(derive(master, b"writeback/v1/encryption")))
    old = "wbenc1:" + fernet.encrypt(b"token").decode()
    box = SecretBox([b"key-two", master])
    assert box.decrypt(old) == "token"
    assert box.key_id_of(old) == box.key_ids[1]
    with pytest.raises(SecretKeyError, match="differs from the key"):
        SecretBox(b"key-two").decrypt(old)


def test_api_key_digest_is_keyed_by_the_digest_key_alone() -> None:
    digest_key = b"d" * 32
    one = SecretBox(b"key-one", digest_key)
    assert one.digest("wb_abc") == one.digest("wb_abc")
    assert "wb_abc" not in one.digest("wb_abc")
    # another master key, the same digest key: the same digests (rotation keeps API keys)
    assert SecretBox(b"key-two", digest_key).digest("wb_abc") == one.digest("wb_abc")
    assert SecretBox(b"key-one", b"e" * 32).digest("wb_abc") != one.digest("wb_abc")
    with pytest.raises(SecretKeyError, match="no API-key digest key"):
        SecretBox(b"key-one").digest("wb_abc")


def test_weak_keys_are_refused_without_showing_them(tmp_path: Path) -> None:
    for weak in ("password123", "a" * 44, "abc" * 20, "correct horse battery staple"):
        with pytest.raises(SettingsError, match="WRITEBACK_SECRET_KEY is too weak") as refused:
            Settings(home=tmp_path, secret_key=weak)
        assert weak not in str(refused.value)
    strong = generate_master_key()
    with pytest.raises(SettingsError, match="key 2 of 2 in WRITEBACK_SECRET_KEY is too weak"):
        Settings(home=tmp_path, secret_key=f"{strong},short")
    # what operators are told to use passes: ours, openssl rand -base64 32 / -hex 32
    for good in (strong, base64.b64encode(os.urandom(32)).decode(), os.urandom(32).hex()):
        assert Settings(home=tmp_path, secret_key=f"{good}, {strong}").secret_key is not None


def test_a_weak_key_file_is_refused(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, secret_key=None)
    settings.secret_key_file.write_text("hunter2\n")
    settings.secret_key_file.chmod(0o600)
    with pytest.raises(SecretKeyError, match=r"secret\.key .*is too weak"):
        load_master_keys(settings)


def test_the_key_file_may_list_several_keys(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, secret_key=None)
    first, second = generate_master_key(), generate_master_key()
    settings.secret_key_file.write_text(f"{first}\n{second}\n")
    settings.secret_key_file.chmod(0o600)
    master = load_master_keys(settings)
    assert master.keys == [first.encode(), second.encode()]
    assert str(settings.secret_key_file) in master.source
