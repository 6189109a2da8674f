"""Encryption of secrets at rest and keyed digests of API keys.

The master keys (WRITEBACK_SECRET_KEY, or a generated 0600 key file under WRITEBACK_HOME) are
one or more keys, first key first (store/master_keys.py). Each is stretched with HKDF into a
Fernet key with an id (the first 8 hex digits of the derived key's SHA-256, which reveals
nothing of the key). New ciphertexts are `wbenc2:<key id>:<Fernet token>` and name the key that
decrypts them; older `wbenc1:<token>` ones are tried with every key.

The API-key digest key is independent of the master keys: it lives in the database's
keyring, encrypted like any other secret (store/keyring.py builds the full box), so rotating
the master key leaves every API key valid.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets as _random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from writeback.store.master_keys import WeakKeyError, generate_master_key, parse_master_keys

if TYPE_CHECKING:
    from writeback.settings import Settings

_ENCRYPTION_INFO = b"writeback/v1/encryption"
_DIGEST_INFO = b"writeback/v1/api-key-digest"
_V1_PREFIX = "wbenc1:"  # one key, no id: tried with every configured key
_V2_PREFIX = "wbenc2:"  # wbenc2:<key id>:<token>
SECRET_KEY_VARIABLE = "WRITEBACK_SECRET_KEY"


class SecretKeyError(RuntimeError):
    """The master key is missing, unreadable or cannot decrypt stored secrets."""


@dataclass(frozen=True)
class MasterKeys:
    keys: list[bytes]  # the first encrypts; all decrypt
    source: str  # where they came from, for messages: the variable or the key file


def load_master_keys(settings: Settings) -> MasterKeys:
    if settings.secret_key is not None:
        text = settings.secret_key.get_secret_value()
        return MasterKeys(parse_master_keys(text, SECRET_KEY_VARIABLE), SECRET_KEY_VARIABLE)
    path = settings.secret_key_file
    source = f"the key file {path} ({SECRET_KEY_VARIABLE} is not set)"
    raw = _read_key_file(path) if path.exists() else _create_key_file(path)
    try:
        return MasterKeys(parse_master_keys(raw.decode("utf-8", "replace"), source), source)
    except WeakKeyError as exc:
        raise SecretKeyError(str(exc)) from None


def load_master_key(settings: Settings) -> bytes:
    """The first (encrypting) master key."""
    return load_master_keys(settings).keys[0]


def _read_key_file(path: Path) -> bytes:
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise SecretKeyError(
            f"{path} is readable by other users (mode {mode:o}); run `chmod 600 {path}`."
        )
    return path.read_bytes().strip()


def _create_key_file(path: Path) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    key = generate_master_key().encode()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process won the race: use its key
        return _read_key_file(path)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key + b"\n")
    return key


def derive(master: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(master)


def legacy_digest_key(master: bytes) -> bytes:
    """The API-key digest key of databases written before the keyring: derived from the
    master key."""
    return derive(master, _DIGEST_INFO)


class SecretBox:
    """Encrypts strings and JSON values for storage; computes API key digests.

    Built from the master keys alone (`SecretBox(key)`, `from_settings`) it encrypts and
    decrypts; `digest` also needs the keyring's digest key (`store.keyring.open_secret_box`).
    """

    def __init__(
        self,
        master_keys: bytes | Sequence[bytes],
        digest_key: bytes | None = None,
        *,
        source: str = SECRET_KEY_VARIABLE,
    ) -> None:
        masters = [master_keys] if isinstance(master_keys, bytes) else list(master_keys)
        if not masters:
            raise SecretKeyError("no master key given")
        self._masters: list[bytes] = []  # without repeats, in step with key_ids
        self._fernets: dict[str, Fernet] = {}
        for master in masters:
            derived = derive(master, _ENCRYPTION_INFO)
            kid = hashlib.sha256(derived).hexdigest()[:8]
            if kid not in self._fernets:
                self._fernets[kid] = Fernet(base64.urlsafe_b64encode(derived))
                self._masters.append(master)
        self.key_ids = list(self._fernets)  # configured order: the first encrypts
        self._digest_key = digest_key
        self.source = source

    @classmethod
    def from_settings(cls, settings: Settings) -> SecretBox:
        """A box that encrypts and decrypts, without the digest key (which needs the database)."""
        master = load_master_keys(settings)
        return cls(master.keys, source=master.source)

    def with_digest_key(self, digest_key: bytes) -> SecretBox:
        return SecretBox(self._masters, digest_key, source=self.source)

    @property
    def masters(self) -> list[bytes]:
        return list(self._masters)

    @property
    def primary_key_id(self) -> str:
        return self.key_ids[0]

    def encrypt(self, plaintext: str) -> str:
        token = self._fernets[self.primary_key_id].encrypt(plaintext.encode()).decode()
        return f"{_V2_PREFIX}{self.primary_key_id}:{token}"

    def decrypt(self, ciphertext: str) -> str:
        kid, token = _split(ciphertext)
        if kid is not None:
            fernet = self._fernets.get(kid)
            if fernet is None:
                raise SecretKeyError(
                    f"cannot decrypt a stored secret: it was encrypted with key id {kid}, which"
                    f" is not among the keys in {self.source} (ids {', '.join(self.key_ids)});"
                    " add that key after the first one"
                )
            candidates = [fernet]
        else:
            candidates = list(self._fernets.values())
        for fernet in candidates:
            try:
                return fernet.decrypt(token.encode()).decode()
            except InvalidToken:
                continue
        raise SecretKeyError(
            f"cannot decrypt a stored secret: {self.source} differs from the key the secret"
            " was written with"
        )

    def key_id_of(self, ciphertext: str) -> str | None:
        """The id of the key that encrypted `ciphertext` (tried for old `wbenc1:` values;
        None when no configured key decrypts one)."""
        kid, token = _split(ciphertext)
        if kid is not None:
            return kid
        for kid, fernet in self._fernets.items():
            try:
                fernet.decrypt(token.encode())
                return kid
            except InvalidToken:
                continue
        return None

    @property
    def current_prefix(self) -> str:
        """How every value encrypted with the first key begins."""
        return f"{_V2_PREFIX}{self.primary_key_id}:"

    def is_current(self, ciphertext: str) -> bool:
        """Encrypted with the first key (nothing for a rotation to do)."""
        return ciphertext.startswith(self.current_prefix)

    def reencrypt(self, ciphertext: str) -> str:
        return ciphertext if self.is_current(ciphertext) else self.encrypt(self.decrypt(ciphertext))

    def encrypt_json(self, value: object) -> str:
        return self.encrypt(json.dumps(value, separators=(",", ":")))

    def decrypt_json(self, ciphertext: str) -> object:
        return json.loads(self.decrypt(ciphertext))

    def digest(self, api_key: str) -> str:
        if self._digest_key is None:
            raise SecretKeyError(
                "this SecretBox has no API-key digest key: build it with"
                " writeback.store.keyring.open_secret_box"
            )
        return hmac.new(self._digest_key, api_key.encode(), hashlib.sha256).hexdigest()


def _split(ciphertext: str) -> tuple[str | None, str]:
    """(key id or None for the old format, Fernet token)."""
    if ciphertext.startswith(_V2_PREFIX):
        kid, sep, token = ciphertext[len(_V2_PREFIX) :].partition(":")
        if sep and kid:
            return kid, token
    elif ciphertext.startswith(_V1_PREFIX):
        return None, ciphertext[len(_V1_PREFIX) :]
    raise SecretKeyError("stored secret is not in a known format")


def new_api_key() -> str:
    """A fresh API key: a recognisable prefix plus 256 bits of randomness."""
    return "wb_" + _random.token_urlsafe(32)
