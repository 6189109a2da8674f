"""Settings from the environment (`WRITEBACK_*`), read and checked once per process.

Every field is read from `WRITEBACK_<FIELD>`; arguments given to `Settings(...)` or
`Settings.from_env(...)` win over the environment. An invalid value stops the process at start
with a `SettingsError` naming the variable. The master and admin keys are `SecretStr`: they
never appear in a repr or a log; `.get_secret_value()` (or `secret_value`) unwraps them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from writeback.store.master_keys import WeakKeyError, parse_master_keys

Positive = Annotated[float, Field(gt=0)]
PositiveInt = Annotated[int, Field(gt=0)]
_ENV_PREFIX = "WRITEBACK_"
_SECRET_FIELDS = frozenset({"secret_key", "admin_key"})
_NEVER_ECHOED = _SECRET_FIELDS | {"database_url"}  # a database URL may carry a password


class SettingsError(ValueError):
    pass


class Settings(BaseSettings):
    """Everything the process is configured with. Build with `Settings.from_env()`."""

    model_config = SettingsConfigDict(
        env_prefix=_ENV_PREFIX,
        env_ignore_empty=True,  # VAR= counts as unset, as it always has
        extra="ignore",  # WRITEBACK_URL, WRITEBACK_API_KEY... belong to the CLI client
        frozen=True,
        allow_inf_nan=False,
        validate_default=False,
    )

    home: Path = Path("./.writeback")
    database_url: str = ""  # empty: SQLite under `home`
    # one or more master keys, comma-separated: the first encrypts, all decrypt (None: key file)
    secret_key: SecretStr | None = None
    admin_key: SecretStr | None = None
    sandbox_url: str | None = None  # sandbox mode: every provider URL points here
    embedded_worker: bool = True  # `serve` runs one worker task in-process
    job_lease_seconds: Positive = 120.0  # a claimed job is taken over after this (a dead worker)
    retry_base_seconds: Positive = 0.5
    retry_max_seconds: Positive = 60.0
    autobatch_minute_seconds: Positive = 60.0  # how long a "minute" of maxDelayMinutes is (tests)
    worker_poll_seconds: Positive = 0.25
    # finished jobs, batches and webhook deliveries are kept this long
    keep_days: Annotated[float, Field(ge=0)] = 7.0
    commit_timeout_seconds: Positive = 10.0  # a write waits this long for the database, then 503
    worker_concurrency: PositiveInt = 32  # jobs one worker runs at once
    # calls in flight per connection over every worker: "16", or "salesforce=16,hubspot=8"
    connection_concurrency: str = ""
    max_attempts: PositiveInt = 25  # claims of one job before it fails for good
    drain_seconds: Positive = 25.0  # on SIGTERM, how long calls in flight may take to finish
    provider_timeout_seconds: Positive = 60.0  # one provider call, from sending to the answer
    token_timeout_seconds: Positive = 15.0  # one token refresh request
    idempotency_hours: Positive = 24.0  # how long an Idempotency-Key is remembered
    # a write whose answer was lost is looked up no sooner than this after the lost attempt:
    # the provider may still be working on a request writeback stopped waiting for
    recovery_delay_seconds: Positive = 10.0
    # the network edge (docs/security.md)
    max_body_bytes: PositiveInt = 4 * 1024 * 1024  # a request body larger than this is a 413
    max_field_chars: PositiveInt = 131_072  # one record field value (Salesforce's longest text)
    max_response_bytes: PositiveInt = 16 * 1024 * 1024  # an outbound answer (provider, webhook)
    # webhook targets on private, loopback, link-local or metadata addresses (local development;
    # sandbox mode turns it on unless set)
    allow_private_webhook_targets: bool | None = None
    allow_query_api_key: bool = True  # `?apiKey=` (Ampersand compatibility); never logged
    webhook_secret_overlap_hours: Positive = 24.0  # a rotated webhook secret still signs this long

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise SettingsError(_describe(exc)) from None

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        """The environment's settings; `overrides` (field names) win over it."""
        if overrides.get("home") is None:
            overrides.pop("home", None)
        return cls(**overrides)

    @model_validator(mode="before")
    @classmethod
    def _default_database(cls, data: Any) -> Any:
        if isinstance(data, dict) and not data.get("database_url"):
            home = Path(str(data.get("home") or "./.writeback")).expanduser()
            data = {
                **data,
                "database_url": f"sqlite+aiosqlite:///{(home / 'writeback.db').resolve()}",
            }
        return data

    @field_validator("home", mode="after")
    @classmethod
    def _expand_home(cls, home: Path) -> Path:
        return home.expanduser()

    @field_validator("database_url", mode="after")
    @classmethod
    def _parseable_database_url(cls, url: str) -> str:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            make_url(url)
        except ArgumentError:
            raise ValueError(
                "is not a database URL (for example postgresql+asyncpg://user:pass@host/db)"
            ) from None
        return url

    @field_validator("secret_key", mode="after")
    @classmethod
    def _strong_master_keys(cls, key: SecretStr | None) -> SecretStr | None:
        if key is not None:
            try:
                parse_master_keys(key.get_secret_value(), f"{_ENV_PREFIX}SECRET_KEY")
            except WeakKeyError as exc:
                raise ValueError(str(exc)) from None
        return key

    @field_validator("sandbox_url", mode="after")
    @classmethod
    def _http_url(cls, url: str | None) -> str | None:
        url = (url or "").strip().rstrip("/")
        if not url:
            return None
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http(s) URL such as http://127.0.0.1:8090")
        return url

    @field_validator("connection_concurrency", mode="after")
    @classmethod
    def _parseable_caps(cls, text: str) -> str:
        _parse_caps(text)
        return text

    def concurrency_caps(self) -> dict[str, int] | int | None:
        """`connection_concurrency` parsed: one number for every provider, or per provider
        (None: the defaults)."""
        return _parse_caps(self.connection_concurrency)

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


def secret_value(value: SecretStr | None) -> str | None:
    """The plain text of a secret setting (None stays None)."""
    return value.get_secret_value() if value is not None else None


def _parse_caps(text: str) -> dict[str, int] | int | None:
    text = text.strip()
    if not text:
        return None
    if "=" not in text:
        return _positive_int(text)
    caps = {}
    for part in text.split(","):
        provider, sign, value = part.partition("=")
        provider = provider.strip().lower()
        if not sign or not provider:
            raise ValueError(f"{part.strip()!r} is not provider=number (e.g. salesforce=16)")
        caps[provider] = _positive_int(value)
    return caps


def _positive_int(text: str) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        raise ValueError(f"{text.strip()!r} is not an integer") from None
    if value <= 0:
        raise ValueError(f"{text.strip()!r} is not greater than 0")
    return value


def _describe(exc: ValidationError) -> str:
    """pydantic's errors as one line per variable: `WRITEBACK_X must be ..., got '...'`."""
    lines = []
    for error in exc.errors(include_url=False):
        field = str(error["loc"][0]) if error["loc"] else ""
        name = f"{_ENV_PREFIX}{field.upper()}"
        raw = error.get("input")
        got = "" if field in _NEVER_ECHOED or isinstance(raw, dict) else f", got {raw!r}"
        kind, ctx = error["type"], error.get("ctx") or {}
        if kind == "greater_than":
            lines.append(f"{name} must be greater than {ctx['gt']:g}{got}")
        elif kind == "greater_than_equal":
            lines.append(f"{name} must be at least {ctx['ge']:g}{got}")
        elif kind in ("int_parsing", "int_from_float"):
            lines.append(f"{name}={raw!r} is not an integer")
        elif kind in ("float_parsing", "finite_number"):
            lines.append(f"{name}={raw!r} is not a number")
        elif kind == "bool_parsing":
            lines.append(f"{name} must be true or false (1/0, yes/no, on/off){got}")
        elif kind == "value_error":
            message = str(ctx.get("error", error["msg"]))
            if field in _SECRET_FIELDS:  # the message names its variable itself
                lines.append(message)
            elif message[:1].islower():
                lines.append(f"{name} {message}{got}")
            else:
                lines.append(f"{name}: {message}")
        else:
            lines.append(f"{name}: {error['msg']}{got}")
    return "; ".join(lines)
