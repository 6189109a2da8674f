"""What HubSpot tokens look like, so clients that sniff or size them behave as in production."""

from __future__ import annotations

import secrets
import uuid

# Real OAuth access tokens are opaque base64url strings starting with "C" (protobuf tag),
# 100-300 characters long.
_ACCESS_SECOND_CHARS = "JKLMNOP"


def oauth_access_token() -> str:
    return "C" + secrets.choice(_ACCESS_SECOND_CHARS) + secrets.token_urlsafe(96)


def private_app_token() -> str:
    return f"pat-na1-{uuid.uuid4()}"


def refresh_token() -> str:
    # na1-xxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx, as in HubSpot's own examples.
    raw = secrets.token_hex(14)
    return f"na1-{raw[0:4]}-{raw[4:8]}-{raw[8:12]}-{raw[12:16]}-{raw[16:28]}"


def is_private_app(token: str) -> bool:
    return token.startswith("pat-")
