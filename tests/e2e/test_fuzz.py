"""Property-based fuzzing of every service's OpenAPI against the running processes (schemathesis).

Each operation of each service gets generated requests, authenticated with a valid credential of the
kind that service expects so that the fuzzing reaches past authentication. Two properties must hold
for every request: no 5xx, and the response (status code and body) conforms to the published schema.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from tests.e2e.conftest import OPERATOR, api_key, official
from tests.support.processes import System

#: examples per operation; LIENTHONG_FUZZ_EXAMPLES raises it for a longer hunt outside CI
EXAMPLES = int(os.environ.get("LIENTHONG_FUZZ_EXAMPLES", "25"))

# printed papers and dossier files travel as raw bytes: generate them as schemathesis does octet streams
for _media_type in ("application/pdf", "image/jpeg", "image/png"):
    schemathesis.serializer.alias(_media_type, "application/octet-stream")

#: long-lived responses a generated request could keep open (covered by the SSE journey test instead)
STREAMING = ("/stream",)


async def _headers(system: System, service: str) -> dict[str, str]:
    if service == "intake":
        return {"Authorization": f"Bearer {await api_key(system, '00070.TTHCC')}"}
    if service == "resolution":
        return official("00070.UBND", "clerk", "specialist", "leader", "signer")
    if service == "routing":
        return OPERATOR
    return OPERATOR


def _fuzz_operation(operation: Any, base_url: str, headers: dict[str, str]) -> list[int]:
    """Run the generated cases of one operation; return the status codes seen."""
    statuses: list[int] = []

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        response = case.call_and_validate(
            base_url=base_url,
            headers=headers,
            checks=[not_a_server_error, status_code_conformance, response_schema_conformance],
            timeout=30,
        )
        statuses.append(response.status_code)

    run()
    return statuses


@pytest.mark.timeout(420)
@pytest.mark.parametrize("service", ["intake", "routing", "resolution", "notify"])
async def test_openapi_fuzzing_finds_no_server_error(system: System, service: str) -> None:
    """Generated requests for every operation: never a 5xx, always the documented status and shape."""
    base_url = system[service].url
    headers = await _headers(system, service)
    async with httpx.AsyncClient() as http:
        raw = (await http.get(f"{base_url}/openapi.json")).json()
    schema = schemathesis.openapi.from_dict(raw)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert operations, f"{service} publishes no operation"
    fuzzed: dict[str, list[int]] = {}
    for operation in operations:
        if any(marker in operation.path for marker in STREAMING):
            continue
        fuzzed[operation.label] = await asyncio.to_thread(_fuzz_operation, operation, base_url, headers)
    print(service, {label: len(codes) for label, codes in fuzzed.items()})
    assert sum(map(len, fuzzed.values())) >= len(fuzzed), "every fuzzed operation was called"
    assert any(code < 300 for codes in fuzzed.values() for code in codes), "the credentials got past auth"
