"""Where a Salesforce org lives, and the guard against server-side request forgery.

A connection's instance URL comes from the customer side (the token response's
`instance_url`), so outside sandbox mode only https URLs on Salesforce's own domains are used.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

SALESFORCE_DOMAINS = (
    "salesforce.com",
    "force.com",
    "cloudforce.com",
    "salesforce.mil",
    "sfcrmproducts.cn",
)
_WORKSPACE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$")


class InstanceUrlError(ValueError):
    pass


def check_instance_url(url: str) -> str:
    """The URL, normalised, if it is an https URL on a Salesforce domain; else InstanceUrlError."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    if parts.scheme != "https":
        raise InstanceUrlError(f"{url!r} is not an https URL")
    if parts.username or parts.password or parts.port not in (None, 443):
        raise InstanceUrlError(f"{url!r} must not carry credentials or a port")
    if not any(host == d or host.endswith("." + d) for d in SALESFORCE_DOMAINS):
        raise InstanceUrlError(
            f"{host!r} is not a Salesforce domain ({', '.join(SALESFORCE_DOMAINS)})"
        )
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise InstanceUrlError(
            f"{url!r} must be a bare origin such as https://acme.my.salesforce.com"
        )
    return f"https://{host}"


def instance_url(
    provider_metadata: dict[str, Any] | None, workspace_ref: str | None, sandbox: str | None
) -> str:
    """The base URL for a Salesforce connection's REST calls (`sandbox`: sandbox mode's URL)."""
    if sandbox is not None:
        return sandbox  # sandbox mode: the emulator serves every org
    given = ((provider_metadata or {}).get("instanceUrl") or {}).get("value")
    if given:
        return check_instance_url(str(given))
    if workspace_ref:
        if not _WORKSPACE.match(workspace_ref.replace("--", "-")):
            raise InstanceUrlError(f"workspace {workspace_ref!r} is not a My Domain name")
        return f"https://{workspace_ref.lower()}.my.salesforce.com"
    raise InstanceUrlError(
        "the connection has neither providerMetadata.instanceUrl nor a workspace"
    )


# --- login hosts: where an org's users sign in and its tokens are refreshed ----------------

LOGIN_HOSTS = ("login.salesforce.com", "test.salesforce.com")
SANDBOX_LOGIN_URL = "https://test.salesforce.com"


def check_login_url(url: str) -> str:
    """The URL as a bare origin if it is a Salesforce login host: login.salesforce.com,
    test.salesforce.com (sandbox orgs), or a My Domain (`<name>.my.salesforce.com`, sandbox
    ones `<name>.sandbox.my.salesforce.com`); else InstanceUrlError saying why."""
    origin = check_instance_url(url)  # https, no credentials or port, a Salesforce domain
    host = origin.removeprefix("https://")
    if host not in LOGIN_HOSTS and not host.endswith(".my.salesforce.com"):
        raise InstanceUrlError(
            f"{host!r} is not a Salesforce login host (login.salesforce.com,"
            " test.salesforce.com, or a My Domain host <name>.my.salesforce.com)"
        )
    return origin


def login_url_for_instance(instance: str | None) -> str | None:
    """Where an org whose instance URL this is logs in, when the URL tells: a sandbox org's
    My Domain (`*.sandbox.my.salesforce.com`) means test.salesforce.com. None: the default
    host (login.salesforce.com)."""
    parts = urlsplit((instance or "").strip())
    if parts.scheme == "https" and (parts.hostname or "").lower().endswith(
        ".sandbox.my.salesforce.com"
    ):
        return SANDBOX_LOGIN_URL
    return None
