"""schemathesis against the one OpenAPI document (/api/openapi.json), driven through the
WSGI app: no 500 on generated input, and every documented response matches its schema.

Authenticated with the personal token of a street official of the small fixture
territory; a few examples per operation keep the whole module well under a minute.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from gridgov.accounts.tokens import token_create

schema = schemathesis.openapi.from_wsgi("/api/openapi.json", get_wsgi_application())


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
@schema.parametrize()
@settings(
    max_examples=3,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_api_matches_its_schema_and_never_500(case, street_token, keep_test_connection) -> None:
    # Each example runs in a savepoint that is rolled back, so one example's database error
    # (PostgreSQL aborts the transaction) cannot spoil the next.
    savepoint = transaction.savepoint()
    try:
        case.call_and_validate(
            headers={"Authorization": f"Bearer {street_token}"},
            checks=[not_a_server_error, response_schema_conformance],
        )
    finally:
        transaction.savepoint_rollback(savepoint)
