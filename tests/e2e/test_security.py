"""Attack surface of the four running services: credentials, office isolation, tracking tokens, revocation, limits."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import api_key, official
from tests.e2e.test_journey import body
from tests.support.infra import REPO
from tests.support.processes import System, running_system
from tests.support.waiting import eventually

RATE = 15  # writes per minute per key in this module's system

#: write operations that are public by design, each guarded by a credential of its own (checked below)
OWN_CREDENTIAL = {
    ("notify", "PUT", "/v1/track/{code}/preferences"),  # the citizen's tracking token
    ("notify", "POST", "/v1/sms/receipts"),  # the SMS provider's shared secret
    ("resolution", "POST", "/v1/dossiers/{code}/rating"),  # the citizen's tracking token
    ("resolution", "POST", "/v1/results/verify"),  # anyone may check a signed result: it changes nothing
    ("resolution", "POST", "/v1/results/verify-pdf"),  # the same check of a result PDF: it changes nothing
}


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    """All four services with a low intake rate limit and known operator tokens."""
    prefix = f"s{uuid.uuid4().hex[:8]}"
    extra = {
        "INTAKE_RATE_LIMIT": f"{RATE}/minute",
    }
    with running_system(prefix, tmp_path_factory.mktemp(prefix), extra) as system:
        yield system


def _fill(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "00070.TTHCC-261122-0001", path)


async def _write_operations(http: httpx.AsyncClient, system: System) -> list[tuple[str, str, str]]:
    ops = []
    for service in ("intake", "routing", "resolution", "notify"):
        spec = (await http.get(f"{system[service].url}/openapi.json")).json()
        for path, methods in spec["paths"].items():
            for method in methods:
                if method.upper() in ("POST", "PUT", "PATCH", "DELETE"):
                    ops.append((service, method.upper(), path))
    return ops


async def test_every_write_endpoint_refuses_missing_and_invalid_credentials(secured: System) -> None:
    """Enumerated from each OpenAPI: no credential → 401, a wrong one → 401/403, before the body is even read."""
    async with httpx.AsyncClient(timeout=10) as http:
        ops = await _write_operations(http, secured)
        guarded = [op for op in ops if op not in OWN_CREDENTIAL]
        assert len(guarded) >= 8, guarded
        assert set(ops) >= OWN_CREDENTIAL, "the public operations listed here exist"
        for service, method, path in guarded:
            url = secured[service].url + _fill(path)
            for headers in ({}, {"Authorization": "Bearer not-a-valid-credential"}, {"Authorization": "Basic eDp5"}):
                r = await http.request(method, url, json={}, headers=headers)
                assert r.status_code in (401, 403), (service, method, path, headers, r.status_code, r.text)
                assert r.json()["code"] in ("unauthorized", "forbidden"), r.text

        # the public ones answer a wrong credential of their own kind with a refusal too
        r = await http.post(
            f"{secured['notify'].url}/v1/sms/receipts",
            json={"notification_id": "n:sms", "status": "delivered"},
            headers={"X-Receipt-Secret": "wrong"},
        )
        assert r.status_code == 401, r.text
        r = await http.put(
            f"{secured['notify'].url}/v1/track/00070.TTHCC-261122-0001/preferences",
            params={"token": "wrong-token-123"},
            json={"sms": False},
        )
        assert r.status_code == 404, r.text
        r = await http.post(
            f"{secured['resolution'].url}/v1/dossiers/00070.TTHCC-261122-0001/rating",
            params={"token": "wrong-token-123"},
            json={"score": 5},
        )
        assert r.status_code == 404, r.text


async def _file(http: httpx.AsyncClient, system: System, key: str) -> dict[str, Any]:
    r = await http.post(
        f"{system['intake'].url}/v1/dossiers", json=body("LT-HT-001"), headers={"Authorization": f"Bearer {key}"}
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


async def test_offices_cannot_see_or_touch_each_others_dossiers(secured: System) -> None:
    """Front office B cannot read A's filing; officials of another commune cannot read, act on or list A's case."""
    key_a = await api_key(secured, "00070.TTHCC")
    key_b = await api_key(secured, "00073.TTHCC")
    async with httpx.AsyncClient(timeout=10) as http:
        filed = await _file(http, secured, key_a)
        code = filed["code"]
        r = await http.get(f"{secured['intake'].url}/v1/dossiers/{code}", headers={"Authorization": f"Bearer {key_b}"})
        assert r.status_code == 404, r.text
        r = await http.get(f"{secured['intake'].url}/v1/dossiers/{code}", headers={"Authorization": f"Bearer {key_a}"})
        assert r.status_code == 200, r.text

        owner = official("00070.UBND", "clerk")
        stranger = official("00073.UBND", "clerk", "specialist", "leader")

        async def case() -> int:
            return (await http.get(f"{secured['resolution'].url}/v1/dossiers/{code}", headers=owner)).status_code

        await eventually(case, until=lambda s: s == 200, timeout=60)
        r = await http.get(f"{secured['resolution'].url}/v1/dossiers/{code}", headers=stranger)
        assert r.status_code in (403, 404), r.text
        assert code not in r.text
        r = await http.post(f"{secured['resolution'].url}/v1/dossiers/{code}/accept", json={}, headers=stranger)
        assert r.status_code in (403, 404), r.text
        worklist = (await http.get(f"{secured['resolution'].url}/v1/worklist", headers=stranger)).json()
        assert code not in str(worklist)
        r = await http.get(f"{secured['resolution'].url}/v1/dossiers/{code}", headers=owner)
        assert r.json()["status"] == "received", "the stranger's attempt changed nothing"


async def test_tracking_without_the_token_reveals_nothing(secured: System) -> None:
    """A wrong token on an existing code answers exactly as an unknown code does."""
    key = await api_key(secured, "00070.TTHCC")
    async with httpx.AsyncClient(timeout=10) as http:
        filed = await _file(http, secured, key)
        track = f"{secured['notify'].url}/v1/track"

        async def known() -> int:
            return (await http.get(f"{track}/{filed['code']}", params={"token": filed["tracking_token"]})).status_code

        await eventually(known, until=lambda s: s == 200, timeout=60)
        wrong = await http.get(f"{track}/{filed['code']}", params={"token": "x" * 22})
        unknown = await http.get(f"{track}/00070.TTHCC-991231-9999", params={"token": "x" * 22})
        assert wrong.status_code == unknown.status_code == 404
        scrub = re.compile(r"00070\.TTHCC-\d{6}-\d{4}")
        assert scrub.sub("CODE", wrong.text) == scrub.sub("CODE", unknown.text)
        assert "0912345678" not in wrong.text and "Trần" not in wrong.text
        stream = await http.get(f"{track}/{filed['code']}/stream", params={"token": "x" * 22})
        assert stream.status_code == 404


def _cli(system: System, *args: str) -> str:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "MONGODB_"))},
        **system["intake"].env,
    }
    done = subprocess.run(
        [sys.executable, "-m", "services.cli", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


async def test_revoked_key_stops_working_at_once(secured: System) -> None:
    """Created and revoked with the operators' CLI: the very next request is refused."""
    out = _cli(secured, "api-key", "create", "--office", "00070.TTHCC")
    key_id = re.search(r"key id: (\S+)", out).group(1)  # type: ignore[union-attr]
    key = re.search(r"api key \(shown once\): (\S+)", out).group(1)  # type: ignore[union-attr]
    async with httpx.AsyncClient(timeout=10) as http:
        await _file(http, secured, key)
        _cli(secured, "api-key", "revoke", key_id)
        r = await http.post(
            f"{secured['intake'].url}/v1/dossiers", json=body("LT-HT-001"), headers={"Authorization": f"Bearer {key}"}
        )
        assert r.status_code == 401, r.text
        r = await http.get(f"{secured['intake'].url}/v1/dossiers/x", headers={"Authorization": f"Bearer {key}"})
        assert r.status_code == 401, r.text


async def test_rate_limit_answers_429_per_key(secured: System) -> None:
    """Past INTAKE_RATE_LIMIT writes a key gets 429; another key of the same office is unaffected."""
    noisy = await api_key(secured, "00070.TTHCC")
    quiet = await api_key(secured, "00070.TTHCC")
    async with httpx.AsyncClient(timeout=10) as http:
        url = f"{secured['intake'].url}/v1/centres/00070.TTHCC/tickets"
        codes = [
            (
                await http.post(url, json={"service": "ho-tich"}, headers={"Authorization": f"Bearer {noisy}"})
            ).status_code
            for _ in range(RATE + 3)
        ]
        assert 429 not in codes[:RATE], codes
        assert codes[RATE:] == [429, 429, 429], codes
        limited = await http.post(url, json={}, headers={"Authorization": f"Bearer {noisy}"})
        assert limited.json()["code"] == "rate_limited"
        other = await http.post(url, json={"service": "ho-tich"}, headers={"Authorization": f"Bearer {quiet}"})
        assert other.status_code != 429, other.text


async def test_oversized_bodies_are_refused_by_every_service(secured: System) -> None:
    """A body over the limit is refused with 413 before any handler runs, on every service."""
    big = b'{"x": "' + b"a" * (3 * 1024 * 1024) + b'"}'
    targets = {
        "intake": "/v1/dossiers",
        "routing": "/v1/offices/00070.UBND/status",
        "resolution": "/v1/results/verify",
        "notify": "/v1/sms/receipts",
    }
    async with httpx.AsyncClient(timeout=30) as http:
        for service, path in targets.items():
            r = await http.post(secured[service].url + path, content=big, headers={"Content-Type": "application/json"})
            assert r.status_code == 413, (service, r.status_code, r.text[:200])
            assert r.json()["code"] == "payload_too_large", r.text[:200]
            assert (await http.get(f"{secured[service].url}/healthz")).status_code == 200
