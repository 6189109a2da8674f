"""`GET /services/data/vXX.X/query?q=SOQL`: the SOQL subset of soql.py over live records."""

from __future__ import annotations

from writeback.sandbox.http import Response, json_response
from writeback.sandbox.salesforce.errors import SfError
from writeback.sandbox.salesforce.pipeline import Call
from writeback.sandbox.salesforce.records import render
from writeback.sandbox.salesforce.schema import SCHEMA
from writeback.sandbox.salesforce.soql import QueryError, plan


def query(call: Call) -> Response:
    text = call.arg("q") or ""
    try:
        checked = plan(text, SCHEMA)
    except QueryError as exc:
        raise SfError(400, exc.problem(text)) from None
    sobject = checked.sobject
    # Deleted records sit in the recycle bin, which only queryAll reads.
    rows = checked.run(call.org.records[sobject.name].values())
    records = [render(sobject, row, call.version, checked.fields) for row in rows]
    # Everything fits in one answer: no nextRecordsUrl batches of 2000.
    return json_response(200, {"totalSize": len(records), "done": True, "records": records})
