"""`write.async.done` reaches the project's webhook, signed, when an asynchronous write ends."""

from __future__ import annotations

import json
import time
from typing import Any

from conftest import Sandbox, Server, ServerThread
from writeback.operations.webhooks import verify_signature
from writes.write_support import new_customer


class Receiver:
    """A webhook endpoint: records each delivery; answers 500 to the first `fail_first`."""

    def __init__(self, fail_first: int = 0) -> None:
        self.fail_first = fail_first
        self.deliveries: list[tuple[dict[str, str], bytes]] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        self.deliveries.append((headers, body))
        status = 500 if len(self.deliveries) <= self.fail_first else 200
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})


def wait_until(condition: Any, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_write_async_done_is_delivered_signed(stack: Server, sandbox: Sandbox) -> None:
    customer = new_customer(stack, sandbox, "hubspot")
    receiver = Receiver()
    with ServerThread(receiver) as endpoint:
        made = customer.api.post(
            f"{customer.p}/webhooks", json={"url": endpoint.url + "/hooks/writeback"}
        )
        assert made.status_code == 201, made.text
        secret = made.json()["secret"]
        response = customer.write(
            "companies",
            {"type": "create", "mode": "asynchronous", "record": {"name": "Hooked"}},
        )
        operation_id = response.json()["operationId"]
        wait_until(lambda: receiver.deliveries)
    headers, body = receiver.deliveries[0]
    assert headers["x-writeback-event"] == "write.async.done"
    assert verify_signature(secret, headers["x-writeback-signature"], body)
    assert not verify_signature(secret, headers["x-writeback-signature"], body + b" ")
    payload = json.loads(body)
    assert payload["notificationType"] == "write.async.done"
    data = payload["data"]
    assert data["operationId"] == operation_id
    assert data["success"] is True and data["objectName"] == "companies"
    assert data["groupRef"] == customer.group_ref and data["provider"] == "hubspot"
    assert data["integrationName"] == "hs" and data["consumerRef"] == "user-1"
    assert data["installationId"] == customer.installation["id"]
    operation = customer.operation(operation_id)
    assert data["successfulRecordIds"] == operation["metadata"]["successfulRecordIds"]
    assert data["errors"] == []


def test_failed_write_is_reported_and_deliveries_are_retried(
    stack: Server, sandbox: Sandbox
) -> None:
    customer = new_customer(stack, sandbox, "salesforce")
    receiver = Receiver(fail_first=1)
    with ServerThread(receiver) as endpoint:
        made = customer.api.post(f"{customer.p}/webhooks", json={"url": endpoint.url})
        webhook_id = made.json()["id"]
        response = customer.write(
            "contact",
            {"type": "create", "mode": "asynchronous", "record": {"FirstName": "No last name"}},
        )
        operation_id = response.json()["operationId"]
        # the first delivery gets a 500; the retry (5 s later by default) is the second
        wait_until(lambda: len(receiver.deliveries) >= 2, timeout=30)
    data = json.loads(receiver.deliveries[1][1])["data"]
    assert data["operationId"] == operation_id
    assert data["success"] is False and data["successfulRecordIds"] == []
    assert any("LastName" in error for error in data["errors"])
    log = customer.api.get(f"{customer.p}/webhooks/{webhook_id}/deliveries").json()["results"]
    assert log[0]["status"] == "delivered" and log[0]["attempts"] == 2
