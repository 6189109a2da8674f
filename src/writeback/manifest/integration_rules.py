"""Rules that look at a whole integration (or the whole file): provider, module, actions."""

from __future__ import annotations

from typing import Any

from writeback import catalog
from writeback.manifest.nodes import Node, Reporter

SPEC_VERSION = "1.0.0"
# Sections that make an integration do something, with the catalog action each one needs.
ACTION_SECTIONS = {"read": "read", "write": "write", "subscribe": "subscribe", "proxy": "proxy"}
# Salesforce Change Data Capture allows few channels per org.
MAX_SUBSCRIBE_OBJECTS = {"salesforce": 5}


def check_spec_version(value: str, node: Node, rep: Reporter) -> None:
    if value != SPEC_VERSION:
        rep.error(node, f'unsupported spec version "{value}"; must be "{SPEC_VERSION}"')


def check_unique_integration_names(items: list[Any], node: Node, rep: Reporter) -> None:
    seen: set[str] = set()
    for item in node.items():
        name = item.value.get("name") if item.is_mapping else None
        if not isinstance(name, str):
            continue
        if name in seen:
            rep.error(item.child("name") or item, f'duplicate integration name "{name}"')
        seen.add(name)


def _check_provider(plain: dict[str, Any], node: Node, rep: Reporter) -> str | None:
    """The provider's catalog name if it is known, else report it and return None."""
    name = plain.get("provider")
    provider_node = node.child("provider")
    if not isinstance(name, str) or provider_node is None:
        return None
    known = catalog.list_providers()
    if name in known:
        return name
    if catalog.get_provider(name) is not None:
        rep.error(provider_node, f'unknown provider "{name}"; did you mean "{name.lower()}"?')
    else:
        rep.error(provider_node, f'unknown provider "{name}"; known providers: {", ".join(known)}')
    return None


def _check_module(plain: dict[str, Any], node: Node, rep: Reporter, provider: str) -> bool:
    module = plain.get("module")
    module_node = node.child("module")
    if module_node is None:
        return True
    if not isinstance(module, str):
        return False  # already reported as a type error
    modules = catalog.module_names(provider)
    if module not in modules:
        rep.error(
            module_node,
            f'provider "{provider}" has no module "{module}"; known modules: {", ".join(modules)}',
        )
        return False
    return True


def _check_action_support(plain: dict[str, Any], node: Node, rep: Reporter, provider: str) -> None:
    module = plain.get("module")
    for section, action in ACTION_SECTIONS.items():
        section_node = node.child(section)
        if section_node is None or catalog.supports(provider, action, module):
            continue
        owner = f'provider "{provider}"'
        if module:
            owner = f'module "{module}" of {owner}'
        rep.error(section_node, f"{owner} does not support {action} actions")


def _read_names(plain: dict[str, Any]) -> set[str]:
    """Object names a write or subscribe object can inherit from: objectName and mapToName."""
    names: set[str] = set()
    for obj in (plain.get("read") or {}).get("objects") or []:
        names.update(obj[key] for key in ("objectName", "mapToName") if key in obj)
    return names


def _check_subscribe(
    plain: dict[str, Any], node: Node, rep: Reporter, provider: str | None
) -> None:
    subscribe = node.child("subscribe")
    if subscribe is None:
        return
    if not node.has("read"):
        rep.error(subscribe, "subscribe requires a read section in the same integration")
    objects = node.at("subscribe", "objects")
    limit = MAX_SUBSCRIBE_OBJECTS.get(provider or "")
    if objects is not None and objects.is_list and limit and len(objects.value) > limit:
        rep.error(
            objects,
            f'provider "{provider}" allows at most {limit} subscribe objects, '
            f"got {len(objects.value)}",
        )
    read_names = _read_names(plain)
    for item in objects.items() if objects is not None and node.has("read") else ():
        name = item.value.get("objectName") if item.is_mapping else None
        if isinstance(name, str) and name not in read_names:
            rep.warning(
                item.child("objectName") or item,
                f'no read object "{name}" to inherit fields and mapping from',
            )


def _check_inherit_mapping(plain: dict[str, Any], node: Node, rep: Reporter) -> None:
    read_names = _read_names(plain)
    objects = node.at("write", "objects")
    for item in objects.items() if objects is not None else ():
        if not item.is_mapping or item.value.get("inheritMapping") is not True:
            continue
        name = item.value.get("objectName")
        if isinstance(name, str) and name not in read_names:
            rep.warning(
                item.child("inheritMapping") or item,
                f'inheritMapping is true but no read object "{name}" defines mappings to inherit',
            )


def check_integration(plain: dict[str, Any], node: Node, rep: Reporter) -> None:
    if not any(node.has(section) for section in ACTION_SECTIONS):
        rep.error(node, f"integration must define at least one of {', '.join(ACTION_SECTIONS)}")
    provider = _check_provider(plain, node, rep)
    if provider is not None and _check_module(plain, node, rep, provider):
        _check_action_support(plain, node, rep, provider)
    _check_subscribe(plain, node, rep, provider)
    _check_inherit_mapping(plain, node, rep)
