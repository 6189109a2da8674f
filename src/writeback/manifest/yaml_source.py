"""Text → YAML tree with line numbers, or one issue saying why the text is not usable YAML."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.reader import ReaderError

MAX_FLOW_DEPTH = 100
_UNQUOTED_STAR_HINT = 'values starting with "*" must be quoted, e.g. schedule: "*/30 * * * *"'


@dataclass(frozen=True)
class YamlProblem:
    line: int | None
    message: str


def _line_at(text: str, position: int | None) -> int | None:
    if position is None or position < 0:
        return None
    return text.count("\n", 0, position) + 1


def _marked_problem(text: str, exc: MarkedYAMLError) -> YamlProblem:
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark is not None else None
    parts = [part for part in (exc.context, exc.problem) if part]
    message = "invalid YAML: " + ": ".join(parts) if parts else "invalid YAML"
    # An unquoted cron schedule is the most common way to write a YAML alias by accident.
    lines = text.splitlines()
    source_line = lines[line - 1] if line and line <= len(lines) else ""
    if "alias" in message and "*" in source_line:
        message += f" ({_UNQUOTED_STAR_HINT})"
    return YamlProblem(line, message)


def _too_deep_flow(text: str) -> int | None:
    """Line where `[`/`{` nesting passes MAX_FLOW_DEPTH, if it does.

    ruamel slows down sharply on deep flow nesting (seconds at ~1000 levels) before it hits
    the recursion limit, so reject such input up front. Brackets inside quoted strings count
    too; no real manifest comes near the limit either way.
    """
    depth, line = 0, 1
    for char in text:
        if char in "[{":
            depth += 1
            if depth > MAX_FLOW_DEPTH:
                return line
        elif char in "]}":
            depth = max(depth - 1, 0)
        elif char == "\n":
            line += 1
    return None


def load_yaml(text: str) -> tuple[Any, YamlProblem | None]:
    """Parse one YAML document with ruamel's round-trip loader (which keeps line numbers)."""
    deep_line = _too_deep_flow(text)
    if deep_line is not None:
        return None, YamlProblem(
            deep_line, f"invalid YAML: nested deeper than {MAX_FLOW_DEPTH} levels"
        )
    yaml = YAML(typ="rt")
    try:
        return yaml.load(text), None
    except MarkedYAMLError as exc:
        return None, _marked_problem(text, exc)
    except ReaderError as exc:
        return None, YamlProblem(
            _line_at(text, exc.position), f"invalid YAML: {exc.reason} (not a text file?)"
        )
    except YAMLError as exc:
        return None, YamlProblem(None, f"invalid YAML: {exc}")
    except RecursionError:
        return None, YamlProblem(None, "invalid YAML: nesting is too deep")
