"""The database schema. Alembic migrations in `migrations/` create exactly these tables."""

from __future__ import annotations

import os
import random
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

_ids = random.Random(os.urandom(32))


def new_id() -> str:
    """A random (version 4) UUID. Seeded once from the OS: one urandom call per id showed up
    as several percent of a write; ids need to be unique, not secret."""
    return str(uuid.UUID(int=_ids.getrandbits(128), version=4))


def utcnow() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every dialect (SQLite drops the zone otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JsonType = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    pass


class Timestamps:
    create_time: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    update_time: Mapped[datetime | None] = mapped_column(UtcDateTime, onupdate=utcnow)


class Project(Timestamps, Base):
    __tablename__ = "project"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    app_name: Mapped[str] = mapped_column(String(128))
    org_id: Mapped[str | None] = mapped_column(String(128))
    # writeback extensions, e.g. {"deliveryPolicy": {"unknownCreateOutcome": "resend"}}
    settings: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)


class ApiKey(Timestamps, Base):
    """Only a keyed digest of the key is stored; the key itself is shown once at creation."""

    __tablename__ = "api_key"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    project_id: Mapped[str | None] = mapped_column(
        ForeignKey("project.id", ondelete="CASCADE"), index=True
    )
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    label: Mapped[str] = mapped_column(String(255))
    scopes: Mapped[list[str]] = mapped_column(JsonType, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)


class ProviderApp(Timestamps, Base):
    __tablename__ = "provider_app"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    project_id: Mapped[str] = mapped_column(
        ForeignKey("project.id", ondelete="CASCADE"), index=True
    )
    provider: Mapped[str] = mapped_column(String(64))
    client_id: Mapped[str] = mapped_column(String(512))
    client_secret_encrypted: Mapped[str] = mapped_column(Text)
    external_ref: Mapped[str | None] = mapped_column(String(255))
    scopes: Mapped[list[str]] = mapped_column(JsonType, default=list)
    app_metadata: Mapped[dict[str, Any]] = mapped_column("metadata", JsonType, default=dict)


class Integration(Timestamps, Base):
    __tablename__ = "integration"
    __table_args__ = (UniqueConstraint("project_id", "name"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    project_id: Mapped[str] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64))
    provider: Mapped[str] = mapped_column(String(64))
    latest_revision_id: Mapped[str | None] = mapped_column(String(36))


class Revision(Base):
    __tablename__ = "revision"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    integration_id: Mapped[str] = mapped_column(
        ForeignKey("integration.id", ondelete="CASCADE"), index=True
    )
    spec_version: Mapped[str] = mapped_column(String(16))
    content: Mapped[dict[str, Any]] = mapped_column(JsonType)
    create_time: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Group(Timestamps, Base):
    __tablename__ = "customer_group"
    __table_args__ = (UniqueConstraint("project_id", "group_ref"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    project_id: Mapped[str] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    group_ref: Mapped[str] = mapped_column(String(255))
    group_name: Mapped[str] = mapped_column(String(255))


class Consumer(Timestamps, Base):
    __tablename__ = "consumer"
    __table_args__ = (UniqueConstraint("project_id", "consumer_ref"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    project_id: Mapped[str] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    consumer_ref: Mapped[str] = mapped_column(String(255))
    consumer_name: Mapped[str] = mapped_column(String(255))


class Connection(Timestamps, Base):
    """A group's credentials for one provider. `credentials_encrypted` holds every token."""

    __tablename__ = "connection"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    project_id: Mapped[str] = mapped_column(
        ForeignKey("project.id", ondelete="CASCADE"), index=True
    )
    provider: Mapped[str] = mapped_column(String(64))
    provider_app_id: Mapped[str | None] = mapped_column(
        ForeignKey("provider_app.id", ondelete="SET NULL")
    )
    group_id: Mapped[str] = mapped_column(ForeignKey("customer_group.id", ondelete="CASCADE"))
    consumer_id: Mapped[str] = mapped_column(ForeignKey("consumer.id", ondelete="CASCADE"))
    provider_workspace_ref: Mapped[str | None] = mapped_column(String(255))
    provider_consumer_ref: Mapped[str | None] = mapped_column(String(512))
    auth_scheme: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(32), default="created")
    credentials_encrypted: Mapped[str] = mapped_column(Text)
    access_token_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    scopes: Mapped[list[str]] = mapped_column(JsonType, default=list)
    provider_metadata: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    # where the connection was authorised (e.g. https://test.salesforce.com for a Salesforce
    # sandbox org): tokens are refreshed there; null means the provider's default host
    login_url: Mapped[str | None] = mapped_column(String(255))
    # one refresh at a time across processes: a short claim, not a long transaction
    refresh_claim: Mapped[str | None] = mapped_column(String(64))
    refresh_claim_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class Installation(Timestamps, Base):
    __tablename__ = "installation"
    __table_args__ = (UniqueConstraint("integration_id", "group_id"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    project_id: Mapped[str] = mapped_column(
        ForeignKey("project.id", ondelete="CASCADE"), index=True
    )
    integration_id: Mapped[str] = mapped_column(ForeignKey("integration.id", ondelete="CASCADE"))
    group_id: Mapped[str] = mapped_column(ForeignKey("customer_group.id", ondelete="CASCADE"))
    connection_id: Mapped[str] = mapped_column(ForeignKey("connection.id", ondelete="RESTRICT"))
    config_id: Mapped[str | None] = mapped_column(String(36))
    health_status: Mapped[str] = mapped_column(String(32), default="healthy")
    last_operation_status: Mapped[str | None] = mapped_column(String(32))
    created_by: Mapped[str] = mapped_column(String(255))


class InstallationConfig(Base):
    """One version of an installation's config; every change writes a new row."""

    __tablename__ = "installation_config"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    installation_id: Mapped[str] = mapped_column(
        ForeignKey("installation.id", ondelete="CASCADE"), index=True
    )
    revision_id: Mapped[str] = mapped_column(String(36))
    created_by: Mapped[str] = mapped_column(String(255))
    content: Mapped[dict[str, Any]] = mapped_column(JsonType)
    create_time: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Operation(Timestamps, Base):
    __tablename__ = "operation"
    __table_args__ = (Index("ix_operation_installation_time", "installation_id", "create_time"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    project_id: Mapped[str] = mapped_column(
        ForeignKey("project.id", ondelete="CASCADE"), index=True
    )
    integration_id: Mapped[str] = mapped_column(String(36))
    installation_id: Mapped[str] = mapped_column(ForeignKey("installation.id", ondelete="CASCADE"))
    config_id: Mapped[str | None] = mapped_column(String(36))
    action_type: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    result: Mapped[str | None] = mapped_column(Text)
    op_metadata: Mapped[dict[str, Any]] = mapped_column("metadata", JsonType, default=dict)


class OperationLog(Base):
    __tablename__ = "operation_log"
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    operation_id: Mapped[str] = mapped_column(
        ForeignKey("operation.id", ondelete="CASCADE"), index=True
    )
    timestamp: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    severity: Mapped[str] = mapped_column(String(16))
    message: Mapped[dict[str, Any]] = mapped_column(JsonType)


class WriteJob(Base):
    """A write waiting for, or in, a worker: an accepted asynchronous write, a flushed
    auto-batch, or a synchronous write in flight (held by the API process that runs it).

    The queue is this table: accepting a write commits its operation and its job together.
    Each claim gets its own `claim_token`; every later change of the job is conditional on it,
    so a worker that lost its claim can change nothing. `sending_attempt` is set, durably,
    before a provider call and cleared once its outcome is known: a job claimed with it set had
    an attempt whose outcome is unknown, and recovers it before anything else.
    """

    __tablename__ = "write_job"
    __table_args__ = (
        Index("ix_write_job_due", "status", "next_attempt_at"),
        Index("ix_write_job_lane", "status", "connection_id", "next_attempt_at"),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    operation_id: Mapped[str] = mapped_column(
        ForeignKey("operation.id", ondelete="CASCADE"), index=True
    )
    project_id: Mapped[str] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    installation_id: Mapped[str] = mapped_column(ForeignKey("installation.id", ondelete="CASCADE"))
    connection_id: Mapped[str | None] = mapped_column(String(36))  # claims rotate across these
    kind: Mapped[str] = mapped_column(String(16))  # "write" | "autobatch"
    payload: Mapped[dict[str, Any]] = mapped_column(JsonType)
    status: Mapped[str] = mapped_column(String(16), default="queued")  # queued|running|done
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # claims so far
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime)
    deadline_at: Mapped[datetime] = mapped_column(UtcDateTime)
    lease_owner: Mapped[str | None] = mapped_column(String(64))  # the worker, for people
    lease_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    claim_token: Mapped[str | None] = mapped_column(String(64))
    sending_attempt: Mapped[int | None] = mapped_column(Integer)
    # when the first attempt that may have written began: a lost answer is looked for among
    # records created since then
    unknown_since: Mapped[datetime | None] = mapped_column(UtcDateTime)
    create_time: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    update_time: Mapped[datetime | None] = mapped_column(UtcDateTime, onupdate=utcnow)


class OperationAttempt(Base):
    """One attempt of a write: recorded before the provider is called (intent before effect),
    finished with what came of it. `status`: sending, then succeeded | failed | retrying |
    unknown (no answer came) | not_sent."""

    __tablename__ = "operation_attempt"
    __table_args__ = (UniqueConstraint("operation_id", "number"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    operation_id: Mapped[str] = mapped_column(ForeignKey("operation.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    claim_token: Mapped[str | None] = mapped_column(String(64))
    worker: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    plan: Mapped[dict[str, Any]] = mapped_column(JsonType)  # what is about to be sent
    outcome: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class IdempotencyKey(Base):
    """An `Idempotency-Key` seen on the Write API: the request it came with and, once the
    write ended, its answer, replayed to later requests with the same key."""

    __tablename__ = "idempotency_key"
    __table_args__ = (
        UniqueConstraint("project_id", "key"),
        Index("ix_idempotency_key_expires", "expires_at"),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    project_id: Mapped[str] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))  # running | done
    claim_token: Mapped[str | None] = mapped_column(String(64))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_headers: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    response_body: Mapped[Any | None] = mapped_column(JsonType)
    operation_id: Mapped[str | None] = mapped_column(String(36))
    create_time: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)


class AutoBatch(Base):
    """Single-record asynchronous writes gathering for one batch call (autoBatchPolicy)."""

    __tablename__ = "auto_batch"
    __table_args__ = (
        Index("ix_auto_batch_open", "installation_id", "object_name", "write_type", "open"),
        Index("ix_auto_batch_flush", "open", "flush_at"),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    operation_id: Mapped[str] = mapped_column(ForeignKey("operation.id", ondelete="CASCADE"))
    project_id: Mapped[str] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    installation_id: Mapped[str] = mapped_column(ForeignKey("installation.id", ondelete="CASCADE"))
    integration_ref: Mapped[str] = mapped_column(String(64))
    object_name: Mapped[str] = mapped_column(String(255))  # the URL object name
    write_type: Mapped[str] = mapped_column(String(16))
    group_ref: Mapped[str] = mapped_column(String(255))
    open: Mapped[bool] = mapped_column(Boolean, default=True)
    size: Mapped[int] = mapped_column(Integer, default=0)
    flush_at: Mapped[datetime] = mapped_column(UtcDateTime)  # first record + its maxDelay
    retry_deadline_hours: Mapped[int] = mapped_column(Integer, default=1)
    create_time: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class AutoBatchItem(Base):
    __tablename__ = "auto_batch_item"
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    batch_id: Mapped[str] = mapped_column(
        ForeignKey("auto_batch.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    record: Mapped[dict[str, Any]] = mapped_column(JsonType)
    associations: Mapped[list[Any] | None] = mapped_column(JsonType)


class Webhook(Timestamps, Base):
    """A project's completion webhook; its signing secret is encrypted at rest."""

    __tablename__ = "webhook"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    project_id: Mapped[str] = mapped_column(
        ForeignKey("project.id", ondelete="CASCADE"), index=True
    )
    url: Mapped[str] = mapped_column(Text)
    events: Mapped[list[str]] = mapped_column(JsonType, default=list)
    secret_encrypted: Mapped[str] = mapped_column(Text)
    # after a rotation the previous secret also signs deliveries until it expires, so
    # receivers can switch over without dropping any
    previous_secret_encrypted: Mapped[str | None] = mapped_column(Text)
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class WebhookDelivery(Base):
    __tablename__ = "webhook_delivery"
    __table_args__ = (Index("ix_webhook_delivery_due", "status", "next_attempt_at"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    webhook_id: Mapped[str] = mapped_column(
        ForeignKey("webhook.id", ondelete="CASCADE"), index=True
    )
    operation_id: Mapped[str | None] = mapped_column(String(36))
    event: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JsonType)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending|delivered|failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    create_time: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class SecretKeyring(Base):
    """Secrets of writeback itself, encrypted with the master key: the API-key digest key (so
    it survives a master key rotation) and a canary that proves the master key is the right one
    before anything is decrypted."""

    __tablename__ = "secret_keyring"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value_encrypted: Mapped[str] = mapped_column(Text)
    create_time: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
