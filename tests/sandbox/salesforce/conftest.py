"""Fixtures for the Salesforce emulator tests: a fresh org per test, reached through
simple-salesforce exactly as writeback will reach a real one."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import requests
from requests.adapters import HTTPAdapter
from simple_salesforce import Salesforce

from conftest import Sandbox

VERSION = "62.0"


class HttpsToHttpAdapter(HTTPAdapter):
    """simple-salesforce hard-codes https://; the sandbox speaks plain http (§C1.2)."""

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if request.url and request.url.startswith("https://"):
            request.url = "http://" + request.url[len("https://") :]
        return super().send(request, **kwargs)


def sandbox_session(base_url: str) -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # no proxies or CA bundles from the environment
    session.mount(base_url.replace("http://", "https://"), HttpsToHttpAdapter())
    return session


@dataclass
class SfOrg:
    """One sandbox tenant and ways to talk to it."""

    sandbox: Sandbox
    tenant: dict[str, Any]
    session: requests.Session
    opened: list[Any] = field(default_factory=list)

    @property
    def token(self) -> str:
        return str(self.tenant["accessToken"])

    @property
    def tenant_id(self) -> str:
        return str(self.tenant["tenantId"])

    @property
    def admin_path(self) -> str:
        return f"/_sandbox/tenants/{self.tenant_id}"

    @property
    def data_url(self) -> str:
        return f"{self.sandbox.url}/services/data/v{VERSION}"

    def client(self, token: str | None = None, version: str = VERSION) -> Salesforce:
        return Salesforce(
            instance_url=self.sandbox.url,
            session_id=token or self.token,
            version=version,
            session=self.session,
        )

    def http(self, token: str | None = None) -> httpx.Client:
        """A plain client with the org's bearer token, for what simple-salesforce hides."""
        made = httpx.Client(
            base_url=self.data_url,
            headers={"Authorization": f"Bearer {token or self.token}"},
            timeout=30,
        )
        self.opened.append(made)
        return made

    def admin(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.sandbox.admin.request(method, self.admin_path + path, **kwargs)

    def stats(self) -> dict[str, int]:
        return dict(self.admin("GET", "/stats").json()["byEndpoint"])


@pytest.fixture
def new_org(sandbox: Sandbox) -> Iterator[Callable[..., SfOrg]]:
    made: list[SfOrg] = []

    def make(**options: Any) -> SfOrg:
        tenant = sandbox.new_tenant("salesforce", **options)
        org = SfOrg(sandbox, tenant, sandbox_session(sandbox.url))
        made.append(org)
        return org

    yield make
    for org in made:
        org.session.close()
        for client in org.opened:
            client.close()


@pytest.fixture
def org(new_org: Callable[..., SfOrg]) -> SfOrg:
    return new_org()


@pytest.fixture
def sf(org: SfOrg) -> Salesforce:
    return org.client()
