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
    commit_timeout_seconds: float = 10.0  # a write waits this long for the database, then 503
    worker_concurrency: int = 32  # jobs one worker runs at once
    # calls in flight per connection over every worker: "16", or "salesforce=16,hubspot=8"
    connection_concurrency: str = ""
    max_attempts: int = 25  # claims of one job before it fails for good
    drain_seconds: float = 25.0  # on SIGTERM, how long calls in flight may take to finish
    provider_timeout_seconds: float = 60.0  # one provider call, from sending to the answer
    token_timeout_seconds: float = 15.0  # one token refresh request
    idempotency_hours: float = 24.0  # how long an Idempotency-Key is remembered
    # a write whose answer was lost is looked up no sooner than this after the lost attempt:
    # the provider may still be working on a request writeback stopped waiting for
    recovery_delay_seconds: float = 10.0
    # the network edge (docs/security.md)
    max_body_bytes: int = 4 * 1024 * 1024  # a request body larger than this is a 413
    max_field_chars: int = 131_072  # one record field value (Salesforce's longest text field)
    max_response_bytes: int = 16 * 1024 * 1024  # an outbound answer (provider, webhook receiver)
    # webhook targets on private, loopback, link-local or metadata addresses (local development;
    # sandbox mode turns it on unless set)
    allow_private_webhook_targets: bool | None = None
    allow_query_api_key: bool = True  # `?apiKey=` (Ampersand compatibility); never logged
    webhook_secret_overlap_hours: float = 24.0  # a rotated webhook secret still signs this long

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
            "commit_timeout_seconds",
            "drain_seconds",
            "provider_timeout_seconds",
            "token_timeout_seconds",
            "idempotency_hours",
            "recovery_delay_seconds",
            "webhook_secret_overlap_hours",
        ):
            raw = os.environ.get(f"WRITEBACK_{name.upper()}")
            if raw:
                values[name] = _number(name, raw, float)
        for name in (
            "worker_concurrency",
            "max_attempts",
            "max_body_bytes",
            "max_field_chars",
            "max_response_bytes",
        ):
            raw = os.environ.get(f"WRITEBACK_{name.upper()}")
            if raw:
                values[name] = _number(name, raw, int)
        for name in ("allow_private_webhook_targets", "allow_query_api_key"):
            raw = os.environ.get(f"WRITEBACK_{name.upper()}")
            if raw:
                values[name] = raw.strip().lower() in ("1", "true", "yes", "on")
        values["connection_concurrency"] = os.environ.get("WRITEBACK_CONNECTION_CONCURRENCY", "")
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]

    def concurrency_caps(self) -> dict[str, int] | int | None:
        """`connection_concurrency` parsed: one number for every provider, or per provider
        (None: the defaults)."""
        text = self.connection_concurrency.strip()
        if not text:
            return None
        if "=" not in text:
            return _number("connection_concurrency", text, int)
        caps = {}
        for part in text.split(","):
            provider, _, value = part.partition("=")
            caps[provider.strip().lower()] = _number("connection_concurrency", value, int)
        return caps

    @property
    def private_webhook_targets_allowed(self) -> bool:
        if self.allow_private_webhook_targets is None:
            return self.sandbox_url is not None
        return self.allow_private_webhook_targets

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def secret_key_file(self) -> Path:
        return self.home / "secret.key"


class SettingsError(ValueError):
    pass


def _number(name: str, raw: str, kind: type[float] | type[int]) -> float | int:
    try:
        value = kind(raw.strip())
    except ValueError:
        raise SettingsError(
            f"WRITEBACK_{name.upper()}={raw!r} is not a{'n integer' if kind is int else ' number'}"
        ) from None
    if value <= 0 and name not in ("keep_days",):
        raise SettingsError(f"WRITEBACK_{name.upper()} must be greater than 0, got {raw!r}")
    return value
