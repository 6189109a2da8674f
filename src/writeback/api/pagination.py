"""Opaque page tokens for newest-first lists: (create time, id) of the last row of a page."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime

from writeback.api.problems import ApiProblem, issue


def encode_page_token(create_time: datetime, row_id: str) -> str:
    raw = json.dumps([create_time.isoformat(), row_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_page_token(token: str) -> tuple[datetime, str]:
    """The (create time, id) a token was made from; 400 naming `pageToken` otherwise."""
    try:
        padded = token + "=" * (-len(token) % 4)
        created, row_id = json.loads(base64.urlsafe_b64decode(padded))
        when = datetime.fromisoformat(created)
        if when.tzinfo is None:
            raise ValueError("the token's time has no zone")  # not one we issued
        return when, str(row_id)
    except (ValueError, TypeError, binascii.Error) as exc:
        raise ApiProblem(
            400,
            "pageToken is not a token this API issued.",
            remedy="Pass pagination.nextPageToken from the previous page unchanged, or omit it.",
            issues=[issue("query", "pageToken", "cannot be decoded", token[:64])],
        ) from exc
