"""Python SDK for writeback's Write API (also works against Ampersand's).

from writeback.client import WritebackClient

client = WritebackClient("http://127.0.0.1:8080", api_key="wb_...", project="default")
result = client.write("write-to-salesforce", "contact", group_ref="acme",
                      type="create", record={"FirstName": "Harry", "LastName": "Potter"})
print(result.record_id)
"""

from writeback.client.clients import AsyncWritebackClient, WritebackClient
from writeback.client.errors import (
    AuthenticationError,
    BatchRejected,
    ConflictError,
    NotFoundError,
    ReconnectRequired,
    RequestRejected,
    ServerError,
    WritebackError,
    WriteRejected,
)
from writeback.client.models import (
    AcceptedWrite,
    BatchWriteResult,
    Issue,
    RecordOutcome,
    WriteResult,
)

__all__ = [
    "AcceptedWrite",
    "AsyncWritebackClient",
    "AuthenticationError",
    "BatchRejected",
    "BatchWriteResult",
    "ConflictError",
    "Issue",
    "NotFoundError",
    "ReconnectRequired",
    "RecordOutcome",
    "RequestRejected",
    "ServerError",
    "WriteRejected",
    "WriteResult",
    "WritebackClient",
    "WritebackError",
]
