"""Problems found in a manifest, and the result object that carries them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from writeback.manifest.model import Manifest

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class ManifestIssue:
    """One problem, located by file, line (1-based) and path inside the document."""

    filename: str
    line: int | None
    path: str
    message: str
    severity: Severity

    def __str__(self) -> str:
        where = self.filename if self.line is None else f"{self.filename}:{self.line}"
        if self.path:
            return f"{where} {self.path}: {self.message}"
        return f"{where}: {self.message}"


@dataclass
class ManifestResult:
    """What parsing produced: a manifest when there are no errors, and every issue found."""

    manifest: Manifest | None
    errors: list[ManifestIssue] = field(default_factory=list)
    warnings: list[ManifestIssue] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def format_issues(result: ManifestResult) -> str:
    """Human-readable listing for the CLI: one line per issue, then a summary line."""
    issues = sorted(
        [*result.errors, *result.warnings],
        key=lambda issue: (issue.filename, issue.line or 0, issue.severity != "error"),
    )
    lines = [f"{issue.severity}: {issue}" for issue in issues]
    if issues:
        lines.append(
            f"{_plural(len(result.errors), 'error')}, {_plural(len(result.warnings), 'warning')}"
        )
    else:
        lines.append("no problems found")
    return "\n".join(lines)
