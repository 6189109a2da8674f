"""Provider catalog: what writeback knows about each SaaS (auth URLs, support matrix, limits).

The data is shaped exactly as Ampersand's `ProviderInfo` (catalog.yaml) so the API can serve it
unchanged.
"""

from writeback.catalog.registry import get_provider, list_providers, module_names, supports
from writeback.catalog.support import ACTIONS
from writeback.catalog.urls import ProviderUrls, localize, provider_urls

__all__ = [
    "ACTIONS",
    "ProviderUrls",
    "get_provider",
    "list_providers",
    "localize",
    "module_names",
    "provider_urls",
    "supports",
]
