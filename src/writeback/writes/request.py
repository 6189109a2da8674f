"""`WriteRequest` of write.yaml, as a strict model."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StrictStr

from writeback.common.jsonsafe import text_problem


def _storable(value: str) -> str:
    # a groupRef is looked up in the database, which cannot hold every text (NUL)
    problem = text_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


StorableStr = Annotated[StrictStr, AfterValidator(_storable)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RetryPolicy(_Body):
    deadlineHours: int = Field(default=1, ge=1, le=48)


class AutoBatchPolicy(_Body):
    maxDelayMinutes: int = Field(ge=1, le=1440)
    retryDeadlineHours: int = Field(default=1, ge=1, le=48)


class BatchPolicy(_Body):
    allOrNone: StrictBool = False


class Header(_Body):
    key: StrictStr = Field(min_length=1)
    value: StrictStr


class BatchItem(_Body):
    record: dict[str, Any]
    associations: list[dict[str, Any]] | None = None


class WriteRequest(_Body):
    groupRef: StorableStr = Field(min_length=1, max_length=255)  # as stored (Group.group_ref)
    type: Literal["create", "update", "delete"]
    mode: Literal["synchronous", "asynchronous"] = "synchronous"
    retryPolicy: RetryPolicy | None = None
    autoBatchPolicy: AutoBatchPolicy | None = None
    record: dict[str, Any] | None = None
    batchPolicy: BatchPolicy | None = None
    batch: list[BatchItem] | None = None
    associations: list[dict[str, Any]] | None = None
    headers: list[Header] | None = None

    @property
    def all_or_none(self) -> bool:
        return bool(self.batchPolicy and self.batchPolicy.allOrNone)

    def items(self) -> list[BatchItem]:
        """Every record of the request with its associations, single or batch alike."""
        if self.batch is not None:
            return self.batch
        assert self.record is not None
        return [BatchItem(record=self.record, associations=self.associations)]
