"""Fixtures for the HubSpot emulator tests: a fresh tenant per test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from conftest import Sandbox
from sandbox.hubspot.hs_support import HsTenant


@pytest.fixture
def new_hs(sandbox: Sandbox) -> Iterator[Callable[..., HsTenant]]:
    made: list[HsTenant] = []

    def factory(**options: Any) -> HsTenant:
        tenant = HsTenant(sandbox.new_tenant("hubspot", **options), sandbox)
        made.append(tenant)
        return tenant

    yield factory
    for tenant in made:
        for client in tenant._clients:
            client.close()
        sandbox.admin.delete(tenant.admin_base)


@pytest.fixture
def hs(new_hs: Callable[..., HsTenant]) -> HsTenant:
    return new_hs()
