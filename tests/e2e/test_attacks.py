"""Each attack of the security review (issue 18), run against the four running services: each is refused.

Brute-force attempts come from their own loopback source address (127.0.0.x), as separate clients would,
so one test's lock-out does not stop the next.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest

from services.resolution.adapters.signing import OfficeKeys
from services.resolution.settings import DEV_SIGNING_SEED
from shared.identity import DEV_KID, development_private_key
from shared.settings import BaseServiceSettings
from shared.store import make_mongo_client
from shared.topics import Topics
from tests.e2e.conftest import OPERATOR, api_key, official
from tests.e2e.test_journey import body
from tests.support import identity
from tests.support.infra import KAFKA, MONGO, REPO
from tests.support.kafka import collect
from tests.support.processes import System, running_system
from tests.support.waiting import eventually

FAILURES = 10  # ABUSE_FAILURE_LIMIT of this module's system
CLIENT_LIMIT = 40  # ABUSE_CLIENT_LIMIT
PHONE, CITIZEN_ID = body("LT-HT-001")["applicant"]["phone"], body("LT-HT-001")["applicant"]["citizen_id"]


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    """All four services in ENVIRONMENT=test with low abuse limits."""
    prefix = f"a{uuid.uuid4().hex[:8]}"
    extra = {
        "ABUSE_CLIENT_LIMIT": f"{CLIENT_LIMIT}/minute",
        "ABUSE_FAILURE_LIMIT": f"{FAILURES}/10 minutes",
        "ABUSE_TARGET_FAILURE_LIMIT": "1000/hour",
        "NOTIFY_STREAMS_PER_DOSSIER": "3",
        "NOTIFY_STREAMS_PER_CLIENT": "20",
    }
    with running_system(prefix, tmp_path_factory.mktemp(prefix), extra) as system:
        yield system


_clients = iter(range(10, 250))


@pytest.fixture
async def attacker() -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client from a loopback address of its own (a separate client for the abuse limits)."""
    transport = httpx.AsyncHTTPTransport(local_address=f"127.0.0.{next(_clients)}")
    async with httpx.AsyncClient(transport=transport, timeout=10) as http:
        yield http


async def _file(http: httpx.AsyncClient, system: System, key: str, **changes: Any) -> dict[str, Any]:
    r = await http.post(f"{system['intake'].url}/v1/dossiers", json=body("LT-HT-001") | changes, headers=_key(key))
    assert r.status_code == 201, r.text
    return dict(r.json())


def _key(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def _db(system: System, service: str, collection: str, query: dict[str, Any]) -> list[dict[str, Any]]:
    client = make_mongo_client(BaseServiceSettings(mongodb_url=MONGO))
    try:
        return await client[f"{system.prefix}_{service}"][collection].find(query).to_list(1000)
    finally:
        client.close()


async def _notified(system: System, code: str) -> dict[str, Any]:
    """Notify's view of the dossier once it has the receipt (read from its store: no tracking request used)."""

    async def view() -> list[dict[str, Any]]:
        return await _db(system, "notify", "dossiers", {"code": code, "contact": {"$ne": None}})

    return (await eventually(view, timeout=60))[0]


# -- 1. development secrets and tokens ---------------------------------------------------------------
def _claims(**changes: Any) -> dict[str, Any]:
    return identity.claims(sub="attacker", roles=["leader"]) | changes


async def test_forged_and_overlong_tokens_get_one_uninformative_401(
    target: System, attacker: httpx.AsyncClient
) -> None:
    """The public HS256 secret, the public development key, exp 100 years ahead, a wrong issuer or audience:
    each is 401 with the same body, which names no check; a valid token of the identity provider works."""
    forged = {
        "public HS256 secret": jwt.encode(_claims(), "development-only-jwt-secret-change-me", algorithm="HS256"),
        "public development key": jwt.encode(
            _claims(iss="lienthong-dev", aud="lienthong"),
            development_private_key(),
            algorithm="EdDSA",
            headers={"kid": DEV_KID},
        ),
        "exp in 100 years": jwt.encode(
            _claims(exp=datetime.now(UTC) + timedelta(days=36500)),
            identity.KEY,
            algorithm="EdDSA",
            headers={"kid": identity.KID},
        ),
        "wrong issuer": jwt.encode(_claims(iss="evil"), identity.KEY, algorithm="EdDSA", headers={"kid": identity.KID}),
        "wrong audience": jwt.encode(_claims(aud="x"), identity.KEY, algorithm="EdDSA", headers={"kid": identity.KID}),
        "expired": jwt.encode(
            _claims(exp=datetime.now(UTC) - timedelta(hours=1), iat=datetime.now(UTC) - timedelta(hours=2)),
            identity.KEY,
            algorithm="EdDSA",
            headers={"kid": identity.KID},
        ),
    }
    bodies = set()
    for name, token in forged.items():
        r = await attacker.get(f"{target['resolution'].url}/v1/worklist", headers=_key(token))
        assert r.status_code == 401, (name, r.text)
        bodies.add(r.text)
        for check in ("expired", "issuer", "audience", "signature", "lifetime", "kid", "algorithm"):
            assert check not in r.json()["message"].lower(), (name, r.text)
    assert len(bodies) == 1, bodies
    ok = await attacker.get(f"{target['resolution'].url}/v1/worklist", headers=official("00070.UBND", "leader"))
    assert ok.status_code == 200, ok.text


async def test_a_result_signed_with_the_public_seed_does_not_verify(
    target: System, attacker: httpx.AsyncClient
) -> None:
    """A result signed with a key derived from the public development seed is not valid."""
    document = {"document_id": str(uuid.uuid4()), "office_code": "00070.UBND", "dossier_code": "X", "result": "ok"}
    signature = OfficeKeys(keys_dir=None, dev_seed=DEV_SIGNING_SEED).sign("00070.UBND", document)
    r = await attacker.post(
        f"{target['resolution'].url}/v1/results/verify", json={"document": document, "signature": signature}
    )
    assert r.status_code == 200 and r.json() == {"valid": False}, r.text


@pytest.mark.parametrize("service", ["intake", "routing", "resolution", "notify"])
def test_a_service_refuses_to_start_with_a_development_secret(service: str, target: System) -> None:
    """ENVIRONMENT=test (as production) with an explicitly set public secret: the process stops at once."""
    env = {**target[service].env, "PII_HASH_KEY": "development-only-pii-key", f"{service.upper()}_PORT": "1"}
    done = subprocess.run(
        [sys.executable, "-m", f"services.{service}"], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0
    assert "PII_HASH_KEY is a public development value" in done.stderr


def test_the_cli_mints_no_token_outside_development(target: System) -> None:
    """`lienthong token` refuses with ENVIRONMENT=test (its key is the public development key)."""
    env = {**{k: v for k, v in os.environ.items()}, **target["resolution"].env}
    done = subprocess.run(
        [sys.executable, "-m", "services.cli", "token", "--office", "00070.UBND", "--role", "leader"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0 and "ENVIRONMENT=development" in done.stderr


# -- 2. SMS receipts -----------------------------------------------------------------------------------
async def test_receipts_need_the_secret_and_an_unguessable_reference(
    target: System, attacker: httpx.AsyncClient
) -> None:
    """The public receipt secret is 401; with the right secret, `<event_id>:sms` (event ids are on the
    timeline) matches nothing."""
    key = await api_key(target, "00070.TTHCC")
    filed = await _file(attacker, target, key)
    view = await _notified(target, filed["code"])
    event_id = view["timeline"][0]["event_id"]
    url = f"{target['notify'].url}/v1/sms/receipts"
    guess = {"notification_id": f"{event_id}:sms", "status": "delivered"}
    public = await attacker.post(url, json=guess, headers={"X-Receipt-Secret": "development-receipt-secret"})
    assert public.status_code == 401, public.text
    secret = target["notify"].env["NOTIFY_RECEIPT_SECRET"]
    guessed = await attacker.post(url, json=guess, headers={"X-Receipt-Secret": secret})
    assert guessed.status_code == 404, guessed.text


async def test_wrong_receipt_secrets_are_limited(target: System, attacker: httpx.AsyncClient) -> None:
    """After ABUSE_FAILURE_LIMIT wrong secrets the client gets 429 with Retry-After."""
    url = f"{target['notify'].url}/v1/sms/receipts"
    receipt = {"notification_id": "x", "status": "delivered"}
    codes = [
        (await attacker.post(url, json=receipt, headers={"X-Receipt-Secret": f"wrong-{i}"})).status_code
        for i in range(FAILURES + 2)
    ]
    assert codes[:FAILURES] == [401] * FAILURES and codes[FAILURES:] == [429, 429], codes


# -- 3. webhooks ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://127.0.0.1:27017/",
        "http://[::1]/",
        "http://10.0.0.5/",
        "http://0x7f000001/",
        "http://metadata.google.internal/computeMetadata/v1/",
    ],
)
async def test_webhooks_to_internal_addresses_are_refused(
    url: str, target: System, attacker: httpx.AsyncClient
) -> None:
    """Each address of the issue is refused at registration with 422 unsafe_webhook_url (or a validation error)."""
    r = await attacker.post(f"{target['notify'].url}/v1/subscriptions", json={"url": url}, headers=OPERATOR)
    assert r.status_code == 422, r.text
    assert r.json()["code"] in ("unsafe_webhook_url", "validation_error"), r.text


# -- 4. input --------------------------------------------------------------------------------------------
async def test_unicode_digits_are_refused(target: System, attacker: httpx.AsyncClient) -> None:
    """Full-width digits in phone or citizen ID are 422, and no SMS goes to them."""
    key = await api_key(target, "00070.TTHCC")
    for field, value, code in (
        ("phone", "09１２３４５６７８", "invalid_phone"),
        ("citizen_id", "００１３０３０１２３４５", "invalid_citizen_id"),
    ):
        payload = body("LT-HT-001")
        payload["applicant"][field] = value
        r = await attacker.post(f"{target['intake'].url}/v1/dossiers", json=payload, headers=_key(key))
        assert (r.status_code, r.json()["code"]) == (422, code), r.text


async def test_a_chunked_body_over_the_limit_is_413(target: System, attacker: httpx.AsyncClient) -> None:
    """No Content-Length, 1.2 MB streamed: 413 payload_too_large like a sized body."""
    key = await api_key(target, "00070.TTHCC")

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(20):
            yield b" " * 60_000

    r = await attacker.post(
        f"{target['intake'].url}/v1/dossiers",
        content=chunks(),
        headers={**_key(key), "content-type": "application/json"},
    )
    assert "content-length" not in r.request.headers
    assert (r.status_code, r.json()["code"]) == (413, "payload_too_large"), r.text


async def test_concurrent_idempotent_posts_skip_no_dossier_number(target: System, attacker: httpx.AsyncClient) -> None:
    """Six concurrent retries of one request make one dossier; the next dossier has the next number."""
    key = await api_key(target, "00004.TTHCC")
    url = f"{target['intake'].url}/v1/dossiers"
    same = body("LT-HT-001")
    answers = await asyncio.gather(
        *(attacker.post(url, json=same, headers={**_key(key), "Idempotency-Key": "retry-1"}) for _ in range(6))
    )
    assert sorted(a.status_code for a in answers) == [200] * 5 + [201], [a.text for a in answers]
    (code,) = {a.json()["code"] for a in answers}
    following = await _file(attacker, target, key)
    assert int(following["code"][-4:]) == int(code[-4:]) + 1, (code, following["code"])


# -- 5. abuse limits -------------------------------------------------------------------------------------
async def test_live_streams_per_dossier_are_capped(target: System, attacker: httpx.AsyncClient) -> None:
    """With NOTIFY_STREAMS_PER_DOSSIER=3 the fourth stream of one dossier is 429."""
    key = await api_key(target, "00070.TTHCC")
    filed = await _file(attacker, target, key)
    await _notified(target, filed["code"])
    url = f"{target['notify'].url}/v1/track/{filed['code']}/stream"
    params = {"token": filed["tracking_token"]}
    async with (
        attacker.stream("GET", url, params=params) as s1,
        attacker.stream("GET", url, params=params) as s2,
        attacker.stream("GET", url, params=params) as s3,
    ):
        assert [s.status_code for s in (s1, s2, s3)] == [200, 200, 200]
        fourth = await attacker.get(url, params=params)
        assert fourth.status_code == 429 and fourth.headers["retry-after"], fourth.text


async def test_guessing_tracking_tokens_stops_even_the_right_one(target: System, attacker: httpx.AsyncClient) -> None:
    """After ABUSE_FAILURE_LIMIT wrong tokens the right token is 429 too (it was 200 after 500 guesses)."""
    key = await api_key(target, "00070.TTHCC")
    filed = await _file(attacker, target, key)
    await _notified(target, filed["code"])
    url = f"{target['notify'].url}/v1/track/{filed['code']}"
    wrong = [
        (await attacker.get(url, params={"token": f"guess-{i:04d}-xxxxxxxx"})).status_code for i in range(FAILURES)
    ]
    assert wrong == [404] * FAILURES
    right = await attacker.get(url, params={"token": filed["tracking_token"]})
    assert right.status_code == 429 and int(right.headers["retry-after"]) > 0, right.text


async def test_guessing_rating_tokens_is_limited(target: System, attacker: httpx.AsyncClient) -> None:
    """Wrong rating tokens: 404 until the failure limit, then 429."""
    url = f"{target['resolution'].url}/v1/dossiers/00070.TTHCC-261122-0001/rating"
    codes = [
        (await attacker.post(url, params={"token": f"guess-{i:04d}"}, json={"score": 5})).status_code
        for i in range(FAILURES + 1)
    ]
    assert codes == [404] * FAILURES + [429], codes


async def test_verify_floods_are_limited_and_huge_office_codes_cost_nothing(
    target: System, attacker: httpx.AsyncClient
) -> None:
    """A 500 KB office code is simply not valid (no key is derived or cached for it); past ABUSE_CLIENT_LIMIT
    requests a minute the client gets 429."""
    url = f"{target['resolution'].url}/v1/results/verify"
    huge = {"document": {"office_code": "0" * 500_000 + ".UBND"}, "signature": "AAAA"}
    codes = [(await attacker.post(url, json=huge)).status_code for _ in range(CLIENT_LIMIT)]
    assert codes == [200] * CLIENT_LIMIT
    assert (await attacker.post(url, json=huge)).status_code == 429


async def test_the_papers_public_paths_are_limited(target: System, attacker: httpx.AsyncClient) -> None:
    """The verification page and API, the published keys, result PDFs and the tracking log PDF need no login:
    past ABUSE_CLIENT_LIMIT requests a minute (wrong ids and tokens: past the failure limit) the client gets 429."""
    res, notify = target["resolution"].url, target["notify"].url
    for path in ("/verify", "/.well-known/jwks.json", "/v1/results/no-such-result/verification"):
        codes = [(await attacker.get(f"{res}{path}")).status_code for _ in range(CLIENT_LIMIT + 1)]
        assert codes == [200] * CLIENT_LIMIT + [429], (path, codes)
    pdf = [(await attacker.get(f"{res}/v1/results/guess-{i:04d}/pdf")).status_code for i in range(FAILURES + 1)]
    assert pdf == [404] * FAILURES + [429], pdf
    log_url = f"{notify}/v1/track/00070.TTHCC-261122-0009/log.pdf"
    logs = [
        (await attacker.get(log_url, params={"token": f"guess-{i:04d}-xxxxxxxx"})).status_code
        for i in range(FAILURES + 1)
    ]
    assert logs == [404] * FAILURES + [429], logs


async def test_guessing_api_keys_is_limited(target: System, attacker: httpx.AsyncClient) -> None:
    """Invalid API keys: 401 until the failure limit, then 429 for this client (300 went unlimited before)."""
    url = f"{target['intake'].url}/v1/dossiers/00070.TTHCC-261122-0001"
    codes = [(await attacker.get(url, headers=_key(f"lt_guess_{i:04d}"))).status_code for i in range(FAILURES + 2)]
    assert codes == [401] * (FAILURES - 1) + [429] * 3, codes
    blocked = await attacker.get(url, headers=_key("lt_guess_last"))
    assert blocked.status_code == 429 and blocked.headers["retry-after"], blocked.text


# -- 6. operators and audit ------------------------------------------------------------------------------
async def test_operators_need_a_role_token_and_every_action_is_audited(
    target: System, attacker: httpx.AsyncClient
) -> None:
    """Static tokens are gone (401); an official without the operator role is 403; closing an office writes an
    audit record (who, what, when, from which office) that an auditor can read and others cannot."""
    routing = target["routing"].url
    status_url = f"{routing}/v1/offices/00073.UBND/status"
    static = await attacker.post(status_url, json={"status": "closed"}, headers=_key("e2e-routing-operator"))
    assert static.status_code == 401, static.text
    clerk = await attacker.post(status_url, json={"status": "closed"}, headers=official("00070.UBND", "clerk"))
    assert clerk.status_code == 403, clerk.text
    closed = await attacker.post(status_url, json={"status": "closed"}, headers=OPERATOR)
    assert closed.status_code == 200, closed.text
    await attacker.post(status_url, json={"status": "open"}, headers=OPERATOR)
    auditor = identity.bearer("P01.TTPVHCC", "auditor", sub="thanh-tra")
    trail = await attacker.get(f"{routing}/v1/audit", params={"action": "office.set_status"}, headers=auditor)
    assert trail.status_code == 200, trail.text
    records = [r for r in trail.json()["items"] if r["target"] == "00073.UBND"]
    assert [r["details"]["status"] for r in records] == ["open", "closed"]
    assert {(r["actor"], r["office"]) for r in records} == {("van-hanh", "P01.TTPVHCC")} and records[0]["at"]
    assert (await attacker.get(f"{routing}/v1/audit", headers=OPERATOR)).status_code == 403
    logs = target["routing"].log_path.read_text()
    assert '"office_status_set"' in logs  # the application log has the line too, apart from the audit trail


async def test_officials_actions_are_audited(target: System, attacker: httpx.AsyncClient) -> None:
    """An official's accept is in resolution's audit trail with the official and office."""
    key = await api_key(target, "00070.TTHCC")
    filed = await _file(attacker, target, key)
    res = target["resolution"].url
    clerk = official("00070.UBND", "clerk")

    async def case() -> int:
        return (await attacker.get(f"{res}/v1/dossiers/{filed['code']}", headers=clerk)).status_code

    await eventually(case, until=lambda s: s == 200, timeout=60)
    accepted = await attacker.post(f"{res}/v1/dossiers/{filed['code']}/accept", json={}, headers=clerk)
    assert accepted.status_code == 200, accepted.text
    auditor = identity.bearer("P01.TTPVHCC", "auditor")
    items = (await attacker.get(f"{res}/v1/audit", params={"action": "case.accept"}, headers=auditor)).json()["items"]
    assert any(i["target"] == filed["code"] and i["actor"] == "clerk@00070.UBND" for i in items), items


# -- 7. personal data ------------------------------------------------------------------------------------
async def test_personal_data_stays_where_it_is_owned(target: System, attacker: httpx.AsyncClient) -> None:
    """The received event holds no phone; routing stores no contact; intake and notify hold no clear
    citizen ID or phone; the SMS still reaches the phone."""
    key = await api_key(target, "00070.TTHCC")
    filed = await _file(attacker, target, key)
    await _notified(target, filed["code"])
    records = await collect(KAFKA, f"{target.prefix}.{Topics.DOSSIER_RECEIVED}", count=1, timeout=30)
    assert records and all(PHONE.encode() not in r.value and CITIZEN_ID.encode() not in r.value for r in records)

    async def route() -> list[dict[str, Any]]:
        return await _db(target, "routing", "routes", {"code": filed["code"]})

    (doc,) = await eventually(route, timeout=60)
    assert "contact" not in doc["received"] and PHONE not in json.dumps(doc, default=str)
    for service in ("intake", "notify"):
        for collection in ("dossiers", "notifications"):
            stored = json.dumps(await _db(target, service, collection, {}), default=str)
            assert PHONE not in stored and CITIZEN_ID not in stored, (service, collection)

    def sms() -> list[dict[str, Any]]:
        if not target.sms_outbox.exists():
            return []
        lines = map(json.loads, target.sms_outbox.read_text("utf-8").splitlines())
        return [line for line in lines if line["dossier_code"] == filed["code"]]

    async def sent() -> list[dict[str, Any]]:
        return sms()

    assert {s["to"] for s in await eventually(sent, timeout=60)} == {PHONE}  # one SMS per change, to the phone


async def test_key_management_on_the_command_line_is_audited(target: System, attacker: httpx.AsyncClient) -> None:
    """`lienthong api-key create|revoke` writes intake audit records (actor cli:<user>) an auditor reads."""
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "MONGODB_"))}, **target["intake"].env}

    def cli(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "services.cli", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    key_id = cli("api-key", "create", "--office", "00070.TTHCC").split("key id: ")[1].split()[0]
    cli("api-key", "revoke", key_id)
    auditor = identity.bearer("P01.TTPVHCC", "auditor")
    items = (await attacker.get(f"{target['intake'].url}/v1/audit", headers=auditor)).json()["items"]
    mine = [(i["action"], i["actor"].startswith("cli:")) for i in items if key_id in i["target"]]
    assert mine == [("api_key.revoke", True), ("api_key.create", True)], items
    clerk = await attacker.get(f"{target['intake'].url}/v1/audit", headers=official("00070.UBND", "clerk"))
    assert clerk.status_code == 403
