"""Notify's HTTP routes: citizen tracking (timeline, live SSE, page, preferences), SMS receipts, webhooks."""

from __future__ import annotations

import asyncio
import hmac
import json
from collections.abc import AsyncIterator
from datetime import datetime
from importlib import resources
from typing import Annotated, Any, Literal
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field, HttpUrl, field_validator
from sse_starlette.sse import EventSourceResponse
from starlette.background import BackgroundTask

from services.notify.domain.deliveries import WebhookDelivery
from services.notify.domain.webhooks import numeric_host_form
from services.notify.entrypoints.deps import Deps, get_deps
from services.notify.handlers import Notifier
from shared.abuse import client_key
from shared.audit import AuditTrail
from shared.http import ApiError, error_responses, route
from shared.identity import OPERATOR, Principal, require_role
from shared.papers import pdf_response, pdf_responses
from shared.topics import Topics, event_type_of

router = APIRouter()
NOT_FOUND = "no dossier with this code and token"
#: Event types an app back end may subscribe to.
SUBSCRIBABLE = tuple(event_type_of(t) for t in (Topics.DOSSIER_RECEIVED, Topics.DOSSIER_ROUTED, Topics.DOSSIER_STATUS))

CODE_EXAMPLE = "00070.TTHCC-261122-0001"


# -- models ----------------------------------------------------------------------------------------
class TimelineEntry(BaseModel):
    """One change of the dossier as the citizen sees it."""

    event_id: str = Field(description="Id of the event that made the change.", examples=["0b6f1c3e-…"])
    kind: str = Field(description="What happened (template kind).", examples=["accepted"])
    status: str | None = Field(default=None, description="Dossier status after the change.", examples=["accepted"])
    office: str | None = Field(
        default=None, description="Name of the office concerned.", examples=["Ủy ban nhân dân Phường Hoàn Kiếm"]
    )
    office_code: str | None = Field(default=None, description="Code of the office concerned.", examples=["00070.UBND"])
    due_at: datetime | None = Field(default=None, description="Appointment date (hẹn trả kết quả), if known.")
    result_url: str | None = Field(
        default=None,
        description="Public verification page of the signed result (on the result_ready change).",
        examples=["http://127.0.0.1:8003/verify?id=1f0c2a9e-3b7d-4c55-9d0e-6a1b2c3d4e5f"],
    )
    reason: str | None = Field(
        default=None, description="Reason given (refusal, supplement, parking).", examples=["Thiếu giấy chứng sinh"]
    )
    at: datetime = Field(description="When the change happened.", examples=["2026-11-22T09:15:00+07:00"])
    chain_step: int | None = Field(
        default=None, description="Step (from 1) of an inter-agency chain the change belongs to.", examples=[1]
    )
    chain_steps: int | None = Field(
        default=None, description="Steps of that chain; the result is returned once, after the last.", examples=[3]
    )


class Preferences(BaseModel):
    """Channels the citizen is told on."""

    sms: bool = Field(description="SMS to the phone given at filing.", examples=[True])
    email: bool = Field(description="E-mail to the address given at filing.", examples=[False])
    app: bool = Field(description="Updates to app back ends (webhooks).", examples=[True])


class PreferencesIn(BaseModel):
    """A change of channels; omitted ones stay as they are (false = opt out)."""

    model_config = ConfigDict(extra="forbid")
    sms: bool | None = Field(default=None, description="Receive SMS.", examples=[False])
    email: bool | None = Field(default=None, description="Receive e-mail.", examples=[True])
    app: bool | None = Field(default=None, description="Updates to app back ends.", examples=[True])


class Tracking(BaseModel):
    """The dossier's timeline, oldest change first."""

    code: str = Field(description="Dossier code.", examples=[CODE_EXAMPLE])
    timeline: list[TimelineEntry] = Field(description="Changes, oldest first.")
    preferences: Preferences | None = Field(default=None, description="Channels chosen (once the receipt is known).")
    procedure: str | None = Field(default=None, description="Procedure name.", examples=["Đăng ký khai sinh"])
    office: str | None = Field(
        default=None, description="Office now concerned (name).", examples=["Ủy ban nhân dân Phường Hoàn Kiếm"]
    )
    status: str | None = Field(default=None, description="Current status.", examples=["in_process"])
    due_at: datetime | None = Field(default=None, description="Current appointment date (the latest one given).")
    result_url: str | None = Field(default=None, description="Verification page of the signed result, once signed.")
    rating_url: str = Field(
        description="Where the citizen's rating is posted (`?token=`), accepted once the result is returned.",
        examples=["http://127.0.0.1:8003/v1/dossiers/00070.TTHCC-261122-0001/rating"],
    )


class ReceiptIn(BaseModel):
    """A delivery receipt from an SMS provider."""

    model_config = ConfigDict(extra="forbid")
    notification_id: str = Field(
        min_length=1,
        max_length=200,
        description="The `reference` we sent the gateway with the SMS (random, different for every SMS).",
        examples=["q3Jx0b6f1c3e2a8e4f5c9d0e5a1d2b3c"],
    )
    status: Literal["delivered", "failed"] = Field(description="Outcome on the handset.", examples=["delivered"])
    detail: str | None = Field(
        default=None, max_length=300, description="Provider's own status text.", examples=["DELIVRD"]
    )


class ReceiptOut(BaseModel):
    """The receipt was applied."""

    notification_id: str = Field(description="The reference of the SMS updated.", examples=["q3Jx0b6f1c3e…"])
    status: str = Field(description="Its new status.", examples=["delivered"])


class SubscriptionIn(BaseModel):
    """An app back end that wants signed webhook deliveries."""

    model_config = ConfigDict(extra="forbid")
    url: HttpUrl = Field(
        description="Endpoint that receives POSTed events.", examples=["https://app.example.vn/hooks/lienthong"]
    )
    events: list[str] = Field(
        default_factory=list,
        max_length=10,
        description=f"Event types (empty = all): {', '.join(SUBSCRIBABLE)}.",
        examples=[["vn.lienthong.dossier.status.v1"]],
    )
    secret: str | None = Field(
        default=None,
        min_length=16,
        max_length=200,
        description="HMAC-SHA256 secret; generated and returned when omitted.",
        examples=["a-long-random-shared-secret"],
    )

    @field_validator("url", mode="before")
    @classmethod
    def _no_numeric_host(cls, value: Any) -> Any:
        # checked on the raw text: URL parsing turns 0x7f000001 into 127.0.0.1
        host = urlsplit(value).hostname if isinstance(value, str) else None
        if host and numeric_host_form(host):
            raise ValueError("numeric, hexadecimal or octal host forms are not accepted")
        return value

    @field_validator("events")
    @classmethod
    def _known_events(cls, value: list[str]) -> list[str]:
        unknown = [e for e in value if e not in SUBSCRIBABLE]
        if unknown:
            raise ValueError(f"unknown event types {unknown}; choose from {list(SUBSCRIBABLE)}")
        return value


class SubscriptionOut(BaseModel):
    """A registered subscription (the secret is shown so the back end can verify signatures)."""

    id: str = Field(description="Subscription id.", examples=["sub_3f9a1c0d2b4e6f78"])
    url: str = Field(description="Endpoint.", examples=["https://app.example.vn/hooks/lienthong"])
    events: list[str] = Field(description="Event types (empty = all).", examples=[["vn.lienthong.dossier.status.v1"]])
    secret: str = Field(description="HMAC-SHA256 secret of the signatures.", examples=["a-long-random-shared-secret"])
    active: bool = Field(description="Deliveries are made.", examples=[True])


class Attempt(BaseModel):
    """One try of a delivery."""

    at: datetime = Field(description="When it was made.", examples=["2026-11-22T09:15:01Z"])
    attempt: int = Field(description="Attempt number.", examples=[1])
    outcome: str = Field(description="HTTP status or transport error.", examples=["HTTP 503"])


class DeliveryOut(BaseModel):
    """One event delivered (or being delivered) to one subscription."""

    id: str = Field(description="Delivery id (event id : subscription id).", examples=["0b6f…:sub_3f9a…"])
    event_id: str = Field(description="Event delivered (also in X-LienThong-Event-Id).", examples=["0b6f1c3e-…"])
    status: Literal["pending", "delivered", "failed", "cancelled"] = Field(
        description="pending (retrying), delivered, failed (backoff table spent), cancelled.", examples=["delivered"]
    )
    attempts: int = Field(description="Attempts in the current run.", examples=[3])
    next_attempt_at: datetime | None = Field(default=None, description="Next try while pending.")
    log: list[Attempt] = Field(description="Every attempt.")


class DeliveryList(BaseModel):
    """Deliveries of one subscription, oldest first."""

    items: list[DeliveryOut] = Field(description="Deliveries.")


def _delivery(d: WebhookDelivery) -> DeliveryOut:
    return DeliveryOut(
        id=d.id,
        event_id=d.event_id,
        status=d.status,
        attempts=d.attempts,
        next_attempt_at=d.next_attempt_at if d.status == "pending" else None,
        log=[Attempt(at=a.at, attempt=a.attempt, outcome=a.outcome) for a in d.log],
    )


# -- dependencies ----------------------------------------------------------------------------------
def _notifier(deps: Deps) -> Notifier:
    return deps.notifier


NotifierDep = Annotated[Notifier, Depends(_notifier)]


def _audit(deps: Deps) -> AuditTrail:
    return deps.audit


AuditDep = Annotated[AuditTrail, Depends(_audit)]
Code = Annotated[str, Path(min_length=1, max_length=80, description="Dossier code", examples=[CODE_EXAMPLE])]
Token = Annotated[
    str, Query(min_length=8, max_length=200, description="Tracking token printed on the receipt (giấy tiếp nhận)")
]


#: operators: a JWT with the operator role (the same identity scheme as officials)
Operator = Annotated[Principal, require_role(OPERATOR, service="notify")]


async def _tracked(notifier: Notifier, code: str, token: str, request: Request) -> dict[str, Any]:
    abuse = get_deps(request).abuse
    await abuse.admit(request, "track", target=code)
    dossier = await notifier.tracked(code, token)
    if dossier is None:
        await abuse.failed(request, "track", target=code)
        raise ApiError(404, "not_found", NOT_FOUND)  # the same answer for a wrong token and an unknown code
    return dossier


def _timeline(dossier: dict[str, Any]) -> list[dict[str, Any]]:
    return sorted(dossier.get("timeline", []), key=lambda e: e["at"])


# -- citizens --------------------------------------------------------------------------------------
@route(router.get, "/v1/track/{code}", Tracking, "citizens", "The dossier's timeline", 404, 422, 429)
async def track(code: Code, token: Token, notifier: NotifierDep, request: Request) -> Tracking:
    """Every change of the dossier, for the holder of its tracking token."""
    dossier = await _tracked(notifier, code, token, request)
    prefs = dossier.get("preferences")
    timeline = _timeline(dossier)
    return Tracking(
        code=dossier["code"],
        timeline=[TimelineEntry(**e) for e in timeline],
        preferences=Preferences(**prefs) if prefs else None,
        **summary(dossier, timeline, notifier.settings.rating_base_url),
    )


def summary(dossier: dict[str, Any], timeline: list[dict[str, Any]], rating_base_url: str) -> dict[str, Any]:
    """The dossier at a glance: procedure, current office and status, latest due date, result link."""
    latest = timeline[-1] if timeline else {}
    return {
        "procedure": dossier.get("procedure"),
        "office": next((e["office"] for e in reversed(timeline) if e.get("office")), None),
        "status": next((e["status"] for e in reversed(timeline) if e.get("status")), latest.get("status")),
        "due_at": next((e["due_at"] for e in reversed(timeline) if e.get("due_at")), None),
        "result_url": dossier.get("result_url"),
        "rating_url": f"{rating_base_url.rstrip('/')}/v1/dossiers/{quote(dossier['code'])}/rating",
    }


@router.get(
    "/v1/track/{code}/log.pdf",
    tags=["citizens"],
    summary="The dossier's tracking log (Mẫu 06, Circular 01/2018/TT-VPCP) as PDF",
    response_class=Response,
    responses=pdf_responses("The form with the dossier code and a QR code.", 404, 422, 429),
)
async def tracking_log(code: Code, token: Token, notifier: NotifierDep, request: Request) -> Response:
    """Every change of the dossier as the log form prints it, for the holder of its tracking token."""
    dossier = await _tracked(notifier, code, token, request)
    printer = get_deps(request).papers
    pdf = await printer.tracking_log_pdf(
        dossier, _timeline(dossier), tracking_page_url=notifier.settings.tracking_page_url
    )
    return pdf_response(pdf, f"{code}-mau06.pdf")


@router.get(
    "/v1/track/{code}/stream",
    tags=["citizens"],
    summary="Live updates (Server-Sent Events)",
    responses={
        200: {"description": "`snapshot` event with the timeline, then one `update` event per change."},
        **error_responses(404, 422, 429),
    },
)
async def track_stream(code: Code, token: Token, request: Request, notifier: NotifierDep) -> EventSourceResponse:
    """A `snapshot` event, then an `update` event for each change as it happens."""
    dossier = await _tracked(notifier, code, token, request)
    deps = get_deps(request)
    streams, live = deps.streams, deps.live
    slot = streams.take(dossier["_id"], client_key(request))
    queue = live.listen(dossier["_id"])
    poll = notifier.settings.stream_poll_interval

    async def events() -> AsyncIterator[dict[str, str]]:
        timeline = _timeline(dossier)
        seen = {e["event_id"] for e in timeline}
        try:
            yield {"event": "snapshot", "data": _json({"code": dossier["code"], "timeline": timeline})}
            while True:
                try:
                    async with asyncio.timeout(poll):  # not wait_for: it can lose a cancellation (shared/aio.py)
                        fresh = [await queue.get()]
                except TimeoutError:
                    # another notify instance may have recorded the change: catch up from the store
                    current = await notifier.view(dossier["_id"])
                    fresh = _timeline(current or {})
                for entry in fresh:
                    if entry["event_id"] not in seen:
                        seen.add(entry["event_id"])
                        yield {"event": "update", "id": entry["event_id"], "data": _json(entry)}
        finally:
            live.stop(dossier["_id"], queue)
            streams.release(slot)

    return EventSourceResponse(events(), ping=15, background=BackgroundTask(streams.release, slot))


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


@route(router.put, "/v1/track/{code}/preferences", Preferences, "citizens", "Choose channels or opt out", 404, 422, 429)
async def preferences(
    code: Code, token: Token, body: PreferencesIn, notifier: NotifierDep, request: Request
) -> Preferences:
    """Change the channels the citizen is told on; pending messages of a dropped channel are not sent."""
    dossier = await _tracked(notifier, code, token, request)
    changes = body.model_dump(exclude_none=True)
    return Preferences(**await notifier.set_preferences(dossier["_id"], changes))


@router.get("/track", response_class=HTMLResponse, tags=["citizens"], summary="Citizen tracking page")
async def tracking_page() -> HTMLResponse:
    """A small page (Vietnamese): enter code and token, see the timeline update live."""
    return HTMLResponse((resources.files("services.notify") / "static" / "track.html").read_text("utf-8"))


# -- SMS providers ---------------------------------------------------------------------------------
@route(router.post, "/v1/sms/receipts", ReceiptOut, "providers", "SMS delivery receipt", 401, 404, 422, 429)
async def receipt(
    body: ReceiptIn,
    notifier: NotifierDep,
    request: Request,
    x_receipt_secret: Annotated[str, Header(description="Shared secret (NOTIFY_RECEIPT_SECRET)")] = "",
) -> ReceiptOut:
    """Matched by our notification id; marks a sent SMS delivered or failed."""
    abuse = get_deps(request).abuse
    await abuse.admit(request, "receipts")
    expected = notifier.settings.receipt_secret.get_secret_value().encode()
    if not hmac.compare_digest(x_receipt_secret.encode(), expected):
        await abuse.failed(request, "receipts")
        raise ApiError(401, "unauthorized", "missing or wrong X-Receipt-Secret header")
    if not await notifier.on_receipt(body.notification_id, delivered=body.status == "delivered", detail=body.detail):
        await abuse.failed(request, "receipts")
        raise ApiError(404, "not_found", "no notification awaiting a receipt with that id")
    return ReceiptOut(notification_id=body.notification_id, status=body.status)


# -- webhooks (operators) --------------------------------------------------------------------------
@route(
    router.post,
    "/v1/subscriptions",
    SubscriptionOut,
    "webhooks",
    "Register an app back end",
    401,
    403,
    422,
    status_code=201,
)
async def subscribe(
    body: SubscriptionIn, notifier: NotifierDep, operator: Operator, audit: AuditDep
) -> SubscriptionOut:
    """Deliveries: POST, `X-LienThong-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`."""
    try:
        doc = await notifier.subscribe(url=str(body.url), events=body.events, secret=body.secret)
    except ValueError as exc:
        await audit.record(operator, "subscription.create", str(body.url), outcome="unsafe_webhook_url")
        raise ApiError(422, "unsafe_webhook_url", f"url: {exc}") from None
    await audit.record(operator, "subscription.create", doc["_id"], details={"events": body.events})
    return SubscriptionOut(id=doc["_id"], url=doc["url"], events=doc["events"], secret=doc["secret"], active=True)


async def _subscription(notifier: Notifier, sub_id: str) -> dict[str, Any]:
    sub = await notifier.subscription(sub_id)
    if sub is None:
        raise ApiError(404, "not_found", f"no subscription {sub_id!r}")
    return sub


@router.delete(
    "/v1/subscriptions/{sub_id}",
    status_code=204,
    tags=["webhooks"],
    summary="Stop deliveries to a subscription",
    responses=error_responses(401, 403, 404),
)
async def unsubscribe(sub_id: str, notifier: NotifierDep, operator: Operator, audit: AuditDep) -> Response:
    """Deactivate; pending deliveries are cancelled at their next attempt."""
    await _subscription(notifier, sub_id)
    await notifier.unsubscribe(sub_id)
    await audit.record(operator, "subscription.delete", sub_id)
    return Response(status_code=204)


@route(
    router.get,
    "/v1/subscriptions/{sub_id}/deliveries",
    DeliveryList,
    "webhooks",
    "Deliveries of a subscription",
    401,
    403,
    404,
    422,
)
async def deliveries(
    sub_id: str,
    notifier: NotifierDep,
    operator: Operator,
    audit: AuditDep,
    status: Annotated[
        Literal["pending", "delivered", "failed", "cancelled"] | None,
        Query(description="Only this status (failed = permanently failed, re-sendable)"),
    ] = None,
) -> DeliveryList:
    """Deliveries with every attempt; `status=failed` lists those an operator may re-send."""
    await _subscription(notifier, sub_id)
    await audit.record(operator, "deliveries.read", sub_id, details={"status": status})
    return DeliveryList(items=[_delivery(d) for d in await notifier.deliveries_of(sub_id, status)])


@route(
    router.post,
    "/v1/subscriptions/{sub_id}/deliveries/{delivery_id}/resend",
    DeliveryOut,
    "webhooks",
    "Re-send a permanently failed delivery",
    401,
    403,
    404,
    409,
)
async def resend(
    sub_id: str, delivery_id: str, notifier: NotifierDep, operator: Operator, audit: AuditDep
) -> DeliveryOut:
    """Queue it again for a fresh run through the backoff table."""
    await _subscription(notifier, sub_id)
    found = await notifier.delivery(delivery_id)
    if found is None or found.subscription_id != sub_id:
        raise ApiError(404, "not_found", f"no delivery {delivery_id!r} for subscription {sub_id!r}")
    updated = await notifier.resend(sub_id, delivery_id)
    await audit.record(operator, "delivery.resend", delivery_id, outcome="ok" if updated is not None else "not_failed")
    if updated is None:
        raise ApiError(409, "not_failed", f"delivery {delivery_id!r} is {found.status}; only failed ones are re-sent")
    return _delivery(updated)
