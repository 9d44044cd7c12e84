"""The API against its own OpenAPI schema (schemathesis): inputs generated from the schema
and outside it, on every operation, in process (ASGI) against the service on a real
anvil, contracts and IPFS node. No input may be answered with a server error, and every
answer must be one the schema declares, in the shape it declares."""

import contextlib
import os
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    missing_required_header,
    negative_data_rejection,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)
from schemathesis.core.failures import FailureGroup

from dao_service.core.config import Settings

# 19 operations: ~1,100 calls, well within 2 minutes here; more for a deeper run by hand
EXAMPLES_PER_OPERATION = int(os.environ.get("DATADAO_FUZZ_EXAMPLES", "60"))
CHECKS = [
    not_a_server_error,
    negative_data_rejection,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    missing_required_header,
    unsupported_method,
]


@pytest.mark.timeout(600)
def test_every_operation_conforms_and_never_fails_with_a_server_error(
    api: TestClient, service_settings: Settings
) -> None:
    # Generous limits: the generator asks for many nonces and uploads in a row, and a 429
    # after the limit would hide what the operation itself does with the input.
    service_settings.nonces_per_client_per_minute = 10**6
    service_settings.uploads_per_client_per_minute = 10**6
    schema = schemathesis.openapi.from_asgi("/openapi.json", api.app)
    calls: dict[str, int] = {}
    failures: dict[str, str] = {}  # per operation, its last (shrunk) failure
    operations = [op.ok() for op in schema.get_all_operations()]
    assert len(operations) > 10
    for operation in operations:
        strategy = st.one_of(
            operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
            operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
        )

        @given(case=strategy)
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case: Any) -> None:
            calls[case.operation.label] = calls.get(case.operation.label, 0) + 1
            try:
                case.call_and_validate(checks=CHECKS)
            except (Exception, FailureGroup) as exc:  # FailureGroup is a BaseExceptionGroup
                failures[case.operation.label] = str(exc)
                raise

        with contextlib.suppress(Exception, FailureGroup):  # recorded above, shrunk last
            run()
    assert set(calls) == {operation.label for operation in operations}
    assert not failures, "\n\n".join(f"{op}: {text}" for op, text in failures.items())
