"""Cutting text that came from outside (provider replies, their error messages) to a size that
is safe to log, store and echo, with a visible note that it was cut."""

from __future__ import annotations


def clip_text(text: str, max_bytes: int) -> str:
    """`text` if its UTF-8 form fits in `max_bytes`; else its start and "… [cut: N more bytes]"."""
    if len(text) * 4 <= max_bytes:  # fits whatever the characters: skip the encoding
        return text
    encoded = text.encode("utf-8", "replace")
    if len(encoded) <= max_bytes:
        return text
    kept = encoded[:max_bytes].decode("utf-8", "ignore")  # never half a character
    return f"{kept}… [cut: {len(encoded) - len(kept.encode('utf-8'))} more bytes]"


def clip_optional(text: str | None, max_bytes: int) -> str | None:
    return None if text is None else clip_text(text, max_bytes)
