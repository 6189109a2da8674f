"""The outbound HTTP client against a raw TCP server that answers exactly as told."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

from conftest import free_port
from writeback.connectors.contract import ConnectorError
from writeback.connectors.http import ProviderHttp, retry_after_seconds

Answer = Callable[[bytes], bytes | None]


class RawServer:
    """Reads one request at a time and writes whatever `answer(request)` returns."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.connections = 0
        self.requests: list[bytes] = []
        self.port = free_port()
        self.server: asyncio.Server | None = None

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                request = head + (await reader.readexactly(length) if length else b"")
                self.requests.append(request)
                reply = self.answer(request)
                if reply is None:  # hang: never answer
                    await asyncio.sleep(3600)
                writer.write(reply)
                await writer.drain()
                if b"Connection: close" in reply:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[Answer], asyncio.Future[RawServer]]]:
    servers: list[RawServer] = []

    async def start(answer: Answer) -> RawServer:
        raw = RawServer(answer)
        raw.server = await asyncio.start_server(raw.handle, "127.0.0.1", raw.port)
        servers.append(raw)
        return raw

    yield start  # type: ignore[misc]
    for raw in servers:
        assert raw.server is not None
        raw.server.close()


def ok(body: bytes, extra: str = "") -> bytes:
    return (
        f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{extra}"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


async def test_json_request_keep_alive_and_headers(serve) -> None:  # type: ignore[no-untyped-def]
    raw = await serve(lambda request: ok(b'{"id": "1"}', "Retry-After: 3\r\n"))
    http = ProviderHttp()
    first = await http.request(
        "POST", raw.url + "/things?x=1", token="tok", json={"a": 1}, headers=[("X-Extra", "v")]
    )
    second = await http.request("GET", raw.url + "/things", params={"ids": "a,b"})
    assert second.status == 200
    assert first.status == 200 and first.json() == {"id": "1"}
    assert first.headers.get("retry-after") == "3" and first.headers["RETRY-AFTER"] == "3"
    assert retry_after_seconds(first.headers) == 3.0
    assert raw.connections == 1  # the second request reused the connection
    sent = raw.requests[0].decode()
    assert sent.startswith("POST /things?x=1 HTTP/1.1\r\n")
    assert "Authorization: Bearer tok\r\n" in sent and "X-Extra: v\r\n" in sent
    assert sent.endswith('{"a":1}')
    assert raw.requests[1].decode().startswith("GET /things?ids=a%2Cb HTTP/1.1")
    await http.close()


async def test_chunked_body_and_connection_close(serve) -> None:  # type: ignore[no-untyped-def]
    chunked = (
        b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        b'5\r\n{"a":\r\n3\r\n 1}\r\n0\r\n\r\n'
    )
    raw = await serve(lambda request: chunked)
    http = ProviderHttp()
    first = await http.request("GET", raw.url + "/")
    second = await http.request("GET", raw.url + "/")
    assert first.status == 201 and first.json() == {"a": 1} and second.json() == {"a": 1}
    assert raw.connections == 2  # "Connection: close" is honoured
    await http.close()


async def test_form_body(serve) -> None:  # type: ignore[no-untyped-def]
    raw = await serve(lambda request: ok(b"{}"))
    http = ProviderHttp()
    await http.request("POST", raw.url + "/token", form={"grant_type": "refresh_token", "x": "a b"})
    sent = raw.requests[0].decode()
    assert "Content-Type: application/x-www-form-urlencoded" in sent
    assert sent.endswith("grant_type=refresh_token&x=a+b")
    await http.close()


async def test_connection_dropped_mid_answer(serve) -> None:  # type: ignore[no-untyped-def]
    raw = await serve(
        lambda request: b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nConnection: close\r\n\r\n{"
    )
    http = ProviderHttp()
    with pytest.raises(ConnectorError) as caught:
        await http.request("POST", raw.url + "/", json={})
    assert caught.value.error_class == "network" and caught.value.retryable
    assert caught.value.message.startswith(f"lost the answer from {raw.url}")
    # the request was sent: whether the server acted on it is unknown
    assert caught.value.sent and caught.value.outcome_unknown
    await http.close()


async def test_timeout_and_refused_connection(serve) -> None:  # type: ignore[no-untyped-def]
    raw = await serve(lambda request: None)
    http = ProviderHttp(total_timeout=0.3)
    with pytest.raises(ConnectorError, match="no answer") as caught:
        await http.request("GET", raw.url + "/")
    assert caught.value.error_class == "network" and caught.value.outcome_unknown
    with pytest.raises(ConnectorError, match="could not reach") as refused:
        await http.request("GET", f"http://127.0.0.1:{free_port()}/")
    # never connected, so never sent: certainly not carried out
    assert refused.value.error_class == "network" and not refused.value.sent
    await http.close()


async def test_header_injection_is_refused(serve) -> None:  # type: ignore[no-untyped-def]
    raw = await serve(lambda request: ok(b"{}"))
    http = ProviderHttp()
    with pytest.raises(ConnectorError, match="line break"):
        await http.request("GET", raw.url + "/", headers=[("X-A", "v\r\nX-Evil: 1")])
    assert raw.requests == []
    await http.close()
