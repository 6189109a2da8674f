"""How a key is presented (X-Api-Key, Authorization: Bearer, ?apiKey=), that a key in the query
string never reaches a log, and that a request without a valid key is answered before its body
is read."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
import pytest

import writeback.api.fast_write as fast_write
import writeback.api.routes.projects as project_routes
from conftest import Server, running_server

PROBLEM = "application/problem+json"
CLIENT_LOGGERS = {"httpx", "httpcore"}


@dataclass
class Project:
    id: str
    key: str
    client: httpx.Client


@pytest.fixture(scope="module")
def project(server: Server) -> Project:
    made, client = server.new_project("presented")
    key = client.headers["X-Api-Key"]
    return Project(made["id"], key, client)


def write_path(project_id: str) -> str:
    return f"/projects/{project_id}/integrations/none/objects/contact"


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    return response.json()


# --- headers ---------------------------------------------------------------------------------


def test_bearer_key_works_on_every_path(server: Server, project: Project) -> None:
    anonymous = server.client(None)
    for scheme in ("Bearer", "bearer"):
        headers = {"Authorization": f"{scheme} {project.key}"}
        got = anonymous.get(f"/projects/{project.id}", headers=headers)
        assert got.status_code == 200, got.text
        # the write fast path: past authentication, refused for its (empty) body
        wrote = anonymous.post(write_path(project.id), headers=headers, json={})
        assert wrote.status_code == 400, wrote.text
    assert (
        server.client(None)
        .get("/projects", headers={"Authorization": "Bearer wb_nope"})
        .status_code
        == 401
    )


def test_x_api_key_wins_over_authorization(server: Server, project: Project) -> None:
    headers = {"X-Api-Key": project.key, "Authorization": "Bearer wb_wrong"}
    assert server.client(None).get(f"/projects/{project.id}", headers=headers).status_code == 200


def test_other_authorization_schemes_are_named(server: Server, project: Project) -> None:
    anonymous = server.client(None)
    headers = {"Authorization": "Basic dXNlcjpwYXNz"}
    for response in (
        anonymous.get(f"/projects/{project.id}", headers=headers),
        anonymous.post(write_path(project.id), headers=headers, json={}),
    ):
        body = assert_problem(response, 401)
        assert "'Basic'" in body["detail"] and "Bearer" in body["remedy"]


def test_missing_key_remedy_names_both_headers(server: Server, project: Project) -> None:
    anonymous = server.client(None)
    for response in (
        anonymous.get(f"/projects/{project.id}"),
        anonymous.post(write_path(project.id), json={}),
    ):
        remedy = assert_problem(response, 401)["remedy"]
        assert "X-Api-Key" in remedy and "Bearer" in remedy


def test_query_key_works_on_the_write_path(server: Server, project: Project) -> None:
    anonymous = server.client(None)
    response = anonymous.post(write_path(project.id), params={"apiKey": project.key}, json={})
    assert response.status_code == 400, response.text  # authenticated; the body is the problem


def test_query_key_can_be_switched_off(tmp_path: Path) -> None:
    with running_server("sqlite", tmp_path, "no_query_keys", allow_query_api_key=False) as server:
        made, client = server.new_project()
        key = client.headers["X-Api-Key"]
        anonymous = server.client(None)
        for response in (
            anonymous.get(f"/projects/{made['id']}", params={"apiKey": key}),
            anonymous.post(write_path(made["id"]), params={"apiKey": key}, json={}),
        ):
            body = assert_problem(response, 401)
            assert "query string" in body["detail"] and "switched off" in body["detail"]
            assert "X-Api-Key" in body["remedy"]
            assert key not in response.text
        # headers still work
        assert client.get(f"/projects/{made['id']}").status_code == 200


# --- logs ------------------------------------------------------------------------------------


class Captured(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.split(".")[0] in CLIENT_LOGGERS:
            return  # the test's own HTTP client, which logs the URLs it requests
        self.lines.append(self.format(record))  # with the traceback, if any


@pytest.fixture
def captured_logs() -> Iterator[Captured]:
    """Every log line of this process (the test server runs in it), access log included."""
    handler = Captured()
    names = ["", "uvicorn", "uvicorn.error", "uvicorn.access", "writeback"]
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.removeHandler(handler)
            logger.setLevel(level)


def test_a_key_in_the_query_string_is_never_logged(
    server: Server, project: Project, captured_logs: Captured, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("an unexpected failure")

    # two code paths that fail unexpectedly: a FastAPI route and the write fast path
    monkeypatch.setattr(project_routes, "project_json", broken)
    monkeypatch.setattr(fast_write, "visible_project", broken)
    reader = server.admin.post(
        f"/projects/{project.id}/api-keys", json={"label": "r", "scopes": ["read"]}
    ).json()["key"]
    wrong = "wb_wrong-key-that-must-not-be-logged"
    client = httpx.Client(base_url=server.url + "/v1", timeout=30)  # a new connection
    try:
        requests = [
            ("GET", f"/projects/{project.id}", project.key, 500),
            ("POST", write_path(project.id), project.key, 500),
            ("GET", f"/projects/{project.id}/no-such-thing", project.key, 404),
            ("GET", f"/projects/{project.id}", wrong, 401),
            ("POST", write_path(project.id), wrong, 401),
            ("POST", f"/projects/{project.id}/webhooks", reader, 403),
        ]
        for method, path, key, status in requests:
            # a connection each: the server ends one after an unhandled error
            response = client.request(
                method, path, params={"apiKey": key}, json={}, headers={"Connection": "close"}
            )
            assert response.status_code == status, (path, response.text)
    finally:
        client.close()
    text = "\n".join(captured_logs.lines)
    # the capture is real: the failures were logged, with their paths...
    assert f"unhandled error on GET /v1/projects/{project.id}" in text
    assert "unhandled error on a write" in text
    assert "an unexpected failure" in text  # the traceback
    # ...and uvicorn's access log, were it switched on, shows the key redacted
    assert "apiKey=[redacted]" in text
    for key in (project.key, reader, wrong):
        assert key not in text


# --- authentication before the body is read --------------------------------------------------


@dataclass
class Body:
    """A request body made lazily, chunk by chunk, counting what was taken from it."""

    chunks: int
    size: int = 128 * 1024
    taken: int = field(default=0)

    def __iter__(self) -> Iterator[bytes]:
        yield b'{"pad": "'
        for _ in range(self.chunks):
            self.taken += 1
            yield b"x" * self.size
        yield b'"}'

    @property
    def length(self) -> int:
        return self.chunks * self.size + len(b'{"pad": "') + len(b'"}')


def send_request(
    url: str,
    method: str,
    path: str,
    headers: dict[str, str],
    body: Body,
    *,
    chunked: bool,
    whole: bool,
) -> tuple[int, dict[str, str], bytes]:
    """Send the request head, and the body only if `whole`; then read the answer. Without the
    body, a server that reads the body before answering would wait for it: the read times out
    and the test fails."""
    where = urlsplit(url)
    assert where.hostname is not None and where.port is not None
    with socket.create_connection((where.hostname, where.port), timeout=30) as sock:
        framing = (
            {"Transfer-Encoding": "chunked"} if chunked else {"Content-Length": str(body.length)}
        )
        head = {"Host": where.netloc, "Content-Type": "application/json", **framing, **headers}
        lines = [f"{method} /v1{path} HTTP/1.1", *(f"{k}: {v}" for k, v in head.items())]
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        if whole:
            for chunk in body:
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk)
            if chunked:
                sock.sendall(b"0\r\n\r\n")
        return read_answer(sock)


def read_answer(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        more = sock.recv(65536)
        assert more, f"the connection closed without an answer: {data!r}"
        data += more
    head, _, rest = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (h.partition(":") for h in header_lines)}
    length = int(headers["content-length"])
    while len(rest) < length:
        more = sock.recv(65536)
        assert more, "the connection closed in the middle of the answer"
        rest += more
    return int(status_line.split()[1]), headers, rest[:length]


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
@pytest.mark.parametrize("route", ["webhooks", "batch", "write"])
def test_no_valid_key_is_answered_before_the_body_is_read(
    server: Server, project: Project, route: str, chunked: bool
) -> None:
    path, method = {
        "webhooks": (f"/projects/{project.id}/webhooks", "POST"),  # FastAPI routes
        "batch": (f"/projects/{project.id}/integrations:batch", "PUT"),
        "write": (write_path(project.id), "POST"),  # the write fast path
    }[route]
    chunks = 24  # 3 MB: under the body limit, so only the key decides
    for headers in ({}, {"X-Api-Key": "wb_not-a-key"}, {"Authorization": "Bearer wb_nope"}):
        body = Body(chunks)
        status, answer_headers, payload = send_request(
            server.url, method, path, headers, body, chunked=chunked, whole=False
        )
        assert status == 401, payload
        assert answer_headers["content-type"] == PROBLEM
        assert orjson.loads(payload)["status"] == 401
        assert body.taken == 0  # answered while the whole body was still to be sent
    # with a key the server does read the body (and answers about it)
    body = Body(chunks)
    status, _, payload = send_request(
        server.url, method, path, {"X-Api-Key": project.key}, body, chunked=chunked, whole=True
    )
    assert body.taken == chunks
    assert status in (400, 404, 413), payload  # about the body: never a 401
