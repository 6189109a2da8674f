"""A bounded schemathesis run against the OpenAPI document a running server serves, over real
HTTP on loopback, with a valid admin key: no generated request, valid or not, may get a 5xx.

Two passes over every operation of the served document, valid and invalid data each:
- free: every parameter generated (mostly unknown projects: the edges of each route);
- anchored: the path names a real project, integration and write object, and a write's
  `groupRef` a real installation on the sandbox, so generated bodies reach validation, the
  store and (for writes) the provider emulator.

Bounded so it fits in `make test`: a few examples per operation and mode, no shrinking, no
deadline (the machine is shared), the same examples on every run. Every failure is collected
and reported with a curl command to replay it. (schemathesis's own pytest integration,
`from_fixture`, does not run under pytest 9; its Hypothesis strategies are used directly.)
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.errors import FailureGroup

from conftest import BACKENDS, Sandbox, Server, tuned_stack
from writes.write_support import Customer, new_customer

MODES = (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE)
FREE_EXAMPLES = 4  # per operation and mode
ANCHORED_EXAMPLES = 8
FUZZ_SETTINGS = {
    "deadline": None,
    "derandomize": True,  # the same requests on every run: a failure is reproducible
    "database": None,
    "phases": [Phase.explicit, Phase.generate],  # no shrinking: report, do not minimise
    "suppress_health_check": list(HealthCheck),
}


@pytest.fixture(scope="module", params=BACKENDS)
def fuzzed(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, sandbox: Sandbox
) -> Iterator[Customer]:
    with tuned_stack(request, tmp_path_factory, sandbox, "fuzz") as stack:
        yield new_customer(stack, sandbox, "salesforce")


def served_schema(server: Server) -> Any:
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json", timeout=30)
    schema.config.update(base_url=server.url, headers={"X-Api-Key": server.admin_key})
    return schema


def anchors(customer: Customer) -> dict[str, str]:
    """Path parameters that name things that exist."""
    return {
        "projectIdOrName": customer.project["id"],
        "integrationId": customer.integration["id"],
        "integrationIdOrName": customer.integration["id"],
        "objectName": "contact",
        "connectionId": customer.connection["id"],
        "installationId": customer.installation["id"],
    }


def with_group(customer: Customer) -> Any:
    """A write body's `groupRef` set to the customer's group (when the body is an object)."""

    def anchor(case: schemathesis.Case) -> schemathesis.Case:
        if isinstance(case.body, dict) and "groupRef" in case.body:
            case.body["groupRef"] = customer.group_ref
        return case

    return anchor


def modes_for(operation: Any) -> tuple[schemathesis.GenerationMode, ...]:
    """Invalid data too where there is something to make invalid: a body, query or header
    parameters (any text is a valid path parameter, and Hypothesis would search in vain)."""
    if operation.body or operation.query or operation.headers:
        return MODES
    return MODES[:1]


def run_operation(strategy: st.SearchStrategy, examples: int, failures: list[str]) -> None:
    @given(case=strategy)
    @settings(max_examples=examples, **FUZZ_SETTINGS)
    def check(case: schemathesis.Case) -> None:
        response = case.call(timeout=30)
        try:
            case.validate_response(response, checks=[not_a_server_error])
        except FailureGroup:  # keep going: report every failing request
            failures.append(f"{response.status_code}: {case.as_curl_command()}")

    # Unsatisfiable: nothing to generate (e.g. invalid data for an operation without any)
    with contextlib.suppress(Unsatisfiable):
        check()


def test_no_generated_request_gets_a_server_error(fuzzed: Customer) -> None:
    schema = served_schema(fuzzed.stack)
    fixed = anchors(fuzzed)
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 30  # the whole served document, not a fragment of it
    for operation in operations:
        names = {p.name for p in operation.path_parameters}
        for mode in modes_for(operation):
            run_operation(operation.as_strategy(generation_mode=mode), FREE_EXAMPLES, failures)
            if operation.method.upper() == "DELETE":
                continue  # deleting the anchors would leave the later operations nothing
            anchored = operation.as_strategy(
                generation_mode=mode,
                path_parameters={k: v for k, v in fixed.items() if k in names},
            ).map(with_group(fuzzed))
            run_operation(anchored, ANCHORED_EXAMPLES, failures)
    assert not failures, f"{len(failures)} requests got a 5xx:\n" + "\n".join(failures[:20])
