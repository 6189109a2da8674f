"""The long-lived parts of a writeback process, built the same way for `serve` and `worker`."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from writeback.connectors.credentials import CredentialStore
from writeback.connectors.http import ProviderHttp
from writeback.operations.committer import GroupCommitter
from writeback.operations.retry import RetryPolicy
from writeback.operations.worker import Worker
from writeback.settings import Settings
from writeback.store.engine import create_engine, session_factory
from writeback.store.secrets import SecretBox
from writeback.writes.executor import WriteService


@dataclass
class Services:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker
    box: SecretBox
    http: ProviderHttp
    credentials: CredentialStore
    committer: GroupCommitter
    writes: WriteService

    async def close(self) -> None:
        await self.committer.close()
        await self.http.close()
        await self.engine.dispose()


def build_services(settings: Settings) -> Services:
    engine = create_engine(settings.database_url)
    sessions = session_factory(engine)
    box = SecretBox.from_settings(settings)
    http = ProviderHttp()
    credentials = CredentialStore(sessions, box, http, settings.sandbox_url)
    committer = GroupCommitter(engine)
    writes = WriteService(
        sessions,
        http,
        credentials,
        committer,
        settings.sandbox_url,
        autobatch_minute_seconds=settings.autobatch_minute_seconds,
    )
    return Services(settings, engine, sessions, box, http, credentials, committer, writes)


def build_worker(services: Services) -> Worker:
    from writeback.operations.webhooks import WebhookDeliverer

    settings = services.settings
    worker = Worker(
        engine=services.engine,
        committer=services.committer,
        writes=services.writes,
        retry=RetryPolicy(settings.retry_base_seconds, settings.retry_max_seconds),
        lease_seconds=settings.job_lease_seconds,
        poll_seconds=settings.worker_poll_seconds,
        keep_days=settings.keep_days,
        # its own HTTP client: webhook receivers are not providers, and a slow one must not
        # hold connections the provider calls need
        deliverer=WebhookDeliverer(services.engine, services.box, ProviderHttp(total_timeout=10)),
    )
    services.writes.on_enqueued = worker.poke
    return worker
