"""The Write API endpoint (write.yaml `writeRecords`)."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Header, Request, Response

from writeback.api.deps import CallerDep, app_state
from writeback.api.fast_write import authorized_write
from writeback.writes.request import WriteRequest

router = APIRouter(tags=["write"])


@router.post(
    "/projects/{projectIdOrName}/integrations/{integrationId}/objects/{objectName}",
    summary="Write records",
    description="Create, update or delete records in a customer's SaaS. 200: something was"
    " written; 422: the provider rejected the write; other errors are problem+json. With an"
    " `Idempotency-Key`, a request sent again gets the first one's answer (header"
    " `Idempotent-Replayed: true`) and writes nothing.",
)
async def write_records(
    projectIdOrName: str,
    integrationId: str,
    objectName: str,
    body: WriteRequest,
    request: Request,
    caller: CallerDep,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            description="1 to 255 printable ASCII characters, unique per write (a UUID):"
            " retries with the same key get the first answer; a key is remembered"
            " for WRITEBACK_IDEMPOTENCY_HOURS (default 24) hours, per project.",
        ),
    ] = None,
) -> Response:
    # Served by api/fast_write.py in front of FastAPI; this route documents the endpoint in
    # the OpenAPI document and behaves the same if the app is mounted without the fast path.
    # `idempotency_key` documents the header; every value sent is read (two keys are a 400).
    reply = await authorized_write(
        app_state(request),
        caller,
        projectIdOrName,
        integrationId,
        objectName,
        body,
        idempotency_key=request.headers.getlist("idempotency-key"),
        raw_body=await request.body(),
        request_id=getattr(request.state, "request_id", None),
    )
    headers = dict(reply.headers)
    media_type = headers.pop("Content-Type", "application/json")
    return Response(
        orjson.dumps(reply.body), status_code=reply.status, media_type=media_type, headers=headers
    )
