"""The connector that talks to a connection's provider, with an authorised client."""

from __future__ import annotations

from writeback.catalog import provider_urls
from writeback.connectors.client import ProviderClient
from writeback.connectors.credentials import CredentialStore
from writeback.connectors.http import ProviderHttp
from writeback.connectors.hubspot.connector import HubSpotConnector
from writeback.connectors.salesforce.connector import SalesforceConnector
from writeback.connectors.salesforce.instance import InstanceUrlError, instance_url
from writeback.store.tables import Connection


class ConnectionNotUsable(ValueError):
    """The connection's setup keeps writeback from calling its provider: a Salesforce instance
    URL it cannot use, or a provider it has no connector for."""

    def __init__(self, detail: str, remedy: str) -> None:
        super().__init__(detail)
        self.detail = detail
        self.remedy = remedy


def connector_for(
    connection: Connection,
    http: ProviderHttp,
    credentials: CredentialStore,
    sandbox: str | None,
) -> tuple[SalesforceConnector | HubSpotConnector, ProviderClient]:
    client = ProviderClient(http, credentials, connection)
    if connection.provider == "salesforce":
        try:
            base = instance_url(
                connection.provider_metadata, connection.provider_workspace_ref, sandbox
            )
        except InstanceUrlError as exc:
            raise ConnectionNotUsable(
                f"The Salesforce connection's instance URL is not usable: {exc}.",
                "Re-import the connection with the token response's instance_url.",
            ) from exc
        return SalesforceConnector(client, base), client
    urls = provider_urls(connection.provider, sandbox)
    if connection.provider != "hubspot" or urls is None:
        raise ConnectionNotUsable(
            f"writeback has no connector for {connection.provider} (only Salesforce and HubSpot).",
            "Connect the customer's Salesforce or HubSpot account instead.",
        )
    return HubSpotConnector(client, urls.base_url), client
