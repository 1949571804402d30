"""Citizen use cases: log in through the e-ID provider, file online as oneself, see one's own dossiers.

The identity port (``CitizenLogin``) is the OpenID Connect relying party of adapters/citizen_identity.py in
production and a test double in unit tests. Sessions live in intake's store, found by the hash of the
cookie's random token, so logging out ends them at once on every instance.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from services.intake import handlers
from services.intake.domain.citizen import (
    STATUS_LABELS_VI,
    CitizenIdentity,
    LoginAttempt,
    new_login_attempt,
    safe_return_path,
)
from services.intake.domain.dossier import Dossier, sha256_hex
from services.intake.domain.office import Office, office_of
from services.intake.domain.ports import ReceiptPrinter
from shared.http import ApiError
from shared.logging import get_logger
from shared.pii import PersonalDataKeys, mask_citizen_id
from shared.reference.admin_units import get_ward
from shared.reference.offices import OfficeKind, office_code, office_name
from shared.reference.procedures import Catalogue

log = get_logger(__name__)

#: How long a started login may take before its callback is refused.
LOGIN_LIFETIME = timedelta(minutes=10)


class CitizenLogin(Protocol):
    """The identity-provider port: send the citizen to log in, and verify who came back."""

    issuer: str

    async def authorization_url(self, attempt: LoginAttempt) -> str:
        """The provider's login page for this attempt."""

    async def complete(self, code: str, attempt: LoginAttempt) -> CitizenIdentity:
        """The verified citizen behind an authorisation code (LoginRejected / ProviderUnavailable otherwise)."""


class CitizenSessions(Protocol):
    """What the citizen use cases need from the store (adapters/citizen_store.py)."""

    async def save_login(self, doc: dict[str, Any]) -> None:
        """Keep a login attempt."""

    async def take_login(self, state_hash: str) -> dict[str, Any] | None:
        """Remove and return a login attempt."""

    async def purge_expired(self, now: datetime) -> None:
        """Drop what has expired."""

    async def save_session(self, doc: dict[str, Any]) -> None:
        """Keep a session."""

    async def session(self, token_hash: str) -> dict[str, Any] | None:
        """A session by token hash."""

    async def end_session(self, token_hash: str) -> None:
        """Remove a session."""

    async def dossiers_of(self, citizen_id_hash: str, limit: int) -> list[Dossier]:
        """A citizen's dossiers, newest first."""

    async def dossier_of(self, citizen_id_hash: str, code: str) -> Dossier | None:
        """One of the citizen's dossiers."""

    async def record_result(self, dossier_id: str, result: dict[str, Any]) -> None:
        """Keep a dossier's signed result."""

    async def results_of(self, dossier_ids: list[str]) -> dict[str, dict[str, Any]]:
        """Results by dossier id."""


@dataclass(frozen=True)
class CitizenSession:
    """A logged-in citizen, as the routes see them."""

    citizen_id: str
    citizen_id_hash: str
    name: str | None
    issuer: str
    authenticated_at: datetime
    expires_at: datetime


def _login_failed(reason_vi: str, reason: str) -> ApiError:
    return ApiError(400, "login_failed", f"login failed: {reason}", vi=f"đăng nhập không thành công: {reason_vi}")


async def start_login(
    *, login: CitizenLogin, store: CitizenSessions, return_to: str | None, now: datetime
) -> tuple[str, str]:
    """A new login attempt kept server-side; (the provider's login URL, the state the browser must bring back)."""
    await store.purge_expired(now)
    attempt = new_login_attempt()
    url = await login.authorization_url(attempt)
    await store.save_login(
        {
            "_id": sha256_hex(attempt.state),
            "nonce": attempt.nonce,
            "code_verifier": attempt.code_verifier,
            "return_to": safe_return_path(return_to),
            "created_at": now,
            "expires_at": now + LOGIN_LIFETIME,
        }
    )
    return url, attempt.state


async def finish_login(
    *,
    state: str | None,
    browser_state: str | None,
    code: str | None,
    error: str | None,
    login: CitizenLogin,
    store: CitizenSessions,
    pii: PersonalDataKeys,
    now: datetime,
    lifetime: timedelta,
) -> tuple[str, str, datetime]:
    """Check the callback and open a session; (session token, where to go, when it expires).

    The state must be the one this browser was given (its login cookie), so nobody can log a victim's
    browser into the attacker's account with a callback link (login CSRF).
    """
    if error:
        raise _login_failed("nhà cung cấp định danh đã từ chối hoặc Ông/Bà đã hủy", f"the provider answered {error}")
    if not state or not code:
        raise _login_failed("thiếu state hoặc code", "state and code are required")
    if not browser_state or not hmac.compare_digest(state, browser_state):
        raise _login_failed("phiên đăng nhập không khớp với trình duyệt này", "state is not this browser's login")
    pending = await store.take_login(sha256_hex(state))
    if pending is None or pending["expires_at"] < now:
        raise _login_failed("phiên đăng nhập đã hết hạn, hãy đăng nhập lại", "the login attempt expired or was used")
    attempt = LoginAttempt(state=state, nonce=pending["nonce"], code_verifier=pending["code_verifier"])
    identity = await login.complete(code, attempt)
    token = secrets.token_urlsafe(32)
    expires_at = now + lifetime
    await store.save_session(
        {
            "_id": sha256_hex(token),
            "citizen_id_enc": pii.at_rest.encrypt(identity.citizen_id),
            "citizen_id_hash": pii.hash(identity.citizen_id),
            "name_enc": pii.at_rest.encrypt(identity.name) if identity.name else None,
            "issuer": identity.issuer,
            "subject_hash": pii.hash(f"{identity.issuer} {identity.subject}"),
            "authenticated_at": identity.authenticated_at,
            "created_at": now,
            "expires_at": expires_at,
        }
    )
    log.info("citizen_logged_in", issuer=identity.issuer)
    return token, pending["return_to"], expires_at


async def session_of(
    token: str | None, *, store: CitizenSessions, pii: PersonalDataKeys, now: datetime
) -> CitizenSession | None:
    """The logged-in citizen of a session token, or None (unknown, ended or expired)."""
    if not token:
        return None
    doc = await store.session(sha256_hex(token))
    if doc is None or doc["expires_at"] <= now:
        return None
    return CitizenSession(
        citizen_id=pii.at_rest.decrypt(doc["citizen_id_enc"]),
        citizen_id_hash=doc["citizen_id_hash"],
        name=pii.at_rest.decrypt(doc["name_enc"]) if doc.get("name_enc") else None,
        issuer=doc["issuer"],
        authenticated_at=doc["authenticated_at"],
        expires_at=doc["expires_at"],
    )


async def logout(token: str | None, *, store: CitizenSessions) -> None:
    """End the session of ``token`` (nothing to do without one)."""
    if token:
        await store.end_session(sha256_hex(token))


def me(session: CitizenSession) -> dict[str, Any]:
    """What the citizen's own page shows of them (the citizen ID masked)."""
    return {
        "name": session.name,
        "citizen_id_masked": mask_citizen_id(session.citizen_id),
        "identity_provider": session.issuer,
        "authenticated_at": session.authenticated_at,
        "expires_at": session.expires_at,
    }


def _summary(dossier: Dossier, result: dict[str, Any] | None, catalogue: Catalogue) -> dict[str, Any]:
    procedure = catalogue.get(dossier.procedure_code)
    route, current = dossier.route, dossier.current_office_code
    current_name = route.office_name if route and current and route.office_code == current else None
    code = dossier.code
    return {
        "id": dossier.id,
        "code": code,
        "procedure_code": dossier.procedure_code,
        "procedure_name": procedure.name if procedure else None,
        "channel": dossier.channel,
        "status": dossier.status,
        "status_label": STATUS_LABELS_VI.get(dossier.status, dossier.status),
        "awaiting_supplement": dossier.awaiting_supplement,
        "received_at": dossier.received_at,
        "due_at": dossier.due_at,
        "receiving_office_code": dossier.office_code,
        "receiving_office_name": office_name(dossier.office_code),
        "current_office_code": current,
        "current_office_name": current_name or (office_name(current) if current else None),
        "identity_verified": dossier.applicant.identity_verified,
        "forms": [
            {
                "form": "mau01",
                "title": "Giấy tiếp nhận hồ sơ và hẹn trả kết quả (Mẫu 01)",
                "url": f"/v1/citizen/dossiers/{code}/forms/receipt.pdf",
            }
        ],
        "result": result_links(result) if result else None,
    }


def result_links(result: dict[str, Any]) -> dict[str, Any]:
    """The result's public links: resolution's verification page and, next to it, the signed PDF."""
    verify_url = result.get("verify_url")
    base = verify_url.split("/verify?", 1)[0] if verify_url and "/verify?" in verify_url else None
    return {
        "document_id": result["document_id"],
        "office_code": result.get("office_code"),
        "office_name": office_name(result["office_code"]) if result.get("office_code") else None,
        "signed_at": result.get("signed_at"),
        "verify_url": verify_url,
        "pdf_url": f"{base}/v1/results/{result['document_id']}/pdf" if base else None,
    }


async def my_dossiers(
    session: CitizenSession, *, store: CitizenSessions, catalogue: Catalogue, limit: int
) -> list[dict[str, Any]]:
    """The citizen's own dossiers wherever they were filed, newest first, with status, forms and results."""
    dossiers = await store.dossiers_of(session.citizen_id_hash, limit)
    results = await store.results_of([d.id for d in dossiers])
    return [_summary(d, results.get(d.id), catalogue) for d in dossiers]


async def own_dossier(session: CitizenSession, code: str, *, store: CitizenSessions) -> Dossier:
    """One of the citizen's own dossiers; 404 for another's, exactly as for a code that does not exist."""
    dossier = await store.dossier_of(session.citizen_id_hash, code)
    if dossier is None:
        raise ApiError(404, "not_found", f"you have no dossier {code!r}", vi=f"Ông/Bà không có hồ sơ {code!r}")
    return dossier


async def print_own_receipt(
    session: CitizenSession,
    code: str,
    *,
    store: CitizenSessions,
    catalogue: Catalogue,
    printer: ReceiptPrinter,
    pii: PersonalDataKeys,
) -> bytes:
    """Mẫu 01 of one of the citizen's own dossiers (no tracking token: only its hash is stored)."""
    dossier = await own_dossier(session, code, store=store)
    # the slip is the citizen's own paper: it prints the applicant in clear (stored encrypted)
    clear = handlers.applicant_in_clear(dossier.applicant, pii)
    return await printer.receipt(dossier, clear, procedure=catalogue.get(dossier.procedure_code), token=None)


async def my_dossier(
    session: CitizenSession, code: str, *, store: CitizenSessions, catalogue: Catalogue
) -> dict[str, Any]:
    """One of the citizen's own dossiers as on their list."""
    dossier = await own_dossier(session, code, store=store)
    return _summary(dossier, (await store.results_of([dossier.id])).get(dossier.id), catalogue)


def receiving_office(body: dict[str, Any]) -> Office:
    """Online filings are received by the province's public administration service centre (our rule): the
    province of the subject's commune, else of the applicant's; the filing is boundary-free within it."""
    ward_code = (body.get("subject") or {}).get("ward_code") or body["applicant"]["address"]["ward_code"]
    ward = get_ward(ward_code)
    if ward is None:
        raise ApiError(422, "unknown_ward", f"no commune/ward {ward_code!r}", vi=f"không có xã/phường {ward_code!r}")
    return office_of(office_code(ward.province_code, OfficeKind.PROVINCE_SERVICE_CENTRE))


def as_verified_applicant(body: dict[str, Any], session: CitizenSession) -> dict[str, Any]:
    """The filing with the applicant's citizen ID taken from the login (a different one in the form is a 403)."""
    applicant = dict(body["applicant"])
    given = applicant.get("citizen_id")
    if given is not None and not hmac.compare_digest(str(given), session.citizen_id):
        raise ApiError(
            403,
            "citizen_id_mismatch",
            "applicant.citizen_id: not the citizen ID of the logged-in citizen; file your own dossier, or at a counter",
            vi="applicant.citizen_id: không phải số định danh của người đã đăng nhập; Ông/Bà chỉ nộp được hồ sơ "
            "của chính mình (hoặc nộp tại bộ phận một cửa)",
        )
    full_name = applicant.get("full_name") or session.name
    if not full_name:
        raise ApiError(
            422, "validation_error", "applicant.full_name: required", vi="applicant.full_name: bắt buộc phải có"
        )
    applicant |= {
        "citizen_id": session.citizen_id,
        "full_name": full_name,
        "identity_verified": True,
        "identity_provider": session.issuer,
        "identity_verified_at": session.authenticated_at,
    }
    return {**body, "applicant": applicant, "channel": "online"}


async def file_dossier(
    body: dict[str, Any],
    session: CitizenSession,
    *,
    idempotency_key: str | None,
    ports: handlers.FilingPorts,
    now: datetime,
) -> handlers.Receipt:
    """File a dossier online as the logged-in citizen: identity-verified applicant, the province centre receives
    (the idempotency key is the citizen's own)."""
    verified = as_verified_applicant(body, session)
    office = receiving_office(verified)
    key = f"citizen:{session.citizen_id_hash[:24]}:{idempotency_key}" if idempotency_key else None
    return await handlers.receive_dossier(verified, office=office, idempotency_key=key, ports=ports, now=now)


async def record_result(event: Any, *, store: CitizenSessions) -> bool:
    """Keep the citizen's result from ``dossier.status.v1`` (the last step's of a chain); False when none."""
    if event.result is None or event.chain_continues:
        return False
    await store.record_result(
        event.dossier_id,
        {
            "dossier_code": event.dossier_code,
            "document_id": event.result.document_id,
            "verify_url": event.result.verify_url,
            "office_code": event.result.signed_by_office,
            "signed_at": event.occurred_at,
        },
    )
    log.info("citizen_result_recorded", dossier_id=event.dossier_id, document_id=event.result.document_id)
    return True
