"""Salesforce record ids: 15-char case-sensitive base-62, 18-char case-safe (§A9).

Layout of the 15 characters: key prefix (3), pod (2), reserved "0" (1), sequence (9).
The 3-char suffix encodes which of the 15 characters are upper-case, five per suffix char.
"""

from __future__ import annotations

import hashlib

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
SUFFIX_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_ALNUM = frozenset(BASE62)
SEQUENCE_WIDTH = 9


def suffix(id15: str) -> str:
    out = []
    for start in (0, 5, 10):
        bits = 0
        for i, ch in enumerate(id15[start : start + 5]):
            if "A" <= ch <= "Z":
                bits |= 1 << i
        out.append(SUFFIX_ALPHABET[bits])
    return "".join(out)


def to18(id15: str) -> str:
    return id15 + suffix(id15)


def looks_like_id(value: str) -> bool:
    """15 or 18 ASCII letters/digits: the shape Salesforce treats as an id, not a field name."""
    return len(value) in (15, 18) and all(ch in _ALNUM for ch in value)


def normalize(value: str) -> str | None:
    """The canonical 18-char id, or None when the value is not a well-formed id.

    A 15-char id is taken as is (case matters). An 18-char id must carry the suffix of its
    first 15 characters; the suffix itself is compared case-insensitively. A real capture
    (`001900K0001pPuOAAU` -> MALFORMED_ID) shows Salesforce rejects a suffix that does not
    match rather than re-casing the id from it.
    """
    if not looks_like_id(value):
        return None
    id15 = value[:15]
    expected = suffix(id15)
    if len(value) == 18 and value[15:].upper() != expected:
        return None
    return id15 + expected


def encode_sequence(number: int, width: int = SEQUENCE_WIDTH) -> str:
    digits = []
    while number:
        number, rest = divmod(number, 62)
        digits.append(BASE62[rest])
    return "".join(reversed(digits)).rjust(width, "0")


def decode_sequence(text: str) -> int:
    number = 0
    for ch in text:
        number = number * 62 + BASE62.index(ch)
    return number


def make_id(prefix: str, pod: str, sequence: int) -> str:
    return to18(prefix + pod + "0" + encode_sequence(sequence))


def derived(seed: str, length: int) -> str:
    """Stable pseudo-random base-62 characters from a seed (org ids, pods)."""
    number = int.from_bytes(hashlib.sha256(seed.encode()).digest(), "big")
    return encode_sequence(number % 62**length, length)


def new_org_id(seed: str) -> str:
    return to18("00D" + derived(seed + ":pod", 2) + "0" + derived(seed + ":org", 9))
