"""Citizen use cases against in-memory fakes and a test double of the identity port: login, session, filing, lists."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.intake import citizen, handlers
from services.intake.domain.citizen import CitizenIdentity, LoginAttempt, safe_return_path
from services.intake.domain.dossier import Dossier
from services.intake.entrypoints.http import receipt
from services.intake.settings import IntakeSettings
from shared.events import DossierStatusChanged
from shared.http import ApiError
from shared.pii import PersonalDataKeys
from shared.reference.procedures import load_catalogue
from shared.topics import Topics
from tests.unit.intake.fakes import Fakes
from tests.unit.intake.test_handlers import body, events_of, ports

PII = PersonalDataKeys.from_settings(IntakeSettings(environment="test"))
NOW = datetime(2026, 11, 23, 2, 15, tzinfo=UTC)
AN, BINH = "001203012345", "079198012346"


class FakeLogin:
    """Test double of the identity port: remembers the attempt it was given, answers a fixed citizen."""

    issuer = "https://vneid.test"

    def __init__(self, citizen_id: str = AN) -> None:
        self.citizen_id = citizen_id
        self.attempts: list[LoginAttempt] = []
        self.completed: list[tuple[str, LoginAttempt]] = []

    async def authorization_url(self, attempt: LoginAttempt) -> str:
        self.attempts.append(attempt)
        return f"https://vneid.test/auth?state={attempt.state}"

    async def complete(self, code: str, attempt: LoginAttempt) -> CitizenIdentity:
        self.completed.append((code, attempt))
        return CitizenIdentity(self.citizen_id, "sub-1", self.issuer, "Nguyễn Văn An", NOW)


class FakeSessions:
    """citizen.CitizenSessions in dictionaries, over the in-memory dossiers."""

    def __init__(self, fakes: Fakes | None = None) -> None:
        self.logins: dict[str, dict[str, Any]] = {}
        self.sessions: dict[str, dict[str, Any]] = {}
        self.results: dict[str, dict[str, Any]] = {}
        self.fakes = fakes or Fakes()

    async def save_login(self, doc: dict[str, Any]) -> None:
        self.logins[doc["_id"]] = doc

    async def take_login(self, state_hash: str) -> dict[str, Any] | None:
        return self.logins.pop(state_hash, None)

    async def purge_expired(self, now: datetime) -> None:
        self.logins = {k: v for k, v in self.logins.items() if v["expires_at"] >= now}

    async def save_session(self, doc: dict[str, Any]) -> None:
        self.sessions[doc["_id"]] = doc

    async def session(self, token_hash: str) -> dict[str, Any] | None:
        return self.sessions.get(token_hash)

    async def end_session(self, token_hash: str) -> None:
        self.sessions.pop(token_hash, None)

    async def dossiers_of(self, citizen_id_hash: str, limit: int) -> list[Dossier]:
        items = self.fakes.dossiers.items.values()
        mine = [d for d in items if d.applicant.citizen_id_hash == citizen_id_hash]
        return sorted(mine, key=lambda d: d.received_at, reverse=True)[:limit]

    async def dossier_of(self, citizen_id_hash: str, code: str) -> Dossier | None:
        return next((d for d in await self.dossiers_of(citizen_id_hash, 1000) if d.code == code), None)

    async def record_result(self, dossier_id: str, result: dict[str, Any]) -> None:
        self.results[dossier_id] = result | {"_id": dossier_id}

    async def results_of(self, dossier_ids: list[str]) -> dict[str, dict[str, Any]]:
        return {i: self.results[i] for i in dossier_ids if i in self.results}


async def callback(
    sessions: FakeSessions,
    login: FakeLogin,
    state: str,
    *,
    now: datetime = NOW,
    lifetime: timedelta = timedelta(hours=1),
    **changes: Any,
) -> tuple[str, str, datetime]:
    """The provider's redirect back for ``state`` from the same browser (``changes`` alter the callback)."""
    args: dict[str, Any] = {"state": state, "browser_state": state, "code": "code-1", "error": None, **changes}
    return await citizen.finish_login(**args, login=login, store=sessions, pii=PII, now=now, lifetime=lifetime)


async def logged_in(sessions: FakeSessions, login: FakeLogin) -> citizen.CitizenSession:
    """Run a whole login through the use cases and return the session it opened."""
    url, state = await citizen.start_login(login=login, store=sessions, return_to="/citizen", now=NOW)
    assert state in url
    token, _, _ = await callback(sessions, login, state)
    session = await citizen.session_of(token, store=sessions, pii=PII, now=NOW)
    assert session is not None
    return session


async def test_login_redeems_the_code_with_the_same_attempt_and_opens_a_session() -> None:
    """The callback hands the provider the nonce and verifier of the attempt started; the session knows the citizen."""
    sessions, login = FakeSessions(), FakeLogin()
    session = await logged_in(sessions, login)
    assert login.completed == [("code-1", login.attempts[0])]
    assert session.citizen_id == AN and session.name == "Nguyễn Văn An"
    (stored,) = sessions.sessions.values()
    assert AN not in str(stored) and "Nguyễn" not in str(stored), "the session keeps personal data in clear"


@pytest.mark.parametrize("case", ["another browser's state", "no cookie", "provider error", "replayed"])
async def test_a_callback_that_is_not_this_browsers_login_is_refused(case: str) -> None:
    """State must match the browser's login cookie, be unused and unexpired; a provider error is reported."""
    sessions, login = FakeSessions(), FakeLogin()
    _, state = await citizen.start_login(login=login, store=sessions, return_to=None, now=NOW)
    changes: dict[str, Any] = {}
    if case == "another browser's state":
        changes["browser_state"] = "attacker-state"
    elif case == "no cookie":
        changes["browser_state"] = None
    elif case == "provider error":
        changes["error"] = "access_denied"
    else:
        await callback(sessions, login, state)
    with pytest.raises(ApiError) as caught:
        await callback(sessions, login, state, **changes)
    assert (caught.value.status, caught.value.code) == (400, "login_failed")


async def test_an_expired_login_attempt_is_refused() -> None:
    """A callback after the attempt's lifetime opens no session."""
    sessions, login = FakeSessions(), FakeLogin()
    _, state = await citizen.start_login(login=login, store=sessions, return_to=None, now=NOW)
    with pytest.raises(ApiError, match="expired"):
        await callback(sessions, login, state, now=NOW + citizen.LOGIN_LIFETIME + timedelta(seconds=1))


async def test_sessions_expire_and_end_at_logout() -> None:
    """After its lifetime or a logout the token no longer names anyone."""
    sessions, login = FakeSessions(), FakeLogin()
    _, state = await citizen.start_login(login=login, store=sessions, return_to=None, now=NOW)
    token, _, expires = await callback(sessions, login, state, lifetime=timedelta(minutes=30))
    assert expires == NOW + timedelta(minutes=30)
    assert await citizen.session_of(token, store=sessions, pii=PII, now=expires) is None
    assert await citizen.session_of(token, store=sessions, pii=PII, now=NOW) is not None
    await citizen.logout(token, store=sessions)
    assert await citizen.session_of(token, store=sessions, pii=PII, now=NOW) is None


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("/citizen?x=1", "/citizen?x=1"),
        ("https://evil.test/", "/citizen"),
        ("//evil.test", "/citizen"),
        ("/\\evil.test", "/citizen"),
        (None, "/citizen"),
    ],
)
def test_only_paths_of_this_site_are_returned_to(given: str | None, expected: str) -> None:
    """No open redirect after login."""
    assert safe_return_path(given) == expected


async def file(
    sessions: FakeSessions, session: citizen.CitizenSession, payload: dict[str, Any], *, key: str | None = None
) -> handlers.Receipt:
    return await citizen.file_dossier(payload, session, idempotency_key=key, ports=ports(sessions.fakes), now=NOW)


def online(citizen_id: str | None = AN) -> dict[str, Any]:
    b = body()
    b.pop("channel")
    b["applicant"] = {**b["applicant"], "citizen_id": citizen_id}
    return b


async def test_a_logged_in_citizen_files_an_identity_verified_dossier_at_the_province_centre() -> None:
    """Online, received by P01.TTPVHCC (ward 00070 is in Hà Nội), applicant identity_verified; the event says so."""
    sessions = FakeSessions()
    session = await logged_in(sessions, FakeLogin())
    dossier = (await file(sessions, session, online(citizen_id=None))).dossier
    stored = sessions.fakes.dossiers.items[dossier.id]
    assert stored.office_code == "P01.TTPVHCC" and stored.channel == "online"
    assert stored.applicant.identity_verified is True
    assert stored.applicant.identity_provider == "https://vneid.test"
    assert stored.applicant.identity_verified_at == NOW
    assert stored.applicant.citizen_id_hash == PII.hash(AN)
    (entry,) = events_of(sessions.fakes, dossier.id)
    assert entry.topic == Topics.DOSSIER_RECEIVED and entry.data["applicant_identity_verified"] is True


async def test_a_counter_filing_is_not_identity_verified() -> None:
    """The contrast: a front office's dossier carries no verified identity, in the store or the event."""
    from tests.unit.intake.test_handlers import receive

    fakes = Fakes()
    filed = await receive(fakes)
    assert fakes.dossiers.items[filed["id"]].applicant.identity_verified is False
    (entry,) = events_of(fakes, filed["id"])
    assert entry.data["applicant_identity_verified"] is False


async def test_another_citizens_id_in_the_form_is_refused() -> None:
    """The citizen ID comes from the login: a different one in the form is 403 citizen_id_mismatch, nothing stored."""
    sessions = FakeSessions()
    session = await logged_in(sessions, FakeLogin())
    with pytest.raises(ApiError) as caught:
        await file(sessions, session, online(citizen_id=BINH))
    assert (caught.value.status, caught.value.code) == (403, "citizen_id_mismatch")
    assert sessions.fakes.dossiers.items == {}


async def test_my_dossiers_are_mine_only_with_forms_and_result() -> None:
    """An's list holds An's dossiers (with receipt link and, once signed, the result links); Bình's is Bình's."""
    sessions = FakeSessions()
    an = await logged_in(sessions, FakeLogin(AN))
    binh = await logged_in(sessions, FakeLogin(BINH))
    mine = receipt(await file(sessions, an, online()))
    theirs = receipt(await file(sessions, binh, online(citizen_id=BINH)))
    event = DossierStatusChanged.model_validate(
        {
            "dossier_id": mine["id"],
            "dossier_code": mine["code"],
            "office_code": "00070.UBND",
            "status": "result_ready",
            "action": "approve",
            "version": 3,
            "occurred_at": NOW,
            "result": {
                "document_id": "doc-1",
                "sha256": "0" * 64,
                "signature": "s",
                "signed_by_office": "00070.UBND",
                "verify_url": "http://127.0.0.1:8003/verify?id=doc-1",
            },
        }
    )
    assert await citizen.record_result(event, store=sessions)
    listed = await citizen.my_dossiers(an, store=sessions, catalogue=load_catalogue(), limit=10)
    assert [d["code"] for d in listed] == [mine["code"]]
    (item,) = listed
    assert item["forms"][0]["url"] == f"/v1/citizen/dossiers/{mine['code']}/forms/receipt.pdf"
    assert item["result"]["pdf_url"] == "http://127.0.0.1:8003/v1/results/doc-1/pdf"
    assert item["receiving_office_name"] and item["identity_verified"] is True
    assert [
        d["code"] for d in await citizen.my_dossiers(binh, store=sessions, catalogue=load_catalogue(), limit=10)
    ] == [theirs["code"]]
    with pytest.raises(ApiError) as caught:
        await citizen.my_dossier(an, theirs["code"], store=sessions, catalogue=load_catalogue())
    assert caught.value.status == 404


async def test_a_chain_steps_result_is_not_the_citizens_yet() -> None:
    """A result of a step that the chain continues after is not recorded as the citizen's result."""
    event = DossierStatusChanged.model_validate(
        {
            "dossier_id": "d",
            "dossier_code": "c",
            "office_code": "00070.UBND",
            "status": "result_ready",
            "action": "approve",
            "version": 3,
            "occurred_at": NOW,
            "chain_step": 0,
            "chain": ["LT-HT-001", "LT-CT-001"],
            "result": {"document_id": "x", "sha256": "0" * 64, "signature": "s", "signed_by_office": "00070.UBND"},
        }
    )
    sessions = FakeSessions()
    assert not await citizen.record_result(event, store=sessions)
    assert sessions.results == {}


KEYS = {k: "k" * 40 + k for k in ("pii_hash_key", "pii_encryption_key", "contact_sealing_key")}


def test_development_logs_in_at_the_local_provider_and_elsewhere_login_is_off_unless_configured() -> None:
    """Development defaults to the local Dex; test/production without CITIZEN_OIDC_ISSUER has no citizen login."""
    assert IntakeSettings().citizen_issuer == "http://127.0.0.1:5556/dex"
    assert IntakeSettings(environment="production", **KEYS).citizen_issuer is None


@pytest.mark.parametrize(
    ("changes", "refused"),
    [
        ({}, "CITIZEN_OIDC_CLIENT_SECRET is a public development value"),
        ({"citizen_oidc_client_secret": "short"}, "CITIZEN_OIDC_CLIENT_SECRET is shorter"),
        ({"citizen_oidc_client_secret": "s" * 40, "citizen_oidc_issuer": "http://vneid.test"}, "CITIZEN_OIDC_ISSUER"),
        ({"citizen_oidc_client_secret": "s" * 40}, "CITIZEN_OIDC_REDIRECT_URL"),
    ],
)
def test_production_refuses_development_values_of_the_citizen_login(changes: dict[str, Any], refused: str) -> None:
    """A configured provider in production needs a real client secret and https issuer and callback."""
    settings = {"citizen_oidc_issuer": "https://vneid.test", **changes}
    with pytest.raises(ValueError, match=refused):
        IntakeSettings(environment="production", **KEYS, **settings)


def test_production_accepts_a_real_configuration() -> None:
    """The contrast: https issuer and callback and a long private secret start."""
    settings = IntakeSettings(
        environment="production",
        **KEYS,
        citizen_oidc_issuer="https://vneid.test",
        citizen_oidc_client_secret="s" * 40,
        citizen_oidc_redirect_url="https://dichvucong.test/citizen/callback",
    )
    assert settings.citizen_issuer == "https://vneid.test"


def test_the_client_secret_comes_from_a_secret_file(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Outside development the client secret is a file under SECRETS_DIR (Docker/Kubernetes secrets), like the keys."""
    (tmp_path / "CITIZEN_OIDC_CLIENT_SECRET").write_text("secret-from-file-0123456789abcdef0123456789")
    monkeypatch.setenv("SECRETS_DIR", str(tmp_path))
    monkeypatch.delenv("CITIZEN_OIDC_CLIENT_SECRET", raising=False)
    settings = IntakeSettings(environment="test", **KEYS, citizen_oidc_issuer="http://127.0.0.1:5556/dex")
    assert settings.citizen_oidc_client_secret.get_secret_value() == "secret-from-file-0123456789abcdef0123456789"


async def test_a_retried_filing_with_the_same_key_is_the_same_dossier_and_keys_are_per_citizen() -> None:
    """The same Idempotency-Key and body answer the first dossier; another citizen's same key files their own."""
    sessions = FakeSessions()
    an, binh = await logged_in(sessions, FakeLogin(AN)), await logged_in(sessions, FakeLogin(BINH))

    first = await file(sessions, an, online(citizen_id=None), key="retry-1")
    again = await file(sessions, an, online(citizen_id=None), key="retry-1")
    theirs = await file(sessions, binh, online(citizen_id=None), key="retry-1")
    assert (first.created, again.created, theirs.created) == (True, False, True)
    assert again.dossier.code == first.dossier.code != theirs.dossier.code
    assert len(sessions.fakes.dossiers.items) == 2
