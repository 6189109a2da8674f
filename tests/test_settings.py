"""Settings from the environment: names, defaults, overrides, refusals that name the variable,
and secrets that never show in a repr."""

from __future__ import annotations

from pathlib import Path

import pytest

from writeback.settings import Settings, SettingsError, secret_value
from writeback.store.master_keys import generate_master_key


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("WRITEBACK_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("WRITEBACK_HOME", str(tmp_path / "home"))


def test_defaults_and_the_database_under_home(tmp_path: Path) -> None:
    settings = Settings.from_env()
    assert settings.home == tmp_path / "home"
    assert settings.database_url == f"sqlite+aiosqlite:///{tmp_path / 'home' / 'writeback.db'}"
    assert settings.is_sqlite and settings.secret_key_file == tmp_path / "home" / "secret.key"
    assert settings.job_lease_seconds == 120 and settings.worker_concurrency == 32
    assert settings.embedded_worker and settings.allow_query_api_key
    assert settings.concurrency_caps() is None
    assert settings.private_webhook_targets_allowed is False
    moved = Settings.from_env(home=tmp_path / "elsewhere")
    assert moved.database_url.endswith(f"{tmp_path / 'elsewhere' / 'writeback.db'}")
    assert Settings.from_env(home=None).home == tmp_path / "home"


def test_environment_values_and_overrides_that_win(monkeypatch: pytest.MonkeyPatch) -> None:
    key = generate_master_key()
    monkeypatch.setenv("WRITEBACK_DATABASE_URL", "postgresql+asyncpg://u:p@db/writeback")
    monkeypatch.setenv("WRITEBACK_SECRET_KEY", key)
    monkeypatch.setenv("WRITEBACK_JOB_LEASE_SECONDS", "30")
    monkeypatch.setenv("WRITEBACK_MAX_BODY_BYTES", "1000")
    monkeypatch.setenv("WRITEBACK_EMBEDDED_WORKER", "0")
    monkeypatch.setenv("WRITEBACK_ALLOW_QUERY_API_KEY", "false")
    monkeypatch.setenv("WRITEBACK_SANDBOX_URL", " http://127.0.0.1:8090/ ")
    monkeypatch.setenv("WRITEBACK_CONNECTION_CONCURRENCY", "Salesforce=16, hubspot=8")
    monkeypatch.setenv("WRITEBACK_ADMIN_KEY", "")  # empty counts as unset
    settings = Settings.from_env(job_lease_seconds=5.0)
    assert settings.database_url == "postgresql+asyncpg://u:p@db/writeback"
    assert not settings.is_sqlite
    assert secret_value(settings.secret_key) == key and settings.admin_key is None
    assert settings.job_lease_seconds == 5.0  # the override wins
    assert settings.max_body_bytes == 1000
    assert settings.embedded_worker is False and settings.allow_query_api_key is False
    assert settings.sandbox_url == "http://127.0.0.1:8090"
    assert settings.private_webhook_targets_allowed  # sandbox mode allows them unless set
    assert settings.concurrency_caps() == {"salesforce": 16, "hubspot": 8}
    assert Settings.from_env(connection_concurrency="12").concurrency_caps() == 12


def test_secrets_never_show_in_repr_or_str(monkeypatch: pytest.MonkeyPatch) -> None:
    key, admin = generate_master_key(), "wbadmin_do-not-print-me"
    monkeypatch.setenv("WRITEBACK_SECRET_KEY", key)
    monkeypatch.setenv("WRITEBACK_ADMIN_KEY", admin)
    settings = Settings.from_env()
    for shown in (repr(settings), str(settings), str(settings.model_dump())):
        assert key not in shown and admin not in shown
    assert secret_value(settings.admin_key) == admin


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("JOB_LEASE_SECONDS", "0", "WRITEBACK_JOB_LEASE_SECONDS must be greater than 0, got '0'"),
        ("JOB_LEASE_SECONDS", "-5", "WRITEBACK_JOB_LEASE_SECONDS must be greater than 0"),
        ("WORKER_CONCURRENCY", "0", "WRITEBACK_WORKER_CONCURRENCY must be greater than 0"),
        ("MAX_ATTEMPTS", "many", "WRITEBACK_MAX_ATTEMPTS='many' is not an integer"),
        ("RETRY_BASE_SECONDS", "soon", "WRITEBACK_RETRY_BASE_SECONDS='soon' is not a number"),
        ("DRAIN_SECONDS", "nan", "WRITEBACK_DRAIN_SECONDS='nan' is not a number"),
        ("KEEP_DAYS", "-1", "WRITEBACK_KEEP_DAYS must be at least 0"),
        ("EMBEDDED_WORKER", "maybe", "WRITEBACK_EMBEDDED_WORKER must be true or false"),
        ("CONNECTION_CONCURRENCY", "lots", "WRITEBACK_CONNECTION_CONCURRENCY: 'lots' is not"),
        ("CONNECTION_CONCURRENCY", "salesforce=0", "'0' is not greater than 0"),
        ("CONNECTION_CONCURRENCY", "=4", "WRITEBACK_CONNECTION_CONCURRENCY: '=4' is not"),
        ("SANDBOX_URL", "localhost:8090", "WRITEBACK_SANDBOX_URL must be an http(s) URL"),
        ("DATABASE_URL", "not a url", "WRITEBACK_DATABASE_URL is not a database URL"),
        ("SECRET_KEY", "hunter2", "WRITEBACK_SECRET_KEY is too weak"),
    ],
)
def test_invalid_values_are_refused_with_the_variable_name(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(f"WRITEBACK_{variable}", value)
    with pytest.raises(SettingsError) as refused:
        Settings.from_env()
    assert message in str(refused.value)
    if variable in ("SECRET_KEY", "DATABASE_URL"):  # keys and passwords are never echoed
        assert value not in str(refused.value)


def test_direct_construction_is_checked_too() -> None:
    with pytest.raises(SettingsError, match="WRITEBACK_MAX_ATTEMPTS must be greater than 0"):
        Settings(max_attempts=0)


def test_settings_are_immutable() -> None:
    settings = Settings.from_env()
    with pytest.raises(Exception, match="frozen"):
        settings.job_lease_seconds = 1.0  # type: ignore[misc]
