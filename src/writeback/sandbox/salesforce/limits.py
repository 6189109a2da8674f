"""`GET /limits` and `GET /limits/recordCount` (§A10)."""

from __future__ import annotations

from typing import Any

from writeback.sandbox.http import Response, json_response
from writeback.sandbox.salesforce.pipeline import Call
from writeback.sandbox.salesforce.schema import SCHEMA

# Allocations that the emulator does not consume; reported full, as an idle org would.
STATIC_LIMITS = {
    "ConcurrentAsyncGetReportInstances": 200,
    "ConcurrentSyncReportRuns": 20,
    "DailyAsyncApexExecutions": 250000,
    "DailyBulkApiBatches": 15000,
    "DailyBulkV2QueryFileStorageMB": 976562,
    "DailyBulkV2QueryJobs": 10000,
    "DailyStreamingApiEvents": 10000,
    "FileStorageMB": 20,
    "HourlyTimeBasedWorkflow": 50,
    "MassEmail": 10,
    "SingleEmail": 15,
}
DATA_STORAGE_MB = 1024
RECORD_KB = 2  # Salesforce charges most records 2 KB of data storage


def limits(call: Call) -> Response:
    limit = int(call.tenant.settings["dailyApiLimit"])
    used = call.org.usage.used()
    records = sum(call.org.object_counts().values())
    body: dict[str, Any] = {
        "DailyApiRequests": {"Max": limit, "Remaining": max(limit - used, 0)},
        "DataStorageMB": {
            "Max": DATA_STORAGE_MB,
            "Remaining": max(DATA_STORAGE_MB - records * RECORD_KB // 1024, 0),
        },
    }
    for name, maximum in STATIC_LIMITS.items():
        body[name] = {"Max": maximum, "Remaining": maximum}
    return json_response(200, dict(sorted(body.items())))


def record_count(call: Call) -> Response:
    wanted = call.arg("sObjects")
    counts = call.org.object_counts()
    names = [o.name for o in SCHEMA.objects]
    if wanted:
        found = (SCHEMA.get(part.strip()) for part in wanted.split(","))
        names = [o.name for o in found if o is not None]
    return json_response(
        200, {"sObjects": [{"count": counts[name], "name": name} for name in names]}
    )
