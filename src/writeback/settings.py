"""Settings from the environment, read once per process."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


def _default_home() -> Path:
    return Path(os.environ.get("WRITEBACK_HOME", "./.writeback")).expanduser()


@dataclass(frozen=True)
class Settings:
    """Everything the process is configured with. Build with `Settings.from_env()`."""

    home: Path = field(default_factory=_default_home)
    database_url: str = ""
    secret_key: str | None = None
    admin_key: str | None = None
    sandbox_url: str | None = None  # sandbox mode: every provider URL points here
    embedded_worker: bool = True  # `serve` runs one worker task in-process
    job_lease_seconds: float = 120.0  # a claimed job is taken over after this (a dead worker)
    retry_base_seconds: float = 0.5
    retry_max_seconds: float = 60.0
    autobatch_minute_seconds: float = 60.0  # how long a "minute" of maxDelayMinutes is (tests)
    worker_poll_seconds: float = 0.25
    keep_days: float = 7.0  # finished jobs, batches and webhook deliveries are kept this long

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        home = Path(str(overrides.pop("home", None) or _default_home())).expanduser()
        values: dict[str, object] = {
            "home": home,
            "database_url": os.environ.get("WRITEBACK_DATABASE_URL")
            or f"sqlite+aiosqlite:///{(home / 'writeback.db').resolve()}",
            "secret_key": os.environ.get("WRITEBACK_SECRET_KEY") or None,
            "admin_key": os.environ.get("WRITEBACK_ADMIN_KEY") or None,
            "sandbox_url": os.environ.get("WRITEBACK_SANDBOX_URL", "").strip().rstrip("/") or None,
            "embedded_worker": os.environ.get("WRITEBACK_EMBEDDED_WORKER", "1") != "0",
        }
        for name in (
            "job_lease_seconds",
            "retry_base_seconds",
            "retry_max_seconds",
            "autobatch_minute_seconds",
            "worker_poll_seconds",
            "keep_days",
        ):
            raw = os.environ.get(f"WRITEBACK_{name.upper()}")
            if raw:
                values[name] = float(raw)
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def secret_key_file(self) -> Path:
        return self.home / "secret.key"
