"""Master keys with ids, the keyring's canary and digest key, and rotation, on real servers
over both databases: a wrong key is refused at start, "new,old" starts, `rotate` moves every
stored secret to the new key, and then the new key alone starts with every API key valid."""

from __future__ import annotations

import asyncio
import base64
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select, text

from conftest import BACKENDS, ServerThread, database_url
from connection_support import salesforce_connection
from writeback.api.app import asgi_app, create_app
from writeback.control.projects import create_api_key, create_project
from writeback.settings import Settings
from writeback.store.engine import create_engine, session_factory
from writeback.store.keyring import WrongMasterKey, open_secret_box
from writeback.store.migrate import upgrade_to_head
from writeback.store.rotation import (
    KeyUsage,
    RotationReport,
    encrypted_columns,
    key_usage,
    rotate,
)
from writeback.store.secrets import SecretBox, derive, legacy_digest_key
from writeback.store.tables import ProviderApp, Webhook

ACCESS_TOKEN = "00DAccessTokenForRotation"
REFRESH_TOKEN = "5AepRefreshTokenForRotation"
CLIENT_SECRET = "client-secret-for-rotation"
HOOK_SECRET, OLD_HOOK_SECRET = "whsec_current", "whsec_previous"


def new_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


@dataclass
class Database:
    backend: str
    home: Path
    url: str

    def settings(self, secret_key: str, **more: Any) -> Settings:
        return Settings(
            home=self.home,
            database_url=self.url,
            secret_key=secret_key,
            admin_key="wbadmin_" + "rotation-test-admin",
            **more,
        )


@pytest.fixture(params=BACKENDS)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Database:
    return Database(request.param, tmp_path, database_url(request.param, tmp_path, "rotation"))


@contextmanager
def serving(settings: Settings) -> Iterator[httpx.Client]:
    with ServerThread(asgi_app(create_app(settings))) as running:
        admin_key = settings.admin_key.get_secret_value() if settings.admin_key else ""
        with httpx.Client(
            base_url=running.url + "/v1", headers={"X-Api-Key": admin_key}, timeout=30
        ) as admin:
            yield admin


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


async def opened(settings: Settings) -> SecretBox:
    engine = create_engine(settings.database_url)
    try:
        return await open_secret_box(settings, engine)
    finally:
        await engine.dispose()


async def rotated(settings: Settings, box: SecretBox, batch_size: int = 200) -> RotationReport:
    engine = create_engine(settings.database_url)
    try:
        return await rotate(engine, box, batch_size=batch_size)
    finally:
        await engine.dispose()


async def usage_of(settings: Settings, box: SecretBox) -> KeyUsage:
    engine = create_engine(settings.database_url)
    try:
        return await key_usage(engine, box)
    finally:
        await engine.dispose()


async def add_webhook(settings: Settings, project_id: str) -> None:
    """A webhook mid-rotation of its own secret: both of its encrypted columns are set."""
    engine = create_engine(settings.database_url)
    box = SecretBox.from_settings(settings)
    try:
        async with session_factory(engine)() as session:
            session.add(
                Webhook(
                    project_id=project_id,
                    url="https://hooks.example.com/writeback",
                    secret_encrypted=box.encrypt(HOOK_SECRET),
                    previous_secret_encrypted=box.encrypt(OLD_HOOK_SECRET),
                )
            )
            await session.commit()
    finally:
        await engine.dispose()


async def stored_values(settings: Settings) -> list[str]:
    """Every value of every encrypted column, as stored."""
    engine = create_engine(settings.database_url)
    values = []
    try:
        async with engine.connect() as conn:
            for _table, columns in encrypted_columns():
                for row in await conn.execute(select(*columns)):
                    values.extend(v for v in row if v is not None)
    finally:
        await engine.dispose()
    return values


async def webhook_secrets(settings: Settings, box: SecretBox) -> tuple[str, str]:
    engine = create_engine(settings.database_url)
    try:
        async with session_factory(engine)() as session:
            hook = (await session.execute(select(Webhook))).scalar_one()
            assert hook.previous_secret_encrypted is not None
            return box.decrypt(hook.secret_encrypted), box.decrypt(hook.previous_secret_encrypted)
    finally:
        await engine.dispose()


def set_up(admin: httpx.Client) -> tuple[str, str, str]:
    """A project, an API key, a provider app and a connection with tokens."""
    project = admin.post("/projects", json={"name": "rot", "appName": "rot"}).json()
    p = project["id"]
    key = admin.post(f"/projects/{p}/api-keys", json={"label": "k"})
    assert key.status_code == 201, key.text
    app = admin.post(
        f"/projects/{p}/provider-apps",
        json={"provider": "salesforce", "clientId": "cid", "clientSecret": CLIENT_SECRET},
    )
    assert app.status_code == 200, app.text
    connection = admin.post(
        f"/projects/{p}/connections:generate",
        json=salesforce_connection(ACCESS_TOKEN, REFRESH_TOKEN),
    )
    assert connection.status_code == 201, connection.text
    return p, key.json()["key"], connection.json()["id"]


def api_url(admin: httpx.Client) -> str:
    return str(admin.base_url).rstrip("/")


def assert_everything_readable(
    admin: httpx.Client, project_id: str, api_key: str, connection_id: str
) -> None:
    # the project's API key still authenticates: the digest key survived the key change
    listed = httpx.get(
        f"{api_url(admin)}/projects/{project_id}/connections",
        headers={"X-Api-Key": api_key},
        timeout=30,
    )
    assert listed.status_code == 200, listed.text
    creds = admin.get(
        f"/projects/{project_id}/connections/{connection_id}", params={"includeCreds": "true"}
    )
    assert creds.status_code == 200, creds.text
    tokens = creds.json()["oauth2AuthorizationCode"]
    assert tokens["accessToken"]["token"] == ACCESS_TOKEN
    assert tokens["refreshToken"]["token"] == REFRESH_TOKEN


def test_wrong_key_refused_then_both_keys_then_rotated_to_the_new_one(database: Database) -> None:
    old, new = new_key(), new_key()
    with serving(database.settings(old)) as admin:
        project_id, api_key, connection_id = set_up(admin)
    run(add_webhook(database.settings(old), project_id))

    # a restart with another key is refused, saying which setting differs, showing no key
    with pytest.raises(WrongMasterKey) as refused:
        run(opened(database.settings(new)))
    message = str(refused.value)
    assert "WRITEBACK_SECRET_KEY differs from the master key this database was written with" in (
        message
    )
    assert old not in message and new not in message

    # "new,old": starts, and everything written with the old key reads
    both = database.settings(f"{new},{old}")
    with serving(both) as admin:
        assert_everything_readable(admin, project_id, api_key, connection_id)
    box = run(opened(both))
    new_id, old_id = box.key_ids
    usage = run(usage_of(both, box))
    assert usage.by_key[old_id] >= 6 and usage.by_key[new_id] == 0, usage

    report = run(rotated(both, box, batch_size=2))
    assert report.undecryptable == [] and report.changed_meanwhile == 0
    assert report.reencrypted == {
        "provider_app.client_secret_encrypted": 1,
        "connection.credentials_encrypted": 1,
        "webhook.secret_encrypted": 1,
        "webhook.previous_secret_encrypted": 1,
        "secret_keyring.value_encrypted": 2,  # the canary and the API-key digest key
    }
    again = run(rotated(both, box))
    assert sum(again.reencrypted.values()) == 0  # idempotent: nothing left to do
    usage = run(usage_of(both, box))
    assert usage.by_key == {new_id: 6}
    assert all(v.startswith(f"wbenc2:{new_id}:") for v in run(stored_values(both)))

    # the new key alone: starts, every API key valid, every secret readable
    alone = database.settings(new)
    with serving(alone) as admin:
        assert_everything_readable(admin, project_id, api_key, connection_id)
    assert run(webhook_secrets(alone, SecretBox.from_settings(alone))) == (
        HOOK_SECRET,
        OLD_HOOK_SECRET,
    )
    # ...and the old key alone is now the wrong one
    with pytest.raises(WrongMasterKey):
        run(opened(database.settings(old)))


def test_an_interrupted_rotation_leaves_everything_readable_and_finishes(
    database: Database,
) -> None:
    old, new = new_key(), new_key()
    with serving(database.settings(old)) as admin:
        set_up(admin)
        for n in range(4):
            project = admin.post("/projects", json={"name": f"p{n}", "appName": "a"}).json()
            made = admin.post(
                f"/projects/{project['id']}/provider-apps",
                json={"provider": "salesforce", "clientId": f"c{n}", "clientSecret": f"s{n}"},
            )
            assert made.status_code == 200, made.text
    both = database.settings(f"{new},{old}")
    box = run(opened(both))

    async def rotate_some(count: int) -> None:
        """What a rotation stopped half-way leaves: some rows with the new key, some not."""
        engine = create_engine(both.database_url)
        async with engine.begin() as conn:
            rows = (
                await conn.execute(select(ProviderApp.id, ProviderApp.client_secret_encrypted))
            ).all()
            for row_id, value in rows[:count]:
                await conn.execute(
                    ProviderApp.__table__.update()
                    .where(ProviderApp.id == row_id)
                    .values(client_secret_encrypted=box.reencrypt(value))
                )
        await engine.dispose()

    run(rotate_some(2))
    usage = run(usage_of(both, box))
    assert usage.by_column["provider_app.client_secret_encrypted"] == {
        box.key_ids[0]: 2,
        box.key_ids[1]: 3,
    }
    # the mixed state works: every value decrypts with "new,old"
    for value in run(stored_values(both)):
        box.decrypt(value)
    report = run(rotated(both, box, batch_size=1))
    assert report.reencrypted["provider_app.client_secret_encrypted"] == 3
    assert set(run(usage_of(both, box)).by_key) == {box.key_ids[0]}


def test_a_database_from_before_the_keyring_keeps_its_api_keys(database: Database) -> None:
    """API keys digested with the digest key derived from the master key (before the keyring)
    keep working; old `wbenc1:` ciphertexts decrypt; a wrong key is refused, not adopted."""
    key = new_key()
    settings = database.settings(key)
    legacy = SecretBox(key.encode(), legacy_digest_key(key.encode()))
    fernet = Fernet(base64.urlsafe_b64encode(derive(key.encode(), b"writeback/v1/encryption")))

    async def write_legacy_database() -> tuple[str, str]:
        engine = create_engine(settings.database_url)
        try:
            await upgrade_to_head(engine)
            async with session_factory(engine)() as session:
                project = await create_project(session, "legacy")
                made = await create_api_key(session, legacy, project_id=project.id, label="old")
                session.add(
                    ProviderApp(
                        project_id=project.id,
                        provider="salesforce",
                        client_id="cid",
                        client_secret_encrypted="wbenc1:" + fernet.encrypt(b"old-secret").decode(),
                    )
                )
                await session.commit()
                return project.id, made.secret
        finally:
            await engine.dispose()

    project_id, api_key = run(write_legacy_database())
    # another key first: refused (the old ciphertext does not decrypt), and no canary is
    # written with it
    with pytest.raises(WrongMasterKey):
        run(opened(database.settings(new_key())))
    box = run(opened(settings))
    assert box.digest(api_key) == legacy.digest(api_key)
    with serving(settings) as admin:
        answer = httpx.get(
            f"{api_url(admin)}/projects/{project_id}/connections",
            headers={"X-Api-Key": api_key},
            timeout=30,
        )
        assert answer.status_code == 200, answer.text
        listed = admin.get(f"/projects/{project_id}/provider-apps")
        assert listed.status_code == 200, listed.text


def test_a_fresh_database_gets_a_random_digest_key_agreed_by_concurrent_starts(
    database: Database,
) -> None:
    key = new_key()
    settings = database.settings(key)

    async def start_twice() -> list[SecretBox]:
        engine = create_engine(settings.database_url)
        await upgrade_to_head(engine)
        await engine.dispose()
        return list(await asyncio.gather(opened(settings), opened(settings), opened(settings)))

    boxes = run(start_twice())
    digests = {box.digest("wb_same") for box in boxes}
    assert len(digests) == 1
    derived = SecretBox(key.encode(), legacy_digest_key(key.encode()))
    assert digests != {derived.digest("wb_same")}  # independent of the master key

    async def keyring_rows() -> int:
        engine = create_engine(settings.database_url)
        try:
            async with engine.connect() as conn:
                return int(
                    (await conn.execute(text("select count(*) from secret_keyring"))).scalar_one()
                )
        finally:
            await engine.dispose()

    assert run(keyring_rows()) == 2
