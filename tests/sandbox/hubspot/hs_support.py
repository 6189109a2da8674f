"""HsTenant: one HubSpot sandbox tenant and clients pointed at it, for these tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
from hubspot import HubSpot
from urllib3.util.retry import Retry

from conftest import Sandbox


@dataclass
class HsTenant:
    info: dict[str, Any]
    sandbox: Sandbox
    _clients: list[httpx.Client] = field(default_factory=list)

    @property
    def id(self) -> str:
        return self.info["tenantId"]

    @property
    def token(self) -> str:
        return self.info["accessToken"]

    @property
    def hub_id(self) -> int:
        return self.info["hubId"]

    @property
    def url(self) -> str:
        return self.sandbox.url

    @property
    def admin_base(self) -> str:
        return f"/_sandbox/tenants/{self.id}"

    def client(self, token: str | None = None, retry: Retry | None = None) -> HubSpot:
        return HubSpot(
            access_token=token or self.token, host=self.url, base_url=self.url, retry=retry
        )

    def no_retry_client(self) -> HubSpot:
        # Without this urllib3 retries 429/503 answers that carry Retry-After.
        return self.client(retry=Retry(total=0, respect_retry_after_header=False))

    def http(self, token: str | None = None) -> httpx.Client:
        made = httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"Bearer {token or self.token}"},
            timeout=30,
        )
        self._clients.append(made)
        return made

    def stats(self) -> dict[str, int]:
        return self.sandbox.admin.get(f"{self.admin_base}/stats").json()["byEndpoint"]

    def set_settings(self, **settings: Any) -> None:
        response = self.sandbox.admin.patch(f"{self.admin_base}/settings", json=settings)
        assert response.status_code == 200, response.text

    def set_faults(self, **faults: Any) -> None:
        response = self.sandbox.admin.put(f"{self.admin_base}/faults", json=faults)
        assert response.status_code == 200, response.text

    def records(self, object_name: str) -> list[dict[str, Any]]:
        response = self.sandbox.admin.get(f"{self.admin_base}/records/{object_name}")
        assert response.status_code == 200, response.text
        return response.json()["records"]
