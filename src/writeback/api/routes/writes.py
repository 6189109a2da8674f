"""The Write API endpoint (write.yaml `writeRecords`)."""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Request, Response

from writeback.api.deps import app_state, visible_project
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
    # The hot path: caller, project and target come from short-lived caches, and no database
    # connection is held while the provider answers.
    state = app_state(request)
    caller = await state.auth.caller(request)
    project = visible_project(await state.projects.find(projectIdOrName), caller, projectIdOrName)
    reply = await state.writes.write(project.id, integrationId, objectName, body)
    return Response(
        orjson.dumps(reply.body),
        status_code=reply.status,
        media_type="application/json",
        headers=reply.headers,
    )
