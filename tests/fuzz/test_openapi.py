"""Fuzz the REST API from its own OpenAPI document (schemathesis) against a real gunicorn server.

Every operation gets generated requests as a shopper and as staff, once with generated path ids
(mostly unknown: 404s) and once with the id of a seeded resource (so updates and purchases reach
the code behind them), with valid inputs and with invalid ones (schemathesis' negative mode). No
response may be a 5xx, and every response must match the document: its status code is
documented (valid inputs), and its body matches the documented schema.

A stateful run then chains operations through the links schemathesis infers from the document
(create a product, then read, change and delete it by the id the answer gave), valid and invalid
inputs mixed, and again no response may be a 5xx.

Bounded for `make test` (about a minute); `FUZZ_EXAMPLES=100` digs deeper.
"""

import io
import os
import uuid

import pytest
import requests
import schemathesis
from django.core.management import call_command
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.errors import FailureGroup
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from tests.support.processes import ARTIFACTS, database_env, start_http_server
from tests.support.users import StaffFactory, UserFactory, authorization

# Invalid requests (negative mode) may also meet answers the document cannot list: 404 from the
# URL resolver for a path id that is not a UUID, 414 from gunicorn for an over-long request line.
CHECKS = {
    GenerationMode.POSITIVE: [not_a_server_error, status_code_conformance, response_schema_conformance],
    GenerationMode.NEGATIVE: [not_a_server_error, response_schema_conformance],
}
# At most EXAMPLES requests per operation, role, mode and id source (26 operations).
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", 10))


@pytest.fixture(scope="module")
def server(django_db_setup, django_db_blocker):
    server = start_http_server("fuzz", database_env())
    yield server
    server.stop()


@pytest.fixture
def known_ids(server):
    """A small seeded catalogue with stock, a shopper, a staff member and one payment."""
    call_command("seed_demo", products=5, stdout=io.StringIO())
    shopper, staff = UserFactory(), StaffFactory()
    catalogue = requests.get(f"{server.url}/api/v1/products", timeout=30)
    product_id = catalogue.json()["results"][0]["id"]  # an active product
    response = requests.post(
        f"{server.url}/api/v1/payments", timeout=30,
        headers={"Authorization": authorization(shopper.id), "Idempotency-Key": str(uuid.uuid4())},
        json={"items": [{"product_id": product_id, "quantity": 1}],
              "payment_method": {"token": "tok_visa"}},
    )
    assert response.status_code == 201, response.text
    return {
        "shopper": shopper, "staff": staff,
        "path": {"product_id": product_id, "user_id": str(shopper.id),
                 "payment_id": response.json()["id"], "provider": "stripe"},
    }


def _fuzz(operation, server_url: str, headers: dict, path_parameters: dict | None, mode) -> list[str]:
    failures = []

    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(mode, path_parameters=path_parameters))
    def run(case):
        try:
            case.call_and_validate(base_url=server_url, headers=headers, checks=CHECKS[mode], timeout=30)
        except FailureGroup as failure:  # collect every operation's failures, then report all
            failures.append(f"{operation.label}: {failure}")

    try:
        run()
    except Unsatisfiable:  # nothing in this operation can be made invalid (no parameters, no body)
        assert mode is GenerationMode.NEGATIVE, operation.label
    return failures[:3]


@pytest.mark.django_db(databases="__all__", transaction=True)
@pytest.mark.parametrize("role", ["shopper", "staff"])
def test_every_response_is_documented_and_none_is_a_server_error(role, server, known_ids):
    user = known_ids[role]
    headers = {"Authorization": authorization(user.id, is_staff=user.is_staff)}
    schema = schemathesis.openapi.from_url(f"{server.url}/api/schema/")
    failures, operations = [], 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        names = {parameter.name for parameter in operation.path_parameters}
        pinned = {name: known_ids["path"][name] for name in names} if names else None
        for mode in GenerationMode:
            failures += _fuzz(operation, server.url, headers, None, mode)
            if pinned:
                failures += _fuzz(operation, server.url, headers, pinned, mode)
    assert operations >= 20
    report = ARTIFACTS / f"fuzz-{role}.txt"
    report.write_text("\n\n".join(failures))
    assert not failures, f"{len(failures)} failures, all in {report}:\n" + "\n".join(
        failure.split("\n\n")[0] + ": " + failure.split("\n\n")[1] for failure in failures)


@pytest.mark.django_db(databases="__all__", transaction=True)
def test_chained_operations_with_valid_and_invalid_inputs_find_no_server_error(server, known_ids):
    staff = known_ids["staff"]
    headers = {"Authorization": authorization(staff.id, is_staff=True)}
    schema = schemathesis.openapi.from_url(f"{server.url}/api/schema/")
    assert GenerationMode.NEGATIVE in schema.config.generation.modes

    class Staff(schema.as_state_machine()):
        def get_call_kwargs(self, case):
            return {"base_url": server.url, "headers": headers, "timeout": 30}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(response, checks=[not_a_server_error], transport_kwargs=kwargs)

    assert schema.statistic.transitions.total > 0, "no links to chain operations by"
    Staff.run(settings=settings(max_examples=EXAMPLES, stateful_step_count=6, deadline=None, database=None,
                                derandomize=True, suppress_health_check=list(HealthCheck)))
