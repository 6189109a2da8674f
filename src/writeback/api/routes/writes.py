"""The Write API endpoint (write.yaml `writeRecords`)."""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Response

from writeback.api.deps import CtxDep
from writeback.writes.request import WriteRequest

router = APIRouter(tags=["write"])


@router.post(
    "/projects/{projectIdOrName}/integrations/{integrationId}/objects/{objectName}",
    summary="Write records",
    description="Create, update or delete records in a customer's SaaS. 200: something was"
    " written; 422: the provider rejected the write; other errors are problem+json.",
)
async def write_records(
    projectIdOrName: str, integrationId: str, objectName: str, body: WriteRequest, ctx: CtxDep
) -> Response:
    project = await ctx.project(projectIdOrName)
    # Give the connection back before the provider call: the write service uses its own
    # short sessions, and a connection held across a slow provider would starve the pool.
    await ctx.session.close()
    reply = await ctx.state.writes.write(project.id, integrationId, objectName, body)
    return Response(
        orjson.dumps(reply.body),
        status_code=reply.status,
        media_type="application/json",
        headers=reply.headers,
    )
