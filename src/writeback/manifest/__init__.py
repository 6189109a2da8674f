"""amp.yaml: parse, validate (every issue with file, line and path) and a typed model.

Use `load_manifest_file(path)` or `parse_manifest(text)`; when `result.ok` is false,
`format_issues(result)` renders the problems for a terminal.
"""

from writeback.manifest.issues import ManifestIssue, ManifestResult, Severity, format_issues
from writeback.manifest.model import (
    FieldSpec,
    IntegrationSpec,
    Manifest,
    ReadObjectSpec,
    WriteObjectSpec,
)
from writeback.manifest.parse import load_manifest_file, parse_manifest

__all__ = [
    "FieldSpec",
    "IntegrationSpec",
    "Manifest",
    "ManifestIssue",
    "ManifestResult",
    "ReadObjectSpec",
    "Severity",
    "WriteObjectSpec",
    "format_issues",
    "load_manifest_file",
    "parse_manifest",
]
