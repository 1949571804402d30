"""The citizen portal's routes: e-ID login (OpenID Connect code flow + PKCE), "my dossiers" page and API,
filing online as oneself, the own receipt; and the consumer that keeps each dossier's result for it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Annotated, Any
from urllib.parse import urlsplit

import jinja2
from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.security import APIKeyCookie
from pydantic import BaseModel, ConfigDict, Field

from services.intake import citizen
from services.intake.domain.citizen import LoginRejected, ProviderUnavailable
from services.intake.entrypoints.deps import Deps, IntakeDeps, get_deps
from services.intake.entrypoints.http import receipt
from services.intake.entrypoints.models import (
    Address,
    Document,
    DossierId,
    Email,
    FullName,
    NotifyPreferences,
    Phone,
    ProcedureCode,
    Receipt,
    ReceivedAt,
    Subject,
)
from shared.broker import subscribe
from shared.envelope import CloudEvent
from shared.events import DossierStatusChanged
from shared.http import ApiError, error_responses
from shared.logging import get_logger
from shared.papers import pdf_response, pdf_responses
from shared.reference.legal_clock import VIETNAM_TZ
from shared.topics import Topics

log = get_logger(__name__)

SESSION_COOKIE = "lt_citizen"
LOGIN_COOKIE = "lt_citizen_login"
CALLBACK_PATH = "/citizen/callback"

session_cookie = APIKeyCookie(
    name=SESSION_COOKIE,
    auto_error=False,
    description="The citizen's session after logging in with the e-ID provider at `GET /citizen/login` "
    "(HttpOnly, SameSite=Lax; Secure outside development).",
)


@dataclass
class CitizenPortal:
    """What the citizen routes need (from the service's dependencies and settings)."""

    login: citizen.CitizenLogin | None  # None: citizen login is off (no provider configured)
    store: citizen.CitizenSessions
    secure_cookies: bool
    session_lifetime: timedelta
    public_origin: str


def _portal(request: Request) -> CitizenPortal:
    d = get_deps(request)
    return CitizenPortal(
        login=d.citizen_login,
        store=d.citizen_store,
        secure_cookies=d.settings.environment != "development",
        session_lifetime=timedelta(seconds=d.settings.citizen_session_lifetime),
        public_origin=origin_of(d.settings.citizen_redirect_url),
    )


def _login_of(portal: CitizenPortal) -> citizen.CitizenLogin:
    if portal.login is None:  # a configuration, not a transient fault: the route is absent on this service
        raise ApiError(
            404,
            "citizen_login_unavailable",
            "citizen login is not configured on this service (CITIZEN_OIDC_ISSUER)",
            vi="chưa cấu hình đăng nhập bằng định danh điện tử cho công dân",
        )
    return portal.login


def _now() -> datetime:
    return datetime.now(UTC)


async def current_citizen(
    request: Request, token: Annotated[str | None, Depends(session_cookie)]
) -> citizen.CitizenSession:
    """The logged-in citizen; 401 ``unauthorized`` without a live session."""
    session = await citizen.session_of(token, store=_portal(request).store, pii=get_deps(request).pii, now=_now())
    if session is None:
        raise ApiError(
            401,
            "unauthorized",
            "log in with your e-ID first: GET /citizen/login",
            vi="Ông/Bà cần đăng nhập bằng tài khoản định danh điện tử (VNeID) trước",
        )
    return session


Citizen = Annotated[citizen.CitizenSession, Depends(current_citizen)]


def _same_origin(request: Request, portal: CitizenPortal) -> None:
    """A state-changing request with an ``Origin`` must come from the portal itself (defence beside SameSite)."""
    origin = request.headers.get("origin")
    if origin is not None and origin.rstrip("/") != portal.public_origin:
        raise ApiError(403, "forbidden", "cross-site request refused", vi="yêu cầu từ trang khác bị từ chối")


# -- models ----------------------------------------------------------------------------------------
class CitizenApplicant(BaseModel):
    """The applicant of an online filing: identity comes from the login, so the citizen ID may be left out."""

    model_config = ConfigDict(extra="forbid")
    full_name: FullName | None = Field(
        default=None, description="Full name (default: the provider's name).", examples=["Nguyễn Văn An"]
    )
    citizen_id: str | None = Field(
        default=None,
        max_length=32,
        description="Optional; if given it must be the logged-in citizen's (403 citizen_id_mismatch otherwise).",
        examples=["001203012345"],
    )
    phone: Phone
    email: Email = None
    address: Address = Field(description="Registered address.", examples=[{"ward_code": "00070"}])


class CitizenDossierIn(BaseModel):
    """A dossier filed online by the logged-in citizen (channel online, received by the province centre)."""

    model_config = ConfigDict(extra="forbid")
    procedure_code: str = Field(
        max_length=32, description="Procedure code from /v1/procedures.", examples=["LT-HT-001"]
    )
    applicant: CitizenApplicant = Field(description="The citizen (the logged-in one).")
    subject: Subject | None = Field(default=None, description="Location of the subject, when the procedure needs it.")
    documents: list[Document] = Field(max_length=50, description="Attached documents (metadata).")
    notify: NotifyPreferences = Field(default_factory=NotifyPreferences, description="Notification preferences.")
    locale: str = Field(default="vi", pattern="^(vi|en)$", description="Language of notifications.", examples=["vi"])


class CitizenMe(BaseModel):
    """The logged-in citizen."""

    name: str | None = Field(description="Name from the e-ID provider.", examples=["Nguyễn Văn An"])
    citizen_id_masked: str = Field(description="Citizen ID, masked.", examples=["001*******45"])
    identity_provider: str = Field(description="Issuer of the login.", examples=["http://127.0.0.1:5556/dex"])
    authenticated_at: datetime = Field(description="When the citizen logged in at the provider.")
    expires_at: datetime = Field(description="When this session ends.")


class FormLink(BaseModel):
    """A printed form of the dossier the citizen may open."""

    form: str = Field(description="Form id.", examples=["mau01"])
    title: str = Field(description="Title (Vietnamese).", examples=["Giấy tiếp nhận hồ sơ và hẹn trả kết quả (Mẫu 01)"])
    url: str = Field(description="Path on intake (the session cookie authorises it).")


class ResultLink(BaseModel):
    """The signed result of the dossier (public by its unguessable id)."""

    document_id: str = Field(description="Result id.")
    office_code: str | None = Field(default=None, description="Signing office.", examples=["00070.UBND"])
    office_name: str | None = Field(
        default=None, description="Its name.", examples=["Ủy ban nhân dân Phường Hoàn Kiếm"]
    )
    signed_at: datetime | None = Field(default=None, description="When it was signed.")
    verify_url: str | None = Field(default=None, description="Public verification page (resolution).")
    pdf_url: str | None = Field(default=None, description="The signed result as PDF (resolution).")


class CitizenDossier(BaseModel):
    """One of the citizen's own dossiers."""

    id: DossierId
    code: str = Field(description="Dossier code.", examples=["P01.TTPVHCC-261202-0001"])
    procedure_code: ProcedureCode
    procedure_name: str | None = Field(description="Its name.", examples=["Đăng ký khai sinh"])
    channel: str | None = Field(description="How it was filed.", examples=["online"])
    status: str = Field(description="Current status.", examples=["in_process"])
    status_label: str = Field(description="The status in Vietnamese.", examples=["Đang giải quyết"])
    awaiting_supplement: bool = Field(description="A supplement is requested.")
    received_at: ReceivedAt
    due_at: datetime = Field(description="Current appointment date.")
    receiving_office_code: str = Field(description="Receiving office.", examples=["P01.TTPVHCC"])
    receiving_office_name: str | None = Field(description="Its name.")
    current_office_code: str | None = Field(description="Office now handling it.", examples=["00070.UBND"])
    current_office_name: str | None = Field(description="Its name.")
    identity_verified: bool = Field(description="Filed by the citizen logged in with the e-ID provider.")
    forms: list[FormLink] = Field(description="Printed forms.")
    result: ResultLink | None = Field(description="The signed result, once there is one.")


class CitizenDossiers(BaseModel):
    """The logged-in citizen's dossiers (dossiers of nobody else)."""

    citizen: CitizenMe = Field(description="Who is logged in.")
    items: list[CitizenDossier] = Field(description="Their dossiers, newest first.")


# -- routes ----------------------------------------------------------------------------------------
router = APIRouter(tags=["citizen"])


@router.get(
    "/citizen/login",
    summary="Log in with the e-ID provider (redirect to it; OpenID Connect code flow with PKCE)",
    response_class=RedirectResponse,
    status_code=302,
    responses={302: {"description": "To the provider's login page."}, **error_responses(404, 429, 503)},
)
async def login(
    request: Request,
    return_to: Annotated[
        str | None, Query(max_length=300, description="Path on this site to open after login (default /citizen).")
    ] = None,
) -> Response:
    portal = _portal(request)
    # unauthenticated and it stores a login attempt: limited per client like the other public paths
    await get_deps(request).abuse.admit(request, "citizen-login")
    try:
        url, state = await citizen.start_login(
            login=_login_of(portal), store=portal.store, return_to=return_to, now=_now()
        )
    except ProviderUnavailable as exc:
        log.warning("identity_provider_unavailable", reason=str(exc)[:200])
        raise _unavailable() from None
    response = RedirectResponse(url, status_code=302)
    _set_cookie(response, portal, LOGIN_COOKIE, state, lifetime=citizen.LOGIN_LIFETIME, path=CALLBACK_PATH)
    return response


def _set_cookie(
    response: Response, portal: CitizenPortal, name: str, value: str, *, lifetime: timedelta, path: str
) -> None:
    """An HttpOnly cookie, Secure outside development; SameSite=Lax, because the provider sends the browser
    back with a top-level GET (Strict would lose it) while cross-site POSTs still carry none."""
    response.set_cookie(
        name,
        value,
        max_age=int(lifetime.total_seconds()),
        path=path,
        httponly=True,
        secure=portal.secure_cookies,
        samesite="lax",
    )


def _unavailable() -> ApiError:
    return ApiError(
        503,
        "identity_provider_unavailable",
        "the e-ID provider cannot be reached; try again later",
        vi="không kết nối được với hệ thống định danh điện tử; vui lòng thử lại sau",
    )


@router.get(
    CALLBACK_PATH,
    summary="The provider's redirect back: checks state, redeems the code, verifies the ID token, opens a session",
    response_class=RedirectResponse,
    status_code=303,
    responses={
        303: {"description": "Logged in; to the page asked for."},
        **error_responses(400, 401, 404, 429, 503),
    },
)
async def callback(
    request: Request,
    code: Annotated[str | None, Query(max_length=2000, description="Authorisation code.")] = None,
    state: Annotated[str | None, Query(max_length=200, description="The state of this login.")] = None,
    error: Annotated[str | None, Query(max_length=200, description="The provider's error, if any.")] = None,
) -> Response:
    portal = _portal(request)
    abuse = get_deps(request).abuse
    await abuse.admit(request, "citizen-callback")
    try:
        token, return_to, expires_at = await citizen.finish_login(
            state=state,
            browser_state=request.cookies.get(LOGIN_COOKIE),
            code=code,
            error=error,
            login=_login_of(portal),
            store=portal.store,
            pii=get_deps(request).pii,
            now=_now(),
            lifetime=portal.session_lifetime,
        )
    except ApiError:
        await abuse.failed(request, "citizen-callback")
        raise
    except LoginRejected as exc:
        await abuse.failed(request, "citizen-callback")
        log.info("citizen_login_rejected", reason=str(exc)[:200])
        raise ApiError(
            401, "login_rejected", "the e-ID login could not be verified", vi="không xác thực được đăng nhập định danh"
        ) from None
    except ProviderUnavailable as exc:
        log.warning("identity_provider_unavailable", reason=str(exc)[:200])
        raise _unavailable() from None
    response = RedirectResponse(return_to, status_code=303)
    response.delete_cookie(LOGIN_COOKIE, path=CALLBACK_PATH)
    _set_cookie(response, portal, SESSION_COOKIE, token, lifetime=expires_at - _now(), path="/")
    return response


@router.post(
    "/citizen/logout",
    summary="Log out (the session ends at once)",
    response_class=RedirectResponse,
    status_code=303,
    responses={303: {"description": "To the portal's page."}, **error_responses(401, 403)},
)
async def logout(request: Request, _: Citizen, token: Annotated[str | None, Depends(session_cookie)]) -> Response:
    # a live session is required, as on every write endpoint: without one there is nothing to end (401)
    portal = _portal(request)
    _same_origin(request, portal)
    await citizen.logout(token, store=portal.store)
    response = RedirectResponse("/citizen", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/v1/citizen/me", response_model=CitizenMe, responses=error_responses(401))
async def get_me(session: Citizen) -> dict[str, Any]:
    return citizen.me(session)


@router.get(
    "/v1/citizen/dossiers",
    response_model=CitizenDossiers,
    summary="My dossiers: the logged-in citizen's own dossiers, statuses, forms and results",
    responses=error_responses(401, 422),
)
async def list_my_dossiers(
    request: Request,
    session: Citizen,
    limit: Annotated[int, Query(ge=1, le=200, description="Most dossiers returned, newest first.")] = 50,
) -> dict[str, Any]:
    items = await citizen.my_dossiers(
        session, store=_portal(request).store, catalogue=get_deps(request).catalogue, limit=limit
    )
    return {"citizen": citizen.me(session), "items": items}


@router.get(
    "/v1/citizen/dossiers/{code}",
    response_model=CitizenDossier,
    summary="One of my dossiers (404 for anybody else's, as for an unknown code)",
    responses=error_responses(401, 404),
)
async def get_my_dossier(code: str, request: Request, session: Citizen) -> dict[str, Any]:
    return await citizen.my_dossier(session, code, store=_portal(request).store, catalogue=get_deps(request).catalogue)


@router.get(
    "/v1/citizen/dossiers/{code}/forms/receipt.pdf",
    response_class=Response,
    summary="My receipt and appointment slip (Mẫu 01) as PDF",
    responses=pdf_responses("The receipt of one of my dossiers (the QR code carries the code only).", 401, 404),
)
async def my_receipt(code: str, d: Deps, session: Citizen) -> Response:
    pdf = await citizen.print_own_receipt(
        session, code, store=d.citizen_store, catalogue=d.catalogue, printer=d.printer, pii=d.pii
    )
    return pdf_response(pdf, f"{code}-mau01.pdf")


@router.post(
    "/v1/citizen/dossiers",
    status_code=201,
    response_model=Receipt,
    summary="File a dossier online as the logged-in citizen (identity-verified applicant)",
    responses=error_responses(401, 403, 409, 422),
)
async def file_my_dossier(
    body: CitizenDossierIn,
    request: Request,
    response: Response,
    session: Citizen,
    idempotency_key: Annotated[
        str | None,
        Header(alias="Idempotency-Key", max_length=200, description="Retry-safe key, scoped to this citizen."),
    ] = None,
) -> dict[str, Any]:
    _same_origin(request, _portal(request))
    result = await citizen.file_dossier(
        body.model_dump(mode="json"),
        session,
        idempotency_key=idempotency_key,
        ports=get_deps(request).filing,
        now=_now(),
    )
    response.status_code = 201 if result.created else 200
    return receipt(result)


# -- page ------------------------------------------------------------------------------------------
@cache
def _templates() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("services.intake", "templates/citizen"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["vn_time"] = lambda v: v.astimezone(VIETNAM_TZ).strftime("%H:%M %d/%m/%Y") if v else ""
    env.filters["vn_date"] = lambda v: v.astimezone(VIETNAM_TZ).strftime("%d/%m/%Y") if v else ""
    return env


@router.get(
    "/citizen",
    response_class=HTMLResponse,
    summary="The citizen's page (Vietnamese): log in, then my dossiers with statuses, forms and results",
)
async def page(request: Request, token: Annotated[str | None, Depends(session_cookie)]) -> HTMLResponse:
    portal = _portal(request)
    session = await citizen.session_of(token, store=portal.store, pii=get_deps(request).pii, now=_now())
    items: list[dict[str, Any]] = []
    if session is not None:
        items = await citizen.my_dossiers(session, store=portal.store, catalogue=get_deps(request).catalogue, limit=50)
    html = (
        _templates()
        .get_template("dossiers.html.j2")
        .render(me=citizen.me(session) if session else None, items=items, login_available=portal.login is not None)
    )
    return HTMLResponse(
        html,
        headers={
            "Cache-Control": "private, no-store",
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
            "frame-ancestors 'none'",
        },
    )


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of a URL."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def register_results(runtime: Any, deps: IntakeDeps) -> None:
    """Subscribe to ``dossier.status.v1`` (group ``citizen-results``) to keep each dossier's signed result."""

    async def on_status(event: CloudEvent) -> None:
        await citizen.record_result(DossierStatusChanged.model_validate(event.data), store=deps.citizen_store)

    subscribe(
        runtime.broker,
        runtime.settings,
        topic=Topics.DOSSIER_STATUS,
        group="citizen-results",
        handler=on_status,
        registry=runtime.registry,
    )
