"""Rules for the objects of read, write and subscribe sections."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from writeback.manifest.cron import CronError, min_interval_minutes, parse_cron
from writeback.manifest.field_rules import check_unique_map_to_names, is_user_mapping
from writeback.manifest.nodes import Node, Reporter

READ_MIN_INTERVAL_MINUTES = 10
WATCH_SCHEMA_MIN_INTERVAL_MINUTES = 60
PAGE_SIZE_RANGE = (50, 500)
SUBSCRIBE_EVENTS = ("createEvent", "updateEvent", "deleteEvent", "associationChangeEvent")


def check_no_duplicate_objects(items: list[Any], node: Node, rep: Reporter) -> None:
    """An object may appear once per action (it may still appear in read and in write)."""
    seen: set[str] = set()
    for item in node.items():
        name = item.value.get("objectName") if item.is_mapping else None
        if not isinstance(name, str):
            continue
        if name in seen:
            rep.error(item.child("objectName") or item, f'duplicate object "{name}"')
        seen.add(name)


def schedule_check(min_minutes: int) -> Callable[[str, Node, Reporter], None]:
    """A `schedule` rule: five-field cron that never runs more often than `min_minutes`."""

    def check(value: str, node: Node, rep: Reporter) -> None:
        try:
            schedule = parse_cron(value)
        except CronError as exc:
            rep.error(node, f'invalid cron schedule "{value}": {exc}')
            return
        if schedule.minute_is_star:
            rep.error(
                node,
                f'schedule "{value}" runs every minute; the minute field cannot be "*" '
                f'(use e.g. "*/{min_minutes} * * * *")',
            )
            return
        interval = min_interval_minutes(schedule)
        if interval is None:
            rep.error(node, f'schedule "{value}" never runs')
        elif interval < min_minutes:
            rep.error(
                node,
                f'schedule "{value}" is too frequent: runs {interval} minutes apart; '
                f"the minimum interval is {min_minutes} minutes",
            )

    return check


def check_default_period(plain: dict[str, Any], node: Node, rep: Reporter) -> None:
    """`backfill.defaultPeriod`: exactly one of `days` or `fullHistory`."""
    has_days, has_full = node.has("days"), node.has("fullHistory")
    if has_days and has_full:
        rep.error(node, 'set only one of "days" or "fullHistory"')
    elif not has_days and not has_full:
        rep.error(node, 'set one of "days" (0 for no backfill) or "fullHistory: true"')
    elif plain.get("fullHistory") is False:
        rep.error(
            node.child("fullHistory") or node,
            'fullHistory: false selects no period; use "days" (0 for no backfill) instead',
        )


def check_delivery(plain: dict[str, Any], node: Node, rep: Reporter) -> None:
    """`delivery`: `auto` (the default) sizes pages itself; `onRequest` needs a pageSize."""
    mode = plain.get("mode") if node.has("mode") else "auto"
    low, high = PAGE_SIZE_RANGE
    if mode == "auto" and node.has("pageSize"):
        rep.error(node.child("pageSize") or node, 'pageSize is only allowed with mode "onRequest"')
    elif mode == "onRequest" and not node.has("pageSize"):
        rep.error(node, f'mode "onRequest" requires pageSize ({low}-{high})')


def check_read_object(plain: dict[str, Any], node: Node, rep: Reporter) -> None:
    check_unique_map_to_names(node, rep)
    if plain.get("enabled") != "always":
        return
    # Nobody configures an always-on object, so it must read a fixed set of fields.
    required = node.child("requiredFields")
    if required is None or not (required.is_list and required.value):
        rep.error(
            node.child("enabled") or node, 'objects with "enabled: always" need requiredFields'
        )
        return
    for item in required.items():
        if is_user_mapping(item.value):
            rep.error(
                item,
                "a user-defined mapping (mapToName without fieldName) cannot be a required "
                'field of an object with "enabled: always"',
            )


def check_update_event(plain: dict[str, Any], node: Node, rep: Reporter) -> None:
    has_auto, has_fields = node.has("watchFieldsAuto"), node.has("requiredWatchFields")
    if has_auto and has_fields:
        rep.error(node, 'set only one of "watchFieldsAuto" or "requiredWatchFields"')
    elif not has_auto and not has_fields:
        rep.error(node, 'set one of "watchFieldsAuto" or "requiredWatchFields"')


def check_watch_field(value: str, node: Node, rep: Reporter) -> None:
    # Provider change feeds only report top-level fields.
    if any(mark in value for mark in ".[$"):
        rep.error(node, f'watch fields must be top-level fields, not nested paths, got "{value}"')


def check_subscribe_object(plain: dict[str, Any], node: Node, rep: Reporter) -> None:
    # A present but mistyped value has its own error already.
    key = "inheritFieldsAndMapping"
    if (key in plain or not node.has(key)) and plain.get(key) is not True:
        rep.error(
            node.child(key) or node,
            "inheritFieldsAndMapping must be true: in spec version 1.0.0 subscribe objects "
            "take their fields and mapping from the read object",
        )
    if not any(node.has(event) for event in SUBSCRIBE_EVENTS):
        rep.error(
            node, f"subscribe object enables no events; add one of {', '.join(SUBSCRIBE_EVENTS)}"
        )
