"""The database's own secrets (table `secret_keyring`), and the full SecretBox built from them.

- `canary`: a known text encrypted with the master key. If no configured key decrypts it, the
  process was started with a key other than the one this database was written with: it
  refuses to start instead of failing every decryption and every API key later.
- `api-key-digest`: the key of API-key digests, encrypted with the master key, so a master key
  rotation re-encrypts it and every API key stays valid. A database that already has API keys
  from before the keyring keeps the digest key they were made with (derived from the master
  key); a new one gets a random key.

Both rows are written by the first process to start (after migrations); concurrent starts
agree on whichever row was inserted first.
"""

from __future__ import annotations

import base64
import secrets

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from writeback.settings import Settings
from writeback.store.secrets import SecretBox, SecretKeyError, legacy_digest_key, load_master_keys
from writeback.store.tables import ApiKey, Base, SecretKeyring

CANARY = "canary"
DIGEST_KEY = "api-key-digest"
_CANARY_TEXT = "writeback master key check"


class WrongMasterKey(SecretKeyError):
    """None of the configured master keys is the one this database was written with."""


def wrong_key_message(box: SecretBox) -> str:
    count = len(box.key_ids)
    return (
        f"{box.source} differs from the master key this database was written with: none of"
        f" its {count} key{'s' if count > 1 else ''} decrypts the database's key check. Start"
        " with the key this database was written with. To change keys, list the new key first"
        " and the old one after it (comma-separated), run `writeback secrets rotate`, then"
        " drop the old key."
    )


async def open_secret_box(settings: Settings, engine: AsyncEngine) -> SecretBox:
    """The process's SecretBox: master keys checked against the canary, and the digest key.
    Needs a migrated database. Raises WrongMasterKey (or SecretKeyError) when the keys
    cannot be used."""
    master = load_master_keys(settings)
    box = SecretBox(master.keys, source=master.source)
    async with engine.connect() as conn:
        stored = dict(
            (await conn.execute(select(SecretKeyring.name, SecretKeyring.value_encrypted))).all()
        )
    canary = stored.get(CANARY)
    legacy_master = master.keys[0]
    if canary is None:
        legacy_master = await _check_older_secrets(engine, box)
        canary = await _insert_or_get(engine, CANARY, box.encrypt(_CANARY_TEXT))
    try:
        if box.decrypt(canary) != _CANARY_TEXT:
            raise WrongMasterKey(wrong_key_message(box))
    except SecretKeyError as exc:
        raise WrongMasterKey(wrong_key_message(box)) from exc
    sealed = stored.get(DIGEST_KEY)
    if sealed is None:
        async with engine.connect() as conn:
            has_keys = (await conn.execute(select(func.count()).select_from(ApiKey))).scalar_one()
        digest_key = legacy_digest_key(legacy_master) if has_keys else secrets.token_bytes(32)
        sealed = await _insert_or_get(
            engine, DIGEST_KEY, box.encrypt(base64.b64encode(digest_key).decode())
        )
    return box.with_digest_key(base64.b64decode(box.decrypt(sealed)))


async def _check_older_secrets(engine: AsyncEngine, box: SecretBox) -> bytes:
    """A database from before the keyring: one stored secret must decrypt with the configured
    keys (else the keys are wrong and no canary may be written with them). Returns the master
    key that decrypted it (the first key when nothing is stored yet)."""
    for table in Base.metadata.sorted_tables:
        if table.name == SecretKeyring.__tablename__:
            continue
        for column in table.columns:
            if not column.name.endswith("_encrypted"):
                continue
            async with engine.connect() as conn:
                value = (
                    await conn.execute(select(column).where(column.is_not(None)).limit(1))
                ).scalar()
            if value is None:
                continue
            kid = box.key_id_of(value)
            if kid is None or kid not in box.key_ids:
                raise WrongMasterKey(wrong_key_message(box))
            return box.masters[box.key_ids.index(kid)]
    return box.masters[0]


async def _insert_or_get(engine: AsyncEngine, name: str, value: str) -> str:
    """Insert the row unless another process did first; the stored value either way."""
    try:
        async with engine.begin() as conn:
            await conn.execute(
                SecretKeyring.__table__.insert().values(name=name, value_encrypted=value)
            )
        return value
    except IntegrityError:
        async with engine.connect() as conn:
            found = await conn.execute(
                select(SecretKeyring.value_encrypted).where(SecretKeyring.name == name)
            )
            return str(found.scalar_one())
