"""The delivery guarantee under chaos, at test size: scripts/chaos.py's run with 500 writes,
20 % provider faults (answers lost after the write included), access tokens dying every 30 s,
one worker SIGKILLed mid-run and, on a PostgreSQL cluster of its own, one database restart.

Nothing accepted may be lost, nothing may be written twice, every accepted write must reach a
final state. The full-size run (10,000 writes) and its figures are in docs/reliability.md.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import sys
from pathlib import Path
from types import ModuleType

import pytest

from conftest import postgres_url_or_skip

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "chaos.py"


def load_chaos() -> ModuleType:
    spec = importlib.util.spec_from_file_location("chaos", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["chaos"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def can_make_cluster() -> bool:
    """initdb is installed and can run here (as root: as the `postgres` user)."""
    found = list(Path("/usr/lib/postgresql").glob("*/bin/initdb")) or shutil.which("initdb")
    if not found:
        return False
    if os.geteuid() != 0:
        return True
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return False
    return True


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_nothing_lost_nothing_twice_under_chaos(database: str, tmp_path: Path) -> None:
    chaos = load_chaos()
    options = chaos.Options(
        database=database,
        writes=500,
        clients=8,
        kills=1,
        db_restarts=1,
        wait_timeout=600,
        workdir=tmp_path / "chaos",
        quiet=True,
        command=f"tests/test_chaos.py ({database})",
    )
    own_cluster = database == "postgres" and can_make_cluster()
    if database == "postgres" and not own_cluster:
        # a server we cannot restart: the run goes on without the restart
        options.postgres_url = postgres_url_or_skip()
    report = chaos.run(options)
    print(chaos.render(report))
    figures = report.figures
    assert figures.accepted == 500, report.stats.rejected
    assert figures.terminal == figures.accepted  # 100 % terminal
    assert figures.lost == 0, figures.examples
    assert figures.duplicated == 0, figures.examples
    assert figures.failed_but_written == 0, figures.examples
    assert figures.records == figures.written + figures.unknown_not_written, figures.examples
    events = [e.what for e in report.events]
    assert any(e.startswith("SIGKILL") for e in events), events
    if own_cluster:
        assert any(e.startswith("PostgreSQL started again") for e in events), events
    assert report.ok, report.failures
