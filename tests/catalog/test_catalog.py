"""The provider catalog: shape (catalog.yaml ProviderInfo), facts, lookups, copies."""

from __future__ import annotations

import json
from typing import Any

import pytest

from writeback import catalog
from writeback.catalog import registry, urls

SUPPORT_REQUIRED = {"bulkWrite", "proxy", "read", "subscribe", "write", "delete", "search"}
PROVIDER_REQUIRED = {"name", "baseURL", "authType", "support", "defaultModule"}
OAUTH2_REQUIRED = {
    "grantType",
    "tokenURL",
    "explicitScopesRequired",
    "explicitWorkspaceRequired",
    "tokenMetadataFields",
}


def _assert_support_shape(support: dict[str, Any]) -> None:
    assert set(support) >= SUPPORT_REQUIRED
    assert set(support["bulkWrite"]) == {"insert", "update", "upsert", "delete"}
    assert set(support["batchWrite"]) == {"create", "update", "upsert", "delete"}
    for config in support["batchWrite"].values():
        assert isinstance(config["supported"], bool)
    assert isinstance(support["search"]["operators"]["equals"], bool)


def test_lists_salesforce_and_hubspot() -> None:
    assert list(catalog.list_providers()) == ["hubspot", "salesforce"]


@pytest.mark.parametrize("name", ["salesforce", "hubspot"])
def test_provider_info_has_the_catalog_yaml_shape(name: str) -> None:
    info = catalog.list_providers()[name]
    assert set(info) >= PROVIDER_REQUIRED
    assert info["name"] == name
    assert info["authType"] == "oauth2"
    assert set(info["oauth2Opts"]) >= OAUTH2_REQUIRED
    assert info["oauth2Opts"]["grantType"] == "authorizationCode"
    _assert_support_shape(info["support"])
    assert info["defaultModule"] in info["modules"]
    for module in info["modules"].values():
        assert {"displayName", "baseURL", "support"} <= set(module)
        _assert_support_shape(module["support"])
    json.dumps(info)  # served as-is by the API


def test_salesforce_facts() -> None:
    info = catalog.get_provider("salesforce")
    assert info is not None
    assert info["displayName"] == "Salesforce"
    assert info["baseURL"] == "https://{{.workspace}}.my.salesforce.com"
    oauth = info["oauth2Opts"]
    assert oauth["authURL"] == "https://login.salesforce.com/services/oauth2/authorize"
    assert oauth["tokenURL"] == "https://login.salesforce.com/services/oauth2/token"
    assert oauth["explicitWorkspaceRequired"] is True
    assert oauth["explicitScopesRequired"] is False
    assert oauth["tokenMetadataFields"]["workspaceRefField"] == "instance_url"
    batch = info["modules"]["crm"]["support"]["batchWrite"]
    assert batch["create"] == {
        "supported": True,
        "defaultRecordLimit": 100,
        "objectRecordLimits": {},
    }
    assert batch["update"]["defaultRecordLimit"] == 100
    assert batch["upsert"] == {"supported": False}
    assert batch["delete"] == {"supported": False}
    assert info["support"]["bulkWrite"] == {
        "insert": False,
        "update": False,
        "upsert": True,
        "delete": True,
    }
    assert info["metadata"]["input"][0]["name"] == "workspace"


def test_hubspot_facts() -> None:
    info = catalog.get_provider("hubspot")
    assert info is not None
    assert info["displayName"] == "HubSpot"
    assert info["baseURL"] == "https://api.hubapi.com"
    oauth = info["oauth2Opts"]
    assert oauth["authURL"] == "https://app.hubspot.com/oauth/authorize"
    assert oauth["tokenURL"] == "https://api.hubapi.com/oauth/v1/token"
    assert oauth["explicitScopesRequired"] is True
    assert oauth["explicitWorkspaceRequired"] is False
    for kind in ("create", "update", "upsert", "delete"):
        config = info["modules"]["crm"]["support"]["batchWrite"][kind]
        assert config["supported"] is True
        assert config["defaultRecordLimit"] == 100
    assert not any(info["support"]["bulkWrite"].values())


def test_get_provider_is_case_insensitive_and_none_when_unknown() -> None:
    assert catalog.get_provider("HubSpot") == catalog.get_provider("hubspot")
    assert catalog.get_provider("SALESFORCE") is not None
    assert catalog.get_provider("pipedrive") is None
    assert catalog.get_provider("") is None


def test_results_are_fresh_copies() -> None:
    first = catalog.list_providers()
    first["hubspot"]["support"]["write"] = False
    first["hubspot"]["modules"]["crm"]["baseURL"] = "changed"
    del first["salesforce"]
    again = catalog.list_providers()
    assert again["hubspot"]["support"]["write"] is True
    assert again["hubspot"]["modules"]["crm"]["baseURL"] == "https://api.hubapi.com/crm"
    assert "salesforce" in again

    one = catalog.get_provider("salesforce")
    assert one is not None
    one["oauth2Opts"]["tokenURL"] = "changed"
    assert catalog.get_provider("salesforce")["oauth2Opts"]["tokenURL"].startswith("https://")  # type: ignore[index]


@pytest.mark.parametrize("provider", ["salesforce", "hubspot", "HubSpot"])
@pytest.mark.parametrize("action", ["read", "write", "delete", "proxy", "subscribe"])
def test_both_providers_support_every_action(provider: str, action: str) -> None:
    assert catalog.supports(provider, action)
    assert catalog.supports(provider, action, "crm")


def test_supports_is_false_for_unknown_provider_or_module() -> None:
    assert catalog.supports("pipedrive", "write") is False
    assert catalog.supports("salesforce", "write", "marketing") is False


def test_supports_rejects_unknown_actions() -> None:
    with pytest.raises(ValueError, match="unknown action 'bulk'"):
        catalog.supports("salesforce", "bulk")


def _fake_provider() -> dict[str, Any]:
    def flags(**on: bool) -> dict[str, Any]:
        base = dict.fromkeys(("read", "write", "delete", "proxy", "subscribe"), False)
        return {**base, **on}

    return {
        "name": "fake",
        "support": flags(read=True, write=True),
        "modules": {
            "narrow": {"support": flags(read=True)},
            "wide": {"support": flags(read=True, write=True, subscribe=True)},
        },
    }


def test_module_support_overrides_provider_support(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(registry._BUILDERS, "fake", _fake_provider)
    assert catalog.supports("fake", "write") is True
    assert catalog.supports("fake", "subscribe") is False
    assert catalog.supports("fake", "write", "narrow") is False
    assert catalog.supports("fake", "subscribe", "wide") is True
    assert catalog.module_names("fake") == ["narrow", "wide"]


def test_module_names() -> None:
    assert catalog.module_names("salesforce") == ["crm"]
    assert catalog.module_names("HUBSPOT") == ["crm"]
    assert catalog.module_names("pipedrive") == []


def test_provider_urls_match_the_catalog() -> None:
    for name, info in catalog.list_providers().items():
        provider_urls = catalog.provider_urls(name)
        assert provider_urls is not None
        assert provider_urls.base_url == info["baseURL"]
        assert provider_urls.auth_url == info["oauth2Opts"]["authURL"]
        assert provider_urls.token_url == info["oauth2Opts"]["tokenURL"]
        for module, module_info in info["modules"].items():
            assert provider_urls.module_base_urls[module] == module_info["baseURL"]
    assert catalog.provider_urls("Salesforce") == catalog.provider_urls("salesforce")
    assert catalog.provider_urls("pipedrive") is None


def test_urls_live_in_one_place(monkeypatch: pytest.MonkeyPatch) -> None:
    # The sandbox mode will rewrite URLs; every catalog URL must come from urls.py.
    local = urls.ProviderUrls(
        base_url="http://127.0.0.1:9000",
        auth_url="http://127.0.0.1:9000/oauth/authorize",
        token_url="http://127.0.0.1:9000/oauth/v1/token",
        module_base_urls={"crm": "http://127.0.0.1:9000/crm"},
    )
    monkeypatch.setitem(urls._URLS, "hubspot", local)
    text = json.dumps(catalog.get_provider("hubspot"))
    assert "hubapi.com" not in text
    assert "hubspot.com" not in text
    assert "http://127.0.0.1:9000/oauth/v1/token" in text
