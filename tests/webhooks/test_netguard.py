"""The SSRF rules: which addresses and names a webhook may not reach, and the resolver."""

from __future__ import annotations

import ipaddress

import pytest

from webhooks.fake_dns import FakeDns
from writeback.common.netguard import (
    GuardedResolver,
    TargetRefused,
    UnresolvableHost,
    address_kind,
    check_host,
    check_literal,
    name_kind,
    proxy_hosts,
)


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("127.9.9.9", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private network"),
        ("172.16.0.1", "private network"),
        ("172.31.255.254", "private network"),
        ("192.168.1.1", "private network"),
        ("fd12:3456::1", "private network"),  # ULA, fc00::/7
        ("fc00::1", "private network"),
        ("169.254.169.254", "cloud metadata"),
        ("fd00:ec2::254", "cloud metadata"),  # AWS's IPv6 metadata endpoint
        ("169.254.1.1", "link-local"),
        ("fe80::1", "link-local"),
        ("0.0.0.0", "unspecified"),
        ("0.1.2.3", "unspecified"),
        ("::", "unspecified"),
        ("100.64.0.1", "carrier-grade NAT"),
        ("100.100.100.200", "carrier-grade NAT"),  # Alibaba Cloud's metadata address
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("240.0.0.1", "reserved or special-purpose"),
        ("192.0.2.1", "reserved or special-purpose"),  # documentation range
        ("2001:db8::1", "reserved or special-purpose"),
        # IPv6 spellings of IPv4 addresses are judged by the IPv4 address they reach
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:10.0.0.1", "private network"),
        ("::ffff:169.254.169.254", "cloud metadata"),
        ("64:ff9b::a9fe:a9fe", "cloud metadata"),  # NAT64 of 169.254.169.254
        ("2002:7f00:1::", "loopback"),  # 6to4 of 127.0.0.1
    ],
)
def test_refused_addresses(address: str, kind: str) -> None:
    assert address_kind(ipaddress.ip_address(address)) == kind


@pytest.mark.parametrize(
    "address", ["93.184.215.14", "8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:8"]
)
def test_public_addresses_pass(address: str) -> None:
    assert address_kind(ipaddress.ip_address(address)) is None


def test_names_refused_whatever_they_resolve_to() -> None:
    assert name_kind("localhost") == "loopback"
    assert name_kind("LOCALHOST.") == "loopback"
    assert name_kind("api.localhost") == "loopback"
    assert name_kind("metadata.google.internal") == "cloud metadata"
    assert name_kind("Metadata.Google.Internal.") == "cloud metadata"
    assert name_kind("example.com") is None
    assert name_kind("localhost.example.com") is None


def test_literals_are_checked_without_dns() -> None:
    assert check_literal("93.184.215.14") is True
    assert check_literal("2606:4700::1111") is True
    assert check_literal("example.com") is False
    for host, kind in [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("169.254.169.254", "cloud metadata"),
        ("localhost", "loopback"),
    ]:
        with pytest.raises(TargetRefused) as refused:
            check_literal(host)
        assert refused.value.kind == kind
        assert refused.value.target == host


async def test_check_host_resolves_and_refuses_any_bad_answer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dns = FakeDns.install(monkeypatch)
    dns.names["public.test"] = ["93.184.215.14", "2606:4700::1111"]
    dns.names["mixed.test"] = ["93.184.215.14", "10.0.0.8"]  # one bad answer is enough
    dns.names["v6.test"] = ["fd00::1"]
    await check_host("public.test", 443)
    with pytest.raises(TargetRefused) as refused:
        await check_host("mixed.test", 443)
    assert refused.value.kind == "private network"
    assert refused.value.target == "mixed.test resolves to 10.0.0.8"
    with pytest.raises(TargetRefused, match=r"v6\.test resolves to fd00::1"):
        await check_host("v6.test", 80)
    assert dns.lookups == ["public.test", "mixed.test", "v6.test"]


async def test_check_host_refuses_names_before_resolving_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dns = FakeDns.install(monkeypatch)
    dns.names["metadata.google.internal"] = ["93.184.215.14"]
    with pytest.raises(TargetRefused, match="cloud metadata"):
        await check_host("metadata.google.internal", 80)
    with pytest.raises(TargetRefused, match="loopback"):
        await check_host("localhost", 80)
    assert dns.lookups == []


async def test_unresolvable_names() -> None:
    with pytest.raises(UnresolvableHost, match="does not resolve"):
        await check_host("no-such-host.invalid", 443)  # RFC 6761: never resolves


async def test_guarded_resolver_refuses_private_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    dns = FakeDns.install(monkeypatch)
    dns.names["public.test"] = ["93.184.215.14"]
    dns.names["inside.test"] = ["192.168.0.10"]
    resolver = GuardedResolver()
    try:
        answers = await resolver.resolve("public.test", 443)
        assert [(a["host"], a["port"]) for a in answers] == [("93.184.215.14", 443)]
        with pytest.raises(TargetRefused) as refused:
            await resolver.resolve("inside.test", 443)
        assert refused.value.target == "inside.test resolves to 192.168.0.10"
        assert isinstance(refused.value, OSError)  # so aiohttp reports a failed connection
        with pytest.raises(TargetRefused, match="loopback"):
            await resolver.resolve("localhost", 80)
    finally:
        await resolver.close()


async def test_guarded_resolver_exempts_the_configured_proxy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dns = FakeDns.install(monkeypatch)
    dns.names["proxy.corp.test"] = ["10.9.9.9"]
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.corp.test:3128")
    assert "proxy.corp.test" in proxy_hosts()
    resolver = GuardedResolver(exempt=proxy_hosts())
    try:
        answers = await resolver.resolve("proxy.corp.test", 3128)
        assert [a["host"] for a in answers] == ["10.9.9.9"]
    finally:
        await resolver.close()
