"""Migrations create exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from conftest import Server
from writeback.store.engine import create_engine
from writeback.store.tables import Base

EXPECTED_TABLES = {
    "project",
    "api_key",
    "provider_app",
    "integration",
    "revision",
    "customer_group",
    "consumer",
    "connection",
    "installation",
    "installation_config",
    "operation",
    "operation_log",
    "write_job",
    "operation_attempt",
    "idempotency_key",
    "auto_batch",
    "auto_batch_item",
    "webhook",
    "webhook_delivery",
    "secret_keyring",
    "alembic_version",
}


def _schema_state(url: str) -> tuple[set[str], list[object]]:
    async def run() -> tuple[set[str], list[object]]:
        engine = create_engine(url)
        async with engine.connect() as conn:

            def inspect_sync(sync_conn):  # type: ignore[no-untyped-def]
                tables = set(inspect(sync_conn).get_table_names())
                context = MigrationContext.configure(sync_conn, opts={"compare_type": True})
                return tables, compare_metadata(context, Base.metadata)

            result = await conn.run_sync(inspect_sync)
        await engine.dispose()
        return result

    return asyncio.run(run())


def test_migrated_schema_matches_models(server: Server) -> None:
    # the server fixture migrated this database at start-up
    tables, diff = _schema_state(server.settings.database_url)
    assert tables == EXPECTED_TABLES
    assert diff == [], f"models and migrations differ: {diff}"
