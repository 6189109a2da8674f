"""The Write API endpoint (write.yaml `writeRecords`)."""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Request, Response

from writeback.api.auth import presented_key
from writeback.api.deps import app_state
from writeback.api.fast_write import authorized_write
from writeback.writes.request import WriteRequest

router = APIRouter(tags=["write"])


@router.post(
    "/projects/{projectIdOrName}/integrations/{integrationId}/objects/{objectName}",
    summary="Write records",
    description="Create, update or delete records in a customer's SaaS. 200: something was"
    " written; 422: the provider rejected the write; other errors are problem+json.",
)
async def write_records(
    projectIdOrName: str, integrationId: str, objectName: str, body: WriteRequest, request: Request
) -> Response:
    # Served by api/fast_write.py in front of FastAPI; this route documents the endpoint in
    # the OpenAPI document and behaves the same if the app is mounted without the fast path.
    reply = await authorized_write(
        app_state(request), presented_key(request), projectIdOrName, integrationId, objectName, body
    )
    return Response(
        orjson.dumps(reply.body),
        status_code=reply.status,
        media_type="application/json",
        headers=reply.headers,
    )
