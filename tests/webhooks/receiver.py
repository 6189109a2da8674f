"""A webhook receiver for API-level tests, and a wait for the server's worker to deliver."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class Request:
    host: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Recorder:
    """ASGI app: records each request and answers `status` with `body`."""

    status: int = 204
    body: bytes = b""
    requests: list[Request] = field(default_factory=list)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        self.requests.append(Request(headers.get("host", ""), headers, body))
        await send({"type": "http.response.start", "status": self.status, "headers": []})
        await send({"type": "http.response.body", "body": self.body})


def attempted(client: httpx.Client, log_url: str, delivery_id: str) -> dict[str, Any]:
    """The delivery, once the server's worker has made at least one attempt of it."""
    deadline = time.monotonic() + 20  # liveness only: a worker polls every 50 ms in tests
    while True:
        listed = client.get(log_url)
        assert listed.status_code == 200, listed.text
        for delivery in listed.json()["results"]:
            if delivery["id"] == delivery_id and delivery["attempts"] >= 1:
                return delivery
        assert time.monotonic() < deadline, f"delivery {delivery_id} was never attempted"
        time.sleep(0.05)


def ping(client: httpx.Client, webhook_url: str) -> dict[str, Any]:
    """Queue a `webhook.test` delivery and wait for its first attempt."""
    queued = client.post(webhook_url + ":test")
    assert queued.status_code == 202, queued.text
    return attempted(client, webhook_url + "/deliveries", queued.json()["id"])
