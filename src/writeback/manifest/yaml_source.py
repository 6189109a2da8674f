"""Text → YAML tree with line numbers, or one issue saying why the text is not usable YAML."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.reader import ReaderError

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
    source_line = text.splitlines()[line - 1] if line and line <= len(text.splitlines()) else ""
    if "alias" in message and "*" in source_line:
        message += f" ({_UNQUOTED_STAR_HINT})"
    return YamlProblem(line, message)


def load_yaml(text: str) -> tuple[Any, YamlProblem | None]:
    """Parse one YAML document with ruamel's round-trip loader (which keeps line numbers)."""
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
