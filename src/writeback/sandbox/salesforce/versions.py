"""API version discovery (§A2): `GET /services/data/` and `GET /services/data/vXX.X/`."""

from __future__ import annotations

import contextlib

from writeback.sandbox.http import Handler, Request, Response, json_response
from writeback.sandbox.salesforce.identity import identity_url
from writeback.sandbox.salesforce.pipeline import Call
from writeback.sandbox.salesforce.settings import DEFAULT_SETTINGS
from writeback.sandbox.tenants import Registry, TokenProblem

SEASONS = ("Winter", "Spring", "Summer")
RESOURCES = (
    "tooling", "metadata", "folders", "eclair", "prechatForms", "chatter", "tabs", "appMenu",
    "quickActions", "queryAll", "commerce", "wave", "iot", "analytics", "search", "identity",
    "composite", "parameterizedSearch", "fingerprint", "theme", "nouns", "event",
    "serviceTemplates", "recent", "connect", "licensing", "limits", "process", "dedupe",
    "async-queries", "query", "jobs", "match", "localizedvalue", "mobile", "emailConnect",
    "consent", "tokenizer", "compactLayouts", "sobjects", "actions", "support",
)  # fmt: skip


def release_label(version: str) -> str:
    """v59 is Winter '24, v60 Spring '24, v61 Summer '24, v62 Winter '25, ..."""
    major = int(float(version))
    season = SEASONS[(major - 59) % 3]
    year = 24 + (major - 59 - (major - 59) % 3) // 3
    return f"{season} '{year:02d}"


def version_list(versions: list[str]) -> list[dict[str, str]]:
    return [
        {"label": release_label(v), "url": f"/services/data/v{v}", "version": v} for v in versions
    ]


def make_versions_handler(registry: Registry) -> Handler:
    async def versions(request: Request) -> Response:
        # Public (no session needed); a valid token shows that org's own list.
        known = DEFAULT_SETTINGS["apiVersions"]
        token = request.bearer_token()
        if token:
            with contextlib.suppress(TokenProblem):
                tenant = registry.tenant_for_access_token(token, "salesforce")
                known = tenant.settings["apiVersions"]
        return json_response(200, version_list(known))

    return versions


def resources(call: Call) -> Response:
    base = f"/services/data/v{call.version}"
    body = {name: f"{base}/{name}" for name in RESOURCES}
    body["identity"] = identity_url(call.request, call.org)
    return json_response(200, body)
