"""The long-lived parts of a writeback process, built the same way for `serve` and `worker`."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from writeback.connectors.credentials import CredentialStore
from writeback.connectors.http import ProviderHttp
from writeback.operations.claims import ClaimKeeper, ConcurrencyCaps
from writeback.operations.delivery import Delivery
from writeback.operations.retry import RetryPolicy
from writeback.operations.worker import Worker, WorkerLimits, worker_name
from writeback.settings import Settings
from writeback.store.committer import GroupCommitter
from writeback.store.engine import create_engine, session_factory
from writeback.store.keyring import open_secret_box
from writeback.store.migrate import upgrade_to_head
from writeback.store.secrets import SecretBox
from writeback.writes.executor import WriteExecutor


@dataclass
class Services:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker
    box: SecretBox
    http: ProviderHttp
    credentials: CredentialStore
    committer: GroupCommitter
    keeper: ClaimKeeper
    executor: WriteExecutor
    delivery: Delivery

    async def close(self) -> None:
        await self.keeper.close()
        await self.committer.close()
        await self.http.close()
        await self.engine.dispose()


async def build_services(settings: Settings, *, migrate: bool = False) -> Services:
    """Needs the database: migrates it when asked, then opens the keyring (the digest key,
    the master key check: raises WrongMasterKey)."""
    engine = create_engine(settings.database_url)
    try:
        if migrate:
            await upgrade_to_head(engine)
        box = await open_secret_box(settings, engine)
    except BaseException:
        await engine.dispose()
        raise
    sessions = session_factory(engine)
    http = ProviderHttp(
        total_timeout=settings.provider_timeout_seconds,
        max_response_bytes=settings.max_response_bytes,
    )
    credentials = CredentialStore(
        sessions, box, http, settings.sandbox_url, refresh_timeout=settings.token_timeout_seconds
    )
    committer = GroupCommitter(engine, timeout=settings.commit_timeout_seconds)
    keeper = ClaimKeeper(committer, settings.job_lease_seconds)
    executor = WriteExecutor(
        sessions, http, credentials, settings.sandbox_url, max_field_chars=settings.max_field_chars
    )
    delivery = Delivery(
        executor,
        committer,
        keeper,
        owner=worker_name(),
        autobatch_minute_seconds=settings.autobatch_minute_seconds,
        recovery_delay=settings.recovery_delay_seconds,
    )
    return Services(
        settings, engine, sessions, box, http, credentials, committer, keeper, executor, delivery
    )


def concurrency_caps(settings: Settings) -> ConcurrencyCaps:
    given = settings.concurrency_caps()
    defaults = ConcurrencyCaps()
    if given is None:
        return defaults
    if isinstance(given, int):
        return ConcurrencyCaps(default=given, per_provider={})
    return ConcurrencyCaps(defaults.default, {**defaults.per_provider, **given})


def build_worker(services: Services) -> Worker:
    from writeback.operations.webhooks import build_deliverer

    settings = services.settings
    worker = Worker(
        engine=services.engine,
        committer=services.committer,
        executor=services.executor,
        keeper=services.keeper,
        retry=RetryPolicy(settings.retry_base_seconds, settings.retry_max_seconds),
        poll_seconds=settings.worker_poll_seconds,
        limits=WorkerLimits(
            concurrency=settings.worker_concurrency,
            max_attempts=settings.max_attempts,
            caps=concurrency_caps(settings),
        ),
        keep_days=settings.keep_days,
        recovery_delay=settings.recovery_delay_seconds,
        # its own HTTP client (receivers are not providers), checking targets (SSRF)
        deliverer=build_deliverer(services.engine, services.box, settings),
    )
    services.delivery.on_enqueued = worker.poke
    return worker
