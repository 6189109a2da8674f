"""The HTML of the emulated login/approval screen and of OAuth error pages."""

from __future__ import annotations

from html import escape

from writeback.sandbox.tenants import Tenant

STYLE = (
    "body{font-family:system-ui,sans-serif;background:#f3f3f3;margin:0;padding:40px}"
    "main{max-width:460px;margin:auto;background:#fff;border-radius:6px;padding:24px;"
    "box-shadow:0 1px 4px #0002}h1{font-size:20px;margin-top:0}label{display:block;"
    "padding:8px;border:1px solid #ddd;border-radius:4px;margin:6px 0}code{font-size:12px}"
    "button{padding:8px 16px;margin-right:8px}.error{color:#b00}"
)
# Authorize parameters carried from the GET to the approval POST.
CARRIED = (
    "response_type", "client_id", "redirect_uri", "state", "scope", "code_challenge",
    "code_challenge_method", "prompt", "display", "login_hint", "nonce",
)  # fmt: skip


def _page(title: str, body: str) -> str:
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title>"
        f"<style>{STYLE}</style></head><body><main>{body}</main></body></html>"
    )


def approval_page(
    params: dict[str, str], tenants: list[Tenant], selected: str | None, scopes: list[str]
) -> str:
    hidden = "".join(
        f"<input type='hidden' name='{name}' value='{escape(params[name], quote=True)}'>"
        for name in CARRIED
        if params.get(name)
    )
    choices = "".join(
        f"<label><input type='radio' name='sandbox_tenant' value='{escape(t.id, quote=True)}'"
        f"{' checked' if t.id == selected or len(tenants) == 1 else ''}>"
        f" Org <code>{escape(t.state.org_id)}</code> (tenant <code>{escape(t.id)}</code>)"
        "</label>"
        for t in tenants
    )
    asked = ", ".join(escape(s) for s in scopes)
    return _page(
        "Allow Access?",
        "<h1>Allow Access?</h1>"
        f"<p>The app <code>{escape(params.get('client_id', ''))}</code> asks to: {asked}.</p>"
        "<p>Choose the sandbox org to connect:</p>"
        f"<form method='post' action='/services/oauth2/authorize'>{hidden}{choices}"
        "<p><button type='submit' name='decision' value='approve'>Allow</button>"
        "<button type='submit' name='decision' value='deny'>Deny</button></p></form>",
    )


def error_page(error: str, description: str) -> str:
    return _page(
        "Error",
        "<h1>Remote Access Application Error</h1>"
        f"<p class='error'>error={escape(error)}</p>"
        f"<p>error_description={escape(description)}</p>",
    )
