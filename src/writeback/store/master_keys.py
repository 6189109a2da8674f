"""Master keys as an operator writes them: parsing, strength, generation.

`WRITEBACK_SECRET_KEY` (or the key file) holds one or more keys separated by commas or
newlines: the first encrypts new values, every one decrypts. A key is strong when it is at
least 32 bytes of base64 (URL-safe or standard, padding optional) that do not repeat a short
pattern, which is what `writeback secrets generate`, `openssl rand -base64 32` and
`openssl rand -hex 32` produce. Passwords and phrases are refused: HKDF does not stretch them.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets

MIN_KEY_BYTES = 32
# 32 random bytes have ~30 distinct values; 16 leaves an astronomically small chance of
# refusing a random key while catching "aaaa…", "abcabc…" and other typed patterns
_MIN_DISTINCT_BYTES = 16
_SEPARATORS = re.compile(r"[,\s]+")


class WeakKeyError(ValueError):
    """A configured master key is not strong enough (the message never contains the key)."""


def generate_master_key() -> str:
    """A new master key: 32 random bytes, URL-safe base64 (the key file's format too)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(MIN_KEY_BYTES)).decode()


def split_keys(text: str) -> list[str]:
    return [part for part in _SEPARATORS.split(text.strip()) if part]


def weakness(key: str) -> str | None:
    """Why `key` is too weak to be a master key, or None when it is strong."""
    normalized = key.replace("+", "-").replace("/", "_").rstrip("=")
    if not re.fullmatch(r"[A-Za-z0-9_-]+", normalized):
        return "it is not base64"
    try:
        raw = base64.urlsafe_b64decode(normalized + "=" * (-len(normalized) % 4))
    except (binascii.Error, ValueError):
        return "it is not base64"
    if len(raw) < MIN_KEY_BYTES:
        return f"it decodes to {len(raw)} bytes, fewer than {MIN_KEY_BYTES}"
    if len(set(raw)) < _MIN_DISTINCT_BYTES:
        return "it repeats a short pattern"
    return None


def parse_master_keys(text: str, source: str) -> list[bytes]:
    """The keys in `text`, first (encrypting) key first; raises WeakKeyError naming `source`
    and the key's position when one is missing or weak."""
    keys = split_keys(text)
    if not keys:
        raise WeakKeyError(f"{source} holds no key; generate one with `writeback secrets generate`")
    for position, key in enumerate(keys, start=1):
        reason = weakness(key)
        if reason is not None:
            where = f"key {position} of {len(keys)} in {source}" if len(keys) > 1 else source
            raise WeakKeyError(
                f"{where} is too weak ({reason}): a master key must be at least {MIN_KEY_BYTES}"
                " random bytes in base64; generate one with `writeback secrets generate`"
            )
    return [key.encode() for key in keys]
