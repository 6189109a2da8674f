"""Encryption of secrets at rest and keyed digests of API keys.

One master key (WRITEBACK_SECRET_KEY, or a generated 0600 key file under WRITEBACK_HOME) is
stretched with HKDF into two independent sub-keys, so the digest key can never decrypt tokens.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets as _random
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from writeback.settings import Settings

_ENCRYPTION_INFO = b"writeback/v1/encryption"
_DIGEST_INFO = b"writeback/v1/api-key-digest"
_CIPHERTEXT_PREFIX = "wbenc1:"


class SecretKeyError(RuntimeError):
    """The master key is missing, unreadable or cannot decrypt stored secrets."""


def load_master_key(settings: Settings) -> bytes:
    if settings.secret_key:
        return settings.secret_key.encode()
    path = settings.secret_key_file
    if path.exists():
        return _read_key_file(path)
    return _create_key_file(path)


def _read_key_file(path: Path) -> bytes:
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise SecretKeyError(
            f"{path} is readable by other users (mode {mode:o}); run `chmod 600 {path}`."
        )
    return path.read_bytes().strip()


def _create_key_file(path: Path) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    key = base64.urlsafe_b64encode(_random.token_bytes(32))
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process won the race: use its key
        return _read_key_file(path)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key + b"\n")
    return key


def _derive(master: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(master)


class SecretBox:
    """Encrypts strings and JSON values for storage; computes API key digests."""

    def __init__(self, master_key: bytes) -> None:
        self._fernet = Fernet(base64.urlsafe_b64encode(_derive(master_key, _ENCRYPTION_INFO)))
        self._digest_key = _derive(master_key, _DIGEST_INFO)

    @classmethod
    def from_settings(cls, settings: Settings) -> SecretBox:
        return cls(load_master_key(settings))

    def encrypt(self, plaintext: str) -> str:
        return _CIPHERTEXT_PREFIX + self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, ciphertext: str) -> str:
        if not ciphertext.startswith(_CIPHERTEXT_PREFIX):
            raise SecretKeyError("stored secret is not in a known format")
        try:
            return self._fernet.decrypt(ciphertext[len(_CIPHERTEXT_PREFIX) :].encode()).decode()
        except InvalidToken as exc:
            raise SecretKeyError(
                "cannot decrypt a stored secret: WRITEBACK_SECRET_KEY (or the key file) differs "
                "from the key the secret was written with"
            ) from exc

    def encrypt_json(self, value: object) -> str:
        return self.encrypt(json.dumps(value, separators=(",", ":")))

    def decrypt_json(self, ciphertext: str) -> object:
        return json.loads(self.decrypt(ciphertext))

    def digest(self, api_key: str) -> str:
        return hmac.new(self._digest_key, api_key.encode(), hashlib.sha256).hexdigest()


def new_api_key() -> str:
    """A fresh API key: a recognisable prefix plus 256 bits of randomness."""
    return "wb_" + _random.token_urlsafe(32)
