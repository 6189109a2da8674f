"""The HTML of the sandbox's OAuth consent page (HubSpot's "choose an account" step)."""

from __future__ import annotations

from html import escape

from writeback.sandbox.tenants import Tenant

PASSED_ON = (
    "client_id",
    "redirect_uri",
    "scope",
    "optional_scope",
    "state",
    "code_challenge",
    "code_challenge_method",
)


def consent_page(params: dict[str, str], tenants: list[Tenant]) -> str:
    hidden = "".join(
        f'<input type="hidden" name="{name}" value="{escape(params[name])}">'
        for name in PASSED_ON
        if params.get(name)
    )
    choices = "".join(
        f'<label><input type="radio" name="sandbox_tenant" value="{escape(t.id)}"'
        f"{' checked' if i == 0 else ''}>"
        f" Portal {t.state.hub_id} (tenant {escape(t.id)})</label><br>"
        for i, t in enumerate(tenants)
    )
    if not choices:
        choices = "<p>No HubSpot sandbox tenant accepts this client_id. Create one first.</p>"
    scopes = escape(" ".join(filter(None, (params.get("scope"), params.get("optional_scope")))))
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Choose an account</title></head>"
        "<body><h1>HubSpot sandbox: choose an account</h1>"
        f"<p>App <code>{escape(params.get('client_id', ''))}</code>"
        f" asks for: <code>{scopes}</code></p>"
        f'<form method="post" action="/oauth/authorize">{hidden}{choices}'
        '<button name="decision" value="approve">Connect app</button> '
        '<button name="decision" value="deny">Cancel</button></form>'
        "<p>Shortcut for scripts: add <code>&amp;sandbox_tenant=ID&amp;sandbox_approve=1</code>"
        " to this URL to be redirected at once.</p></body></html>"
    )


def error_page(message: str) -> str:
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Authorization error</title></head>"
        f"<body><h1>Authorization error</h1><p>{escape(message)}</p></body></html>"
    )
