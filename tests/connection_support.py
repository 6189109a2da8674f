"""The body of `connections:generate` that imports a Salesforce OAuth connection, for tests
that need one connection with known tokens."""

from __future__ import annotations

from typing import Any


def salesforce_connection(
    access: str,
    refresh: str,
    *,
    group: str = "acme",
    consumer: str = "jane",
    workspace: str = "acme",
) -> dict[str, Any]:
    return {
        "groupRef": group,
        "consumerRef": consumer,
        "provider": "salesforce",
        "providerWorkspaceRef": workspace,
        "oauth2AuthorizationCode": {
            "accessToken": {"token": access, "expiresAt": "2030-01-01T00:00:00Z"},
            "refreshToken": {"token": refresh},
        },
    }
