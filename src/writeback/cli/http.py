"""A small synchronous client of writeback's own HTTP API, for CLI commands."""

from __future__ import annotations

import os
from typing import Any

import httpx

DEFAULT_URL = "http://127.0.0.1:8080"


class CliError(Exception):
    """Shown to the user as one red message, with the problem's remedy when there is one."""


class ApiClient:
    def __init__(self, url: str | None = None, api_key: str | None = None) -> None:
        self.url = (url or os.environ.get("WRITEBACK_URL") or DEFAULT_URL).rstrip("/")
        self.api_key = api_key or os.environ.get("WRITEBACK_API_KEY")
        self._http = httpx.Client(base_url=self.url, timeout=30.0)

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        if not self.api_key:
            raise CliError(
                "No API key: pass --api-key or set WRITEBACK_API_KEY (`writeback init` prints one)."
            )
        headers = {"X-Api-Key": self.api_key}
        try:
            response = self._http.request(method, "/v1" + path, headers=headers, **kwargs)
        except httpx.TransportError as exc:
            raise CliError(
                f"Cannot reach writeback at {self.url} ({exc.__class__.__name__}). Is"
                " `writeback serve` running? Point --url or WRITEBACK_URL at it."
            ) from exc
        if response.status_code == 204:
            return None
        body = _json(response)
        if response.status_code >= 400:
            raise CliError(_problem_text(response.status_code, body))
        return body

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params={k: v for k, v in params.items() if v is not None})

    def post(self, path: str, body: Any) -> Any:
        return self.request("POST", path, json=body)

    def put(self, path: str, body: Any) -> Any:
        return self.request("PUT", path, json=body)

    def patch(self, path: str, body: Any) -> Any:
        return self.request("PATCH", path, json=body)

    def delete(self, path: str) -> Any:
        return self.request("DELETE", path)


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return {"detail": response.text}


def _problem_text(status: int, body: Any) -> str:
    if not isinstance(body, dict):
        return f"HTTP {status}: {body}"
    lines = [f"HTTP {status}: {body.get('detail') or body.get('title') or body}"]
    for found in body.get("issues") or []:
        lines.append(f"  - {found.get('name')}: {found.get('detail')}")
    if body.get("remedy"):
        lines.append(f"Remedy: {body['remedy']}")
    return "\n".join(lines)
