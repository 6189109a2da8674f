"""Entry points: amp.yaml text or file → ManifestResult. Bad input never raises."""

from __future__ import annotations

from pathlib import Path

from writeback.manifest.issues import ManifestIssue, ManifestResult
from writeback.manifest.model import build_manifest
from writeback.manifest.nodes import Node, Reporter
from writeback.manifest.schema import MANIFEST
from writeback.manifest.specs import INVALID
from writeback.manifest.yaml_source import load_yaml


def _failure(filename: str, line: int | None, message: str) -> ManifestResult:
    return ManifestResult(None, [ManifestIssue(filename, line, "", message, "error")], [])


def _by_line(issues: list[ManifestIssue]) -> list[ManifestIssue]:
    # Rules run depth-first then per section; sorting keeps the report in file order.
    return sorted(issues, key=lambda issue: issue.line or 0)


def parse_manifest(text: str, filename: str = "amp.yaml") -> ManifestResult:
    """Parse and validate amp.yaml `text`; `filename` is only used in messages."""
    if not isinstance(text, str):
        return _failure(filename, None, f"expected text, got {type(text).__name__}")
    data, problem = load_yaml(text)
    if problem is not None:
        return _failure(filename, problem.line, problem.message)
    if data is None:
        return _failure(filename, None, "file is empty; expected specVersion and integrations")
    root_line = getattr(getattr(data, "lc", None), "line", None)
    rep = Reporter(filename)
    document = MANIFEST.validate(Node(data, (), root_line + 1 if root_line is not None else 1), rep)
    errors, warnings = _by_line(rep.errors), _by_line(rep.warnings)
    if errors or document is INVALID:
        return ManifestResult(None, errors, warnings)
    return ManifestResult(build_manifest(document), errors, warnings)


def load_manifest_file(path: str | Path) -> ManifestResult:
    """Read and parse an amp.yaml file; issues name the file as `path` was given."""
    filename = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        return _failure(filename, None, f"cannot read file: {exc.strerror or exc}")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        return _failure(filename, line, "file is not UTF-8 text")
    return parse_manifest(text, filename)
