"""schemathesis against the one OpenAPI document (/api/openapi.json), driven through the
WSGI app: no 500 on generated input, and every answer is documented: its status code is
declared for the operation and its body matches the schema declared for that status,
errors included (one error shape; 400, 403, 404, 409, 429 on every operation, 401 where a
user or key is needed).

Authenticated with the personal token of a street official of the small fixture
territory, and once per operation without it; a few examples per operation keep the whole
module well under a minute.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from django.test import Client
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from gridgov.accounts.tokens import token_create

schema = schemathesis.openapi.from_wsgi("/api/openapi.json", get_wsgi_application())
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
ANONYMOUS_DONE: set[str] = set()


@pytest.fixture
def street_token(personas) -> str:
    _row, clear = token_create(user=personas.street_official, name="schemathesis")
    return clear


@pytest.fixture
def keep_test_connection():
    """The raw WSGI app would close the test's database connection at each request's end
    (Django's test client avoids this the same way)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.mark.django_db
def test_every_operation_declares_the_error_answers_with_the_one_shape() -> None:
    document = Client().get("/api/openapi.json").json()
    assert {"ApiError", "ApiErrorBody", "ApiErrorDetail"} <= set(document["components"]["schemas"])
    error = {"$ref": "#/components/schemas/ApiError"}
    count = 0
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            count += 1
            expected = {"400", "403", "404", "409", "429"}
            if operation.get("security"):
                expected.add("401")
            declared = {
                status
                for status, answer in operation["responses"].items()
                if answer.get("content", {}).get("application/json", {}).get("schema") == error
            }
            assert declared == expected, f"{method.upper()} {path}"
    assert count > 40


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=3,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_every_answer_has_a_documented_status_and_shape(
    case, street_token, keep_test_connection
) -> None:
    # Each example runs in a savepoint that is rolled back, so one example's database error
    # (PostgreSQL aborts the transaction) cannot spoil the next.
    savepoint = transaction.savepoint()
    try:
        case.call_and_validate(headers={"Authorization": f"Bearer {street_token}"}, checks=CHECKS)
        label = case.operation.label
        if (
            label not in ANONYMOUS_DONE
            and case.method.upper() == case.operation.method.upper()  # not a method probe
            and case.operation.definition.raw.get("security")
        ):
            # Once per operation, without the token (401; 403 for a session's missing CSRF
            # token; 404 for a path that names nothing): documented, in the one error shape.
            ANONYMOUS_DONE.add(label)
            case.call_and_validate(checks=CHECKS)
    finally:
        transaction.savepoint_rollback(savepoint)
