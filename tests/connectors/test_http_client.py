"""The outbound HTTP client against raw TCP servers that answer exactly as told."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import socket
import ssl
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.abc import AbstractResolver, ResolveResult
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from conftest import free_port
from writeback.connectors import http as http_module
from writeback.connectors.contract import ConnectorError
from writeback.connectors.http import (
    RESPONSE_TOO_LARGE,
    TIMED_OUT,
    ProviderHttp,
    retry_after_seconds,
)

Answer = Callable[[bytes], bytes | None]
DROP = b""  # an answer of nothing: close the connection without answering


class RawServer:
    """Reads one request at a time and writes whatever `answer(request)` returns: None hangs,
    DROP closes without answering; a reply with `Connection: close` closes after it."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.connections = 0
        self.requests: list[bytes] = []
        self.port = free_port()
        self.server: asyncio.Server | None = None
        self.ended = asyncio.Event()  # set each time a connection ends

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
                if reply is None:  # hang: never answer, until the client goes away
                    await reader.read()
                    break
                if reply == DROP:
                    break
                writer.write(reply)
                await writer.drain()
                if b"Connection: close" in reply:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()
            self.ended.set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture
async def serve() -> AsyncIterator[Callable[..., Any]]:
    servers: list[RawServer] = []

    async def start(answer: Answer, ssl_context: ssl.SSLContext | None = None) -> RawServer:
        raw = RawServer(answer)
        raw.server = await asyncio.start_server(raw.handle, "127.0.0.1", raw.port, ssl=ssl_context)
        servers.append(raw)
        return raw

    yield start
    for raw in servers:
        assert raw.server is not None
        raw.server.close()


@pytest.fixture(autouse=True)
def no_proxy_from_the_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


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
    assert "retry-after" in first.headers
    assert retry_after_seconds(first.headers) == 3.0
    assert raw.connections == 1  # the second request reused the connection
    sent = raw.requests[0].decode()
    assert sent.startswith("POST /things?x=1 HTTP/1.1\r\n")
    assert "Authorization: Bearer tok\r\n" in sent and "X-Extra: v\r\n" in sent
    assert "User-Agent: writeback/0.1\r\n" in sent and "Accept: application/json\r\n" in sent
    assert "Accept-Encoding" not in sent
    assert sent.endswith('{"a":1}')
    assert raw.requests[1].decode().startswith("GET /things?ids=a%2Cb HTTP/1.1")
    await http.request("DELETE", raw.url + "/things/1")
    assert "Content-Type" not in raw.requests[2].decode()  # no body, no type
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


async def test_body_delimited_by_connection_close(serve) -> None:  # type: ignore[no-untyped-def]
    raw = await serve(lambda request: b'HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n{"a": 2}')
    http = ProviderHttp()
    answer = await http.request("GET", raw.url + "/")
    assert answer.status == 200 and answer.json() == {"a": 2}
    await http.close()


async def test_an_interim_answer_is_not_the_answer(serve) -> None:  # type: ignore[no-untyped-def]
    raw = await serve(
        lambda request: (
            b"HTTP/1.1 100 Continue\r\n\r\n"
            b"HTTP/1.1 103 Early Hints\r\nLink: </a>; rel=preload\r\n\r\n" + ok(b'{"id": "7"}')
        )
    )
    http = ProviderHttp()
    answer = await http.request("POST", raw.url + "/", json={})
    assert answer.status == 200 and answer.json() == {"id": "7"}
    await http.close()


async def test_an_unasked_switch_of_protocols_is_no_answer(serve) -> None:  # type: ignore[no-untyped-def]
    raw = await serve(lambda request: b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n")
    http = ProviderHttp()
    with pytest.raises(ConnectorError, match=r"interim answer \(HTTP 101\)") as caught:
        await http.request("POST", raw.url + "/", json={})
    assert caught.value.sent and caught.value.outcome_unknown
    await http.close()


async def test_form_body(serve) -> None:  # type: ignore[no-untyped-def]
    raw = await serve(lambda request: ok(b"{}"))
    http = ProviderHttp()
    await http.request("POST", raw.url + "/token", form={"grant_type": "refresh_token", "x": "a b"})
    sent = raw.requests[0].decode()
    assert "Content-Type: application/x-www-form-urlencoded" in sent
    assert sent.endswith("grant_type=refresh_token&x=a+b")
    await http.close()


async def test_redirects_are_answers_not_followed(serve) -> None:  # type: ignore[no-untyped-def]
    raw = await serve(
        lambda request: b"HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\nContent-Length: 0\r\n\r\n"
    )
    http = ProviderHttp()
    answer = await http.request("POST", raw.url + "/", json={})
    assert answer.status == 302 and answer.headers["location"] == "/elsewhere"
    assert len(raw.requests) == 1
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


@pytest.mark.parametrize("method", ["POST", "DELETE", "GET"])
async def test_never_sent_twice_when_the_connection_drops(serve, method: str) -> None:  # type: ignore[no-untyped-def]
    """The server reads the second request on the kept-alive connection and closes without
    answering: the caller learns the outcome is unknown, and the request is not sent again
    (aiohttp on its own would resend a DELETE or a GET)."""
    raw = await serve(lambda request: ok(b"{}") if len(raw.requests) == 1 else DROP)
    http = ProviderHttp()
    assert (await http.request(method, raw.url + "/first")).status == 200
    with pytest.raises(ConnectorError) as caught:
        await http.request(method, raw.url + "/second", json={"n": 2})
    assert caught.value.sent and caught.value.outcome_unknown
    assert [request.split(b" ")[1] for request in raw.requests] == [b"/first", b"/second"]
    assert raw.connections == 1
    await http.close()


async def test_idle_connections_expire(serve, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(http_module, "MAX_IDLE_SECONDS", 0.05)
    raw = await serve(lambda request: ok(b"{}"))
    http = ProviderHttp()
    await http.request("GET", raw.url + "/")
    await asyncio.sleep(0.3)  # idle for longer than MAX_IDLE_SECONDS
    await http.request("POST", raw.url + "/", json={})
    assert raw.connections == 2  # the idle connection was not reused
    await http.close()


async def test_oversized_answer_is_refused_unread(serve) -> None:  # type: ignore[no-untyped-def]
    # announces 10 MB and sends 1 KB: refused on the announcement, not after a wait
    raw = await serve(
        lambda request: b"HTTP/1.1 200 OK\r\nContent-Length: 10000000\r\n\r\n" + b"x" * 1024
    )
    http = ProviderHttp(max_response_bytes=1_000_000, total_timeout=30)
    with pytest.raises(ConnectorError) as caught:
        await http.request("POST", raw.url + "/", json={})
    error = caught.value
    assert error.code == RESPONSE_TOO_LARGE and error.sent and error.status == 200
    assert "1,000,000 bytes" in error.message and "WRITEBACK_MAX_RESPONSE_BYTES" in error.message
    await raw.ended.wait()  # the half-read connection was closed, not kept
    await http.close()


async def test_endless_answer_is_cut_at_the_cap() -> None:
    """A chunked answer that never ends: reading stops at the cap (a client that read it all
    would never return) and the connection is closed under the server's feet."""
    written = 0
    stopped = asyncio.Event()

    async def endless(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal written
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        chunk = b"%x\r\n%s\r\n" % (65536, b"y" * 65536)
        try:
            while True:
                writer.write(chunk)
                await writer.drain()
                written += 65536
        except ConnectionError:
            stopped.set()
        finally:
            writer.close()

    port = free_port()
    server = await asyncio.start_server(endless, "127.0.0.1", port)
    http = ProviderHttp(max_response_bytes=1_000_000, total_timeout=30)
    with pytest.raises(ConnectorError) as caught:
        await http.request("GET", f"http://127.0.0.1:{port}/")
    assert caught.value.code == RESPONSE_TOO_LARGE
    await stopped.wait()  # the server could not write on: the client closed the connection
    assert written > 1_000_000
    server.close()
    await http.close()


async def test_timeout_and_refused_connection(serve) -> None:  # type: ignore[no-untyped-def]
    raw = await serve(lambda request: None)
    http = ProviderHttp(total_timeout=0.3)
    with pytest.raises(ConnectorError, match="no answer") as caught:
        await http.request("POST", raw.url + "/", json={})
    assert caught.value.error_class == "network" and caught.value.outcome_unknown
    assert caught.value.code == TIMED_OUT and caught.value.sent
    await raw.ended.wait()  # the connection that timed out was closed
    with pytest.raises(ConnectorError, match="could not reach") as refused:
        await http.request("POST", f"http://127.0.0.1:{free_port()}/", json={})
    # never connected, so never sent: certainly not carried out
    assert refused.value.error_class == "network" and not refused.value.sent
    assert "ConnectionRefusedError" in refused.value.message
    await http.close()


async def test_per_request_timeout_in_the_middle_of_the_body(serve) -> None:  # type: ignore[no-untyped-def]
    raw = await serve(lambda request: b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{")
    http = ProviderHttp()
    with pytest.raises(ConnectorError) as caught:
        await http.request("GET", raw.url + "/", timeout=0.3)
    assert caught.value.code == TIMED_OUT and caught.value.sent
    assert "within 0.3s" in caught.value.message
    await http.close()


async def test_cancelled_request_closes_its_connection(serve) -> None:  # type: ignore[no-untyped-def]
    raw = await serve(lambda request: None if len(raw.requests) == 1 else ok(b"{}"))
    http = ProviderHttp()
    call = asyncio.create_task(http.request("POST", raw.url + "/", json={}))
    while not raw.requests:
        await asyncio.sleep(0.01)
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    await raw.ended.wait()  # closed, not returned to the pool half-used
    assert (await http.request("GET", raw.url + "/")).status == 200
    assert raw.connections == 2
    await http.close()


async def test_header_injection_is_refused(serve) -> None:  # type: ignore[no-untyped-def]
    raw = await serve(lambda request: ok(b"{}"))
    http = ProviderHttp()
    with pytest.raises(ConnectorError, match="line break"):
        await http.request("GET", raw.url + "/", headers=[("X-A", "v\r\nX-Evil: 1")])
    with pytest.raises(ConnectorError, match="control character") as caught:
        await http.request("GET", raw.url + "/", headers=[("X-A", "a\x00b")])
    assert caught.value.error_class == "bad_request" and not caught.value.sent
    assert raw.requests == []
    await http.close()


class MapResolver(AbstractResolver):
    """Answers for the names it knows; refuses the rest the way an SSRF guard would."""

    def __init__(self, names: dict[str, str], refusal: Exception | None = None) -> None:
        self.names = names
        self.refusal = refusal or OSError("refusing a private address (10.0.0.9)")

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        if host not in self.names:
            raise self.refusal
        return [
            ResolveResult(
                hostname=host,
                host=self.names[host],
                port=port,
                family=socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
        ]

    async def close(self) -> None:
        pass


@pytest.mark.parametrize(
    "refusal",
    [
        OSError("refusing a private address (10.0.0.9)"),
        ConnectorError("network", "refusing a private address (10.0.0.9)"),
    ],
)
async def test_a_refusing_resolver_means_not_sent(serve, refusal: Exception) -> None:  # type: ignore[no-untyped-def]
    raw = await serve(lambda request: ok(b"{}"))
    http = ProviderHttp(resolver=MapResolver({"receiver.test": "127.0.0.1"}, refusal))
    answer = await http.request("POST", f"http://receiver.test:{raw.port}/hook", json={})
    assert answer.status == 200 and raw.requests[0].startswith(b"POST /hook HTTP/1.1")
    with pytest.raises(ConnectorError) as caught:
        await http.request("POST", f"http://internal.test:{raw.port}/hook", json={})
    error = caught.value
    assert error.error_class == "network" and not error.sent and not error.outcome_unknown
    assert "refusing a private address (10.0.0.9)" in error.message
    assert error.message.startswith(f"could not reach http://internal.test:{raw.port}")
    assert len(raw.requests) == 1
    await http.close()


async def test_proxy_from_the_environment(serve, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    proxy = await serve(lambda request: ok(b'{"via": "proxy"}'))
    direct = await serve(lambda request: ok(b'{"via": "direct"}'))
    monkeypatch.setenv("HTTP_PROXY", f"http://user:pw@127.0.0.1:{proxy.port}")
    monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.1")
    http = ProviderHttp()
    # the provider's name is resolved by the proxy, not here
    answer = await http.request("POST", "http://provider.invalid/things?a=1", json={"a": 1})
    assert answer.json() == {"via": "proxy"}
    sent = proxy.requests[0].decode()
    assert sent.startswith("POST http://provider.invalid/things?a=1 HTTP/1.1\r\n")
    assert "Proxy-Authorization: Basic dXNlcjpwdw==\r\n" in sent  # user:pw
    # NO_PROXY: straight to the server
    assert (await http.request("GET", direct.url + "/")).json() == {"via": "direct"}
    assert len(proxy.requests) == 1 and len(direct.requests) == 1
    await http.close()


async def test_https_through_a_proxy_that_refuses_the_tunnel(serve, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    proxy = await serve(lambda request: b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
    monkeypatch.setenv("https_proxy", proxy.url)
    http = ProviderHttp()
    with pytest.raises(ConnectorError) as caught:
        await http.request("POST", "https://provider.invalid/things", json={})
    assert caught.value.error_class == "network" and not caught.value.sent
    assert "proxy refused the tunnel (403)" in caught.value.message
    assert proxy.requests[0].startswith(b"CONNECT provider.invalid:443 HTTP/1.1")
    await http.close()


def self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


async def test_tls_is_verified(serve, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    cert, key = self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    raw = await serve(lambda request: ok(b"{}"), context)
    url = f"https://127.0.0.1:{raw.port}/"
    http = ProviderHttp()
    with pytest.raises(ConnectorError) as caught:
        await http.request("POST", url, json={})
    assert not caught.value.sent and "certificate verify failed" in caught.value.message
    assert raw.requests == []
    await http.close()
    # the operator's own CA, the standard way
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    trusting = ProviderHttp()
    assert (await trusting.request("POST", url, json={})).status == 200
    await trusting.close()
