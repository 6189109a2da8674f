"""Which network addresses an outbound request made on a caller's behalf may reach (SSRF).

A webhook URL is chosen by an API caller, and writeback POSTs to it from inside the operator's
network. Without a check, a caller could make writeback reach the loopback interface, the
private network, or a cloud's metadata service (169.254.169.254, which hands out credentials).

Two checks use the rules here: `check_host` when a webhook is created or its URL changed, and
`GuardedResolver` every time a delivery connects, because a name can resolve to a public
address when it is checked and to a private one a minute later (DNS rebinding).
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import socket
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

__all__ = [
    "ALLOW_SETTING",
    "GuardedResolver",
    "TargetRefused",
    "UnresolvableHost",
    "address_kind",
    "check_addresses",
    "check_host",
    "check_literal",
    "name_kind",
    "proxy_hosts",
]

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

ALLOW_SETTING = "WRITEBACK_ALLOW_PRIVATE_WEBHOOK_TARGETS"

# Names that reach a cloud's instance metadata service, whatever they resolve to here.
METADATA_NAMES = frozenset(
    {
        "metadata",
        "metadata.google.internal",
        "metadata.goog",
        "metadata.azure.internal",
        "instance-data",
        "instance-data.ec2.internal",
        "metadata.tencentyun.com",
        "metadata.platformequinix.com",
    }
)

_V4 = ipaddress.IPv4Network
_V6 = ipaddress.IPv6Network
_PRIVATE = (_V4("10.0.0.0/8"), _V4("172.16.0.0/12"), _V4("192.168.0.0/16"), _V6("fc00::/7"))
_CGNAT = _V4("100.64.0.0/10")
_THIS_NETWORK = _V4("0.0.0.0/8")
_METADATA_ADDRESSES = frozenset(
    {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
)
_NAT64 = _V6("64:ff9b::/96")  # a NAT64 gateway forwards these to the embedded IPv4 address


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for, where the network would deliver to it."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address.sixtofour


def address_kind(address: IpAddress) -> str | None:
    """The class of address a webhook must not reach (e.g. "loopback"), or None when public."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            return address_kind(embedded)
    if address in _METADATA_ADDRESSES:  # AWS, GCP, Azure, OCI...: hands out credentials
        return "cloud metadata"
    if address.is_unspecified or address in _THIS_NETWORK:
        return "unspecified"
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if any(address in network for network in _PRIVATE):
        return "private network"
    if address in _CGNAT:
        return "carrier-grade NAT"
    if address.is_multicast:
        return "multicast"
    if address.is_reserved or not address.is_global:
        return "reserved or special-purpose"
    return None


def name_kind(host: str) -> str | None:
    """The class of a host name that must not be reached whatever it resolves to, or None."""
    name = host.rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):  # RFC 6761: always loopback
        return "loopback"
    if name in METADATA_NAMES:
        return "cloud metadata"
    return None


@dataclass(frozen=True)
class _Refusal:
    host: str
    kind: str
    address: str | None = None


class TargetRefused(OSError):
    """The target host is, or resolves to, an address webhooks must not reach.

    An OSError, so that aiohttp reports it from a resolver as a failed connection.
    """

    def __init__(self, host: str, kind: str, address: str | None = None) -> None:
        self.refusal = _Refusal(host, kind, address)
        super().__init__(f"{self.target} ({kind})")

    @property
    def target(self) -> str:
        """The host, and the address it resolved to if that differs; never the receiver's data."""
        host, address = self.refusal.host, self.refusal.address
        return host if address is None or address == host else f"{host} resolves to {address}"

    @property
    def kind(self) -> str:
        return self.refusal.kind


class UnresolvableHost(OSError):
    """The host name did not resolve (or not in time)."""


def _parse(address: str) -> IpAddress | None:
    try:
        return ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone id
    except ValueError:
        return None


def check_literal(host: str) -> bool:
    """Refuse `host` if its name or (for an IP literal) its address is refused.

    True when `host` is an IP literal (so nothing is left to resolve).
    """
    kind = name_kind(host)
    if kind is not None:
        raise TargetRefused(host, kind)
    literal = _parse(host.strip("[]"))
    if literal is None:
        return False
    kind = address_kind(literal)
    if kind is not None:
        raise TargetRefused(host, kind, str(literal))
    return True


def check_addresses(host: str, addresses: Iterable[str]) -> None:
    """Refuse when any address `host` resolved to is refused: a connection may use any."""
    for text in addresses:
        address = _parse(text)
        kind = "unparseable" if address is None else address_kind(address)
        if kind is not None:
            raise TargetRefused(host, kind, text)


async def check_host(host: str, port: int, *, timeout: float = 3.0) -> None:
    """Resolve `host` as a connection would and refuse it if any address is refused."""
    if check_literal(host):
        return
    # The system resolver in a thread, as aiohttp's ThreadedResolver uses it for deliveries
    # (the event loop's own getaddrinfo may differ: uvloop goes through libuv).
    lookup = functools.partial(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM)
    try:
        infos = await asyncio.wait_for(
            asyncio.get_running_loop().run_in_executor(None, lookup), timeout
        )
    except TimeoutError:
        raise UnresolvableHost(f"{host} did not resolve within {timeout:g}s") from None
    except socket.gaierror as exc:
        raise UnresolvableHost(f"{host} does not resolve ({exc.strerror})") from None
    if not infos:
        raise UnresolvableHost(f"{host} does not resolve to any address")
    check_addresses(host, (str(info[4][0]) for info in infos))


def proxy_hosts() -> frozenset[str]:
    """Host names of the egress proxies in the environment (HTTP(S)_PROXY).

    Through a proxy, the connection goes to the proxy, which the operator chose and which may
    well live on the private network; the proxy resolves the target itself.
    """
    hosts = set()
    for url in urllib.request.getproxies().values():
        host = urlsplit(url if "://" in url else f"http://{url}").hostname
        if host:
            hosts.add(host.lower())
    return frozenset(hosts)


class GuardedResolver(AbstractResolver):
    """aiohttp's resolver, refusing names whose addresses webhooks must not reach.

    It runs for every new connection, so a name that changed its answer since the webhook was
    created is caught when the delivery connects. aiohttp does not consult a resolver for IP
    literals: check those with `check_literal` before the request.
    """

    def __init__(
        self, inner: AbstractResolver | None = None, *, exempt: Iterable[str] = ()
    ) -> None:
        self._inner = inner
        self._exempt = frozenset(host.lower() for host in exempt)

    def _resolver(self) -> AbstractResolver:
        if self._inner is None:  # made lazily: ThreadedResolver wants a running loop
            self._inner = ThreadedResolver()
        return self._inner

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        if host.lower() in self._exempt:
            return await self._resolver().resolve(host, port, family)
        check_literal(host)
        results = await self._resolver().resolve(host, port, family)
        check_addresses(host, (result["host"] for result in results))
        return results

    async def close(self) -> None:
        if self._inner is not None:
            await self._inner.close()
