"""Names that resolve to addresses a test chooses, through the process's real resolver path.

`socket.getaddrinfo` is what asyncio's `loop.getaddrinfo` and aiohttp's ThreadedResolver call,
so answers set here reach writeback exactly as DNS answers would (in every thread of the test
process, including test servers). Names not set here resolve as usual.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

import pytest

AddrInfo = tuple[socket.AddressFamily, socket.SocketKind, int, str, tuple[Any, ...]]


class FakeDns:
    def __init__(self) -> None:
        self.names: dict[str, list[str]] = {}
        self.lookups: list[str] = []
        self._real = socket.getaddrinfo

    @classmethod
    def install(cls, monkeypatch: pytest.MonkeyPatch) -> FakeDns:
        dns = cls()
        monkeypatch.setattr(socket, "getaddrinfo", dns.getaddrinfo)
        return dns

    def getaddrinfo(
        self,
        host: Any,
        port: Any,
        family: int = 0,
        type: int = 0,
        proto: int = 0,
        flags: int = 0,
    ) -> list[AddrInfo]:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name not in self.names:
            return self._real(host, port, family, type, proto, flags)
        self.lookups.append(name)
        answers: list[AddrInfo] = []
        for text in self.names[name]:
            address = ipaddress.ip_address(text)
            kind = socket.AF_INET6 if address.version == 6 else socket.AF_INET
            if family not in (0, socket.AF_UNSPEC, kind):
                continue
            number = int(port or 0)
            sockaddr: tuple[Any, ...] = (
                (text, number) if address.version == 4 else (text, number, 0, 0)
            )
            answers.append((kind, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", sockaddr))
        if not answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return answers
