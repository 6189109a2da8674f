"""The write domain's errors as problem+json: the one place they get an HTTP status."""

from __future__ import annotations

from writeback.api.problems import ApiProblem, issue, unavailable_problem
from writeback.store.errors import StoreUnavailable
from writeback.writes import errors

_STATUS: tuple[tuple[type[errors.WriteError], int], ...] = (
    (errors.InvalidWrite, 400),
    (errors.WriteTargetNotFound, 404),
    (errors.WriteNotAllowed, 409),
    (errors.IdempotencyInProgress, 409),
    (errors.IdempotencyInterrupted, 409),
    (errors.IdempotencyConflict, 422),
    (errors.CustomerMustReconnect, 424),
    (errors.OutcomeUnknown, 502),
)


def problem_for(error: errors.WriteError | StoreUnavailable) -> ApiProblem:
    if isinstance(error, StoreUnavailable):
        return unavailable_problem(error)
    status = next((code for kind, code in _STATUS if isinstance(error, kind)), 400)
    return ApiProblem(
        status,
        error.detail,
        remedy=error.remedy,
        issues=[
            issue(
                i.location, i.name, i.detail, i.value, **({"remedy": i.remedy} if i.remedy else {})
            )
            for i in error.issues
        ]
        if error.issues is not None
        else None,
        context=error.context,
        code=error.code,
        retryable=(status == 409 and isinstance(error, errors.IdempotencyInProgress))
        or (isinstance(error, errors.OutcomeUnknown) and error.code == "outcome_unknown_retryable"),
        retry_after=getattr(error, "retry_after", None),
    )
