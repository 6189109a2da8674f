"""Completion webhooks: CRUD, the delivery log, and a test ping.

The signing secret is shown once, in the create response, and is encrypted at rest.
"""

from __future__ import annotations

import secrets
from typing import Any, Literal
from urllib.parse import urlsplit

from fastapi import APIRouter, Query, Response
from pydantic import Field
from sqlalchemy import and_, or_, select

from writeback.api.deps import Ctx, CtxDep
from writeback.api.models import RequestBody
from writeback.api.pagination import decode_page_token, encode_page_token
from writeback.api.problems import ApiProblem, bad_input, issue, not_found
from writeback.api.serialize import compact, times, ts
from writeback.operations.webhooks import DELIVERY_STATUSES, EVENTS, enqueue_test_delivery
from writeback.store.tables import Webhook, WebhookDelivery

router = APIRouter(tags=["webhooks"])

PATH = "/projects/{projectIdOrName}/webhooks"
MIN_SECRET = 16
MAX_SECRET = 256
MAX_URL = 2048


def webhook_json(hook: Webhook, secret: str | None = None) -> dict[str, Any]:
    return compact(
        {
            "id": hook.id,
            "projectId": hook.project_id,
            "url": hook.url,
            "events": list(hook.events or []),
            "active": hook.active,
            "secret": secret,  # only given on create
            **times(hook),
        }
    )


def delivery_json(delivery: WebhookDelivery) -> dict[str, Any]:
    pending = delivery.status == "pending"
    return compact(
        {
            "id": delivery.id,
            "webhookId": delivery.webhook_id,
            "event": delivery.event,
            "operationId": delivery.operation_id,
            "status": delivery.status,
            "attempts": delivery.attempts,
            "lastStatusCode": delivery.last_status_code,
            "lastError": delivery.last_error,
            "createTime": ts(delivery.create_time),
            "nextAttemptTime": ts(delivery.next_attempt_at) if pending else None,
            "deliveredTime": ts(delivery.delivered_at),
            "payload": delivery.payload,
        }
    )


class CreateWebhook(RequestBody):
    url: str
    events: list[str] | None = None
    # Lengths are checked by hand: pydantic's error would echo the (secret) value back.
    secret: str | None = None
    active: bool = True


class WebhookFields(RequestBody):
    url: str | None = None
    events: list[str] | None = None
    secret: str | None = None
    active: bool | None = None


WebhookMask = Literal["url", "events", "active", "secret"]


class UpdateWebhook(RequestBody):
    updateMask: list[WebhookMask] = Field(min_length=1)
    webhook: WebhookFields


def _checked_url(url: str, field: str) -> str:
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > MAX_URL:
        raise bad_input(
            field,
            f"must be an absolute http(s) URL of at most {MAX_URL} characters",
            'Send e.g. "https://app.example.com/hooks/writeback".',
            url[:200],
        )
    return url


def _checked_events(events: list[str] | None, field: str) -> list[str]:
    if events is None:
        return list(EVENTS)
    if not events:
        raise bad_input(
            field, "must name at least one event", f"Send one or more of: {', '.join(EVENTS)}."
        )
    for position, event in enumerate(events):
        if event not in EVENTS:
            raise bad_input(
                f"{field}[{position}]",
                f"unknown event {event!r}",
                f"Use one of: {', '.join(EVENTS)}.",
                event,
            )
    return list(dict.fromkeys(events))  # drop repeats, keep the order


def _checked_secret(secret: str, field: str) -> str:
    if not MIN_SECRET <= len(secret) <= MAX_SECRET:
        raise bad_input(
            field,
            f"must be {MIN_SECRET} to {MAX_SECRET} characters long",
            "Omit it on create to have one generated, or send a longer random string.",
        )
    return secret


async def find_webhook(ctx: Ctx, project_id: str, webhook_id: str) -> Webhook:
    hook = await ctx.session.get(Webhook, webhook_id)
    if hook is None or hook.project_id != project_id:
        raise not_found("Webhook", webhook_id, "List them with GET …/webhooks.")
    return hook


@router.post(PATH, status_code=201)
async def create(projectIdOrName: str, body: CreateWebhook, ctx: CtxDep) -> dict[str, Any]:
    project = await ctx.project(projectIdOrName)
    if body.secret is None:
        secret = secrets.token_urlsafe(32)
    else:
        secret = _checked_secret(body.secret, "secret")
    hook = Webhook(
        project_id=project.id,
        url=_checked_url(body.url, "url"),
        events=_checked_events(body.events, "events"),
        secret_encrypted=ctx.state.box.encrypt(secret),
        active=body.active,
    )
    ctx.session.add(hook)
    await ctx.session.commit()
    return webhook_json(hook, secret)


@router.get(PATH)
async def list_webhooks(projectIdOrName: str, ctx: CtxDep) -> list[dict[str, Any]]:
    project = await ctx.project(projectIdOrName)
    query = (
        select(Webhook)
        .where(Webhook.project_id == project.id)
        .order_by(Webhook.create_time, Webhook.id)
    )
    return [webhook_json(hook) for hook in (await ctx.session.execute(query)).scalars()]


@router.get(PATH + "/{webhookId}")
async def get(projectIdOrName: str, webhookId: str, ctx: CtxDep) -> dict[str, Any]:
    project = await ctx.project(projectIdOrName)
    return webhook_json(await find_webhook(ctx, project.id, webhookId))


@router.patch(PATH + "/{webhookId}")
async def update(
    projectIdOrName: str, webhookId: str, body: UpdateWebhook, ctx: CtxDep
) -> dict[str, Any]:
    project = await ctx.project(projectIdOrName)
    hook = await find_webhook(ctx, project.id, webhookId)
    fields = body.webhook
    for mask in body.updateMask:
        value = getattr(fields, mask)
        if value is None:
            raise bad_input(f"webhook.{mask}", "required by the update mask", f"Send {mask}.")
        if mask == "url":
            hook.url = _checked_url(value, "webhook.url")
        elif mask == "events":
            hook.events = _checked_events(value, "webhook.events")
        elif mask == "secret":
            hook.secret_encrypted = ctx.state.box.encrypt(_checked_secret(value, "webhook.secret"))
        elif mask == "active":
            hook.active = bool(value)
    await ctx.session.commit()
    return webhook_json(hook)


@router.delete(PATH + "/{webhookId}", status_code=204)
async def delete(projectIdOrName: str, webhookId: str, ctx: CtxDep) -> Response:
    project = await ctx.project(projectIdOrName)
    await ctx.session.delete(await find_webhook(ctx, project.id, webhookId))
    await ctx.session.commit()
    return Response(status_code=204)


@router.post(PATH + "/{webhookId}:test", status_code=202)
async def send_test(projectIdOrName: str, webhookId: str, ctx: CtxDep) -> dict[str, Any]:
    project = await ctx.project(projectIdOrName)
    hook = await find_webhook(ctx, project.id, webhookId)
    if not hook.active:
        raise ApiProblem(
            409,
            f"Webhook {hook.id!r} is not active, so nothing would be delivered to it.",
            remedy='Activate it first: PATCH with updateMask ["active"] and "active": true.',
        )
    delivery_id = await enqueue_test_delivery(await ctx.session.connection(), hook.id)
    # read before committing: once committed, a worker may deliver it before this answers
    delivery = await ctx.session.get(WebhookDelivery, delivery_id)
    assert delivery is not None
    answer = delivery_json(delivery)
    await ctx.session.commit()
    return answer


@router.get(PATH + "/{webhookId}/deliveries")
async def list_deliveries(
    projectIdOrName: str,
    webhookId: str,
    ctx: CtxDep,
    pageSize: int = Query(default=50, ge=1, le=200),
    pageToken: str | None = None,
    status: str | None = None,
) -> dict[str, Any]:
    project = await ctx.project(projectIdOrName)
    hook = await find_webhook(ctx, project.id, webhookId)
    query = select(WebhookDelivery).where(WebhookDelivery.webhook_id == hook.id)
    if status is not None:
        if status not in DELIVERY_STATUSES:
            raise ApiProblem(
                400,
                f"status: unknown delivery status {status!r}.",
                remedy=f"Use one of: {', '.join(DELIVERY_STATUSES)}, or omit it.",
                issues=[issue("query", "status", "unknown delivery status", status[:64])],
            )
        query = query.where(WebhookDelivery.status == status)
    if pageToken:
        created, last_id = decode_page_token(pageToken)
        query = query.where(
            or_(
                WebhookDelivery.create_time < created,
                and_(WebhookDelivery.create_time == created, WebhookDelivery.id < last_id),
            )
        )
    query = query.order_by(WebhookDelivery.create_time.desc(), WebhookDelivery.id.desc()).limit(
        pageSize + 1
    )
    rows = list((await ctx.session.execute(query)).scalars())
    page, more = rows[:pageSize], len(rows) > pageSize
    pagination: dict[str, Any] = {"done": not more}
    if more:
        pagination["nextPageToken"] = encode_page_token(page[-1].create_time, page[-1].id)
    return {"results": [delivery_json(d) for d in page], "pagination": pagination}
