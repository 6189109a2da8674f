"""Completion webhooks: CRUD, secret rotation, the delivery log, and a test ping.

The signing secret is shown once, in the create (or rotate) response, and is encrypted at rest.
A webhook's URL is checked against the SSRF rules (common/netguard.py) when it is set.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal
from urllib.parse import SplitResult, urlsplit

from fastapi import APIRouter, Query, Response
from pydantic import Field
from sqlalchemy import and_, or_, select

from writeback.api.deps import Ctx, CtxDep
from writeback.api.models import RequestBody
from writeback.api.pagination import decode_page_token, encode_page_token
from writeback.api.problems import ApiProblem, bad_input, issue, not_found
from writeback.api.serialize import compact, times, ts
from writeback.common.netguard import ALLOW_SETTING, TargetRefused, UnresolvableHost, check_host
from writeback.operations.webhooks import (
    DELIVERY_STATUSES,
    EVENTS,
    InvalidSecret,
    enqueue_test_delivery,
    new_secret,
    rotate_secret,
    validated_secret,
)
from writeback.store.tables import Webhook, WebhookDelivery, utcnow

router = APIRouter(tags=["webhooks"])

PATH = "/projects/{projectIdOrName}/webhooks"
MAX_URL = 2048
MAX_OVERLAP_HOURS = 24 * 30
DNS_TIMEOUT = 3.0  # seconds to resolve a webhook's host when it is set


def webhook_json(hook: Webhook, secret: str | None = None) -> dict[str, Any]:
    expires = hook.previous_secret_expires_at
    overlapping = hook.previous_secret_encrypted is not None and expires and expires > utcnow()
    return compact(
        {
            "id": hook.id,
            "projectId": hook.project_id,
            "url": hook.url,
            "events": list(hook.events or []),
            "active": hook.active,
            "secret": secret,  # only given on create and rotate
            # until then deliveries carry a second signature, made with the previous secret
            "previousSecretExpireTime": ts(expires) if overlapping else None,
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
    # Checked by hand: pydantic's error would echo the (secret) value back.
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


class RotateSecret(RequestBody):
    secret: str | None = None  # a chosen new secret; omitted: one is generated
    overlapHours: float | None = Field(default=None, ge=0, le=MAX_OVERLAP_HOURS)


def _url_shape(url: str, field: str) -> SplitResult:
    """The URL's parts, if it is an absolute http(s) URL without credentials."""
    parts = urlsplit(url)
    if parts.username is not None or parts.password is not None:
        # not echoed: the value holds a password
        raise bad_input(
            field,
            "must not contain credentials (user:password@)",
            "Authenticate deliveries by verifying their signature instead "
            "(docs/webhooks.md); put any token your receiver needs in the path or query.",
        )
    try:
        invalid_port = parts.port == 0  # None when there is none
    except ValueError:  # not a number in 0-65535
        invalid_port = True
    if invalid_port:
        raise bad_input(field, "has an invalid port", "Use a port from 1 to 65535.", url[:200])
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > MAX_URL:
        raise bad_input(
            field,
            f"must be an absolute http(s) URL of at most {MAX_URL} characters",
            'Send e.g. "https://app.example.com/hooks/writeback".',
            url[:200],
        )
    return parts


async def _checked_url(ctx: Ctx, url: str, field: str) -> str:
    """`url`, once its shape is valid and its host is not a refused address (SSRF)."""
    url = url.strip()
    parts = _url_shape(url, field)
    if ctx.state.settings.private_webhook_targets_allowed:
        return url
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        await check_host(host, port, timeout=DNS_TIMEOUT)
    except TargetRefused as exc:
        raise bad_input(
            field,
            f"{exc.target}: a {exc.kind} address, which webhooks may not reach",
            "Use your receiver's public address. For local development and tests, start "
            f"writeback with {ALLOW_SETTING}=1 (sandbox mode allows such targets by default).",
            url[:200],
        ) from None
    except UnresolvableHost as exc:
        raise bad_input(
            field,
            str(exc),
            "Check the host name; the name must resolve when the webhook is set.",
            url[:200],
        ) from None
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
    try:
        return validated_secret(secret)
    except InvalidSecret as exc:  # never echoes the value
        raise bad_input(
            field,
            str(exc),
            'Omit it to have one generated, or send "whsec_" followed by the standard base64 '
            "of 24 to 64 random bytes (in Python: "
            '"whsec_" + base64.b64encode(os.urandom(32)).decode()).',
        ) from None


async def find_webhook(ctx: Ctx, project_id: str, webhook_id: str) -> Webhook:
    hook = await ctx.session.get(Webhook, webhook_id)
    if hook is None or hook.project_id != project_id:
        raise not_found("Webhook", webhook_id, "List them with GET …/webhooks.")
    return hook


@router.post(PATH, status_code=201)
async def create(projectIdOrName: str, body: CreateWebhook, ctx: CtxDep) -> dict[str, Any]:
    project = await ctx.project(projectIdOrName)
    secret = new_secret() if body.secret is None else _checked_secret(body.secret, "secret")
    events = _checked_events(body.events, "events")
    hook = Webhook(
        project_id=project.id,
        url=await _checked_url(ctx, body.url, "url"),
        events=events,
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
            if value.strip() != hook.url:  # an unchanged URL is not resolved again
                hook.url = await _checked_url(ctx, value, "webhook.url")
        elif mask == "events":
            hook.events = _checked_events(value, "webhook.events")
        elif mask == "secret":  # replaced at once; :rotate-secret keeps the old one a while
            secret = _checked_secret(value, "webhook.secret")
            rotate_secret(hook, ctx.state.box, secret, timedelta(0))
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


@router.post(PATH + "/{webhookId}:rotate-secret", summary="Rotate a webhook's signing secret")
async def rotate(
    projectIdOrName: str, webhookId: str, ctx: CtxDep, body: RotateSecret | None = None
) -> dict[str, Any]:
    """A new signing secret, shown in this answer only. Deliveries sent during the overlap
    window (`overlapHours`, default from the settings) carry signatures made with both the new
    and the previous secret, so receivers can switch over without dropping any."""
    project = await ctx.project(projectIdOrName)
    hook = await find_webhook(ctx, project.id, webhookId)
    body = body or RotateSecret()
    secret = new_secret() if body.secret is None else _checked_secret(body.secret, "secret")
    hours = body.overlapHours
    if hours is None:
        hours = ctx.state.settings.webhook_secret_overlap_hours
    rotate_secret(hook, ctx.state.box, secret, timedelta(hours=hours))
    await ctx.session.commit()
    return webhook_json(hook, secret)


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
