"""Notify's HTTP routes: citizen tracking (timeline, live SSE, page), SMS receipts, webhook subscriptions."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from importlib import resources
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, HttpUrl
from sse_starlette.sse import EventSourceResponse

from services.notify.handlers import Notifier
from shared.http import ApiError, error_responses

router = APIRouter()
bearer = HTTPBearer(auto_error=False, description="Operator token (NOTIFY_ADMIN_TOKEN)")
NOT_FOUND = "no dossier with this code and token"


class SubscriptionIn(BaseModel):
    """An app back end that wants signed webhook deliveries."""

    model_config = ConfigDict(extra="forbid")
    url: HttpUrl = Field(
        description="HTTPS endpoint that receives POSTed events.", examples=["https://app.example.vn/hooks/lienthong"]
    )
    events: list[str] = Field(
        default_factory=list,
        max_length=10,
        description="Event types (empty = all).",
        examples=[["vn.lienthong.dossier.status.v1"]],
    )
    secret: str | None = Field(
        default=None, min_length=16, max_length=200, description="HMAC secret; generated when omitted."
    )


class ReceiptIn(BaseModel):
    """A delivery receipt from an SMS provider."""

    model_config = ConfigDict(extra="forbid")
    notification_id: str = Field(max_length=200, description="Our notification id (sent as `reference`).")
    status: str = Field(pattern="^(delivered|failed)$", description="delivered or failed.", examples=["delivered"])


def _notifier(request: Request) -> Notifier:
    return request.app.state.notifier


def operator(request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> None:
    """Require the operators' bearer token."""
    token = request.app.state.notifier.settings.admin_token
    given = credentials.credentials if credentials else ""
    if token is None or not hmac.compare_digest(given.encode(), token.get_secret_value().encode()):
        raise ApiError(401, "unauthorized", "operator token required (Authorization: Bearer <NOTIFY_ADMIN_TOKEN>)")


async def _tracked(request: Request, code: str, token: str) -> dict[str, Any]:
    """The dossier view when code and token match; the same 404 otherwise (existence is not revealed)."""
    dossier = await _notifier(request).store.dossier_by_code(code)
    expected = (dossier or {}).get("token_sha256") or "0" * 64
    given = hashlib.sha256(token.encode()).hexdigest()
    if not hmac.compare_digest(given, expected) or dossier is None:
        raise ApiError(404, "not_found", NOT_FOUND)
    return dossier


Token = Annotated[str, Query(min_length=8, max_length=200, description="Tracking token printed on the receipt")]


@router.get("/v1/track/{code}", tags=["citizens"], summary="The dossier's timeline", responses=error_responses(404))
async def track(code: str, token: Token, request: Request) -> dict[str, Any]:
    dossier = await _tracked(request, code, token)
    return {"code": dossier["code"], "timeline": dossier["timeline"]}


@router.get(
    "/v1/track/{code}/stream",
    tags=["citizens"],
    summary="Live updates (Server-Sent Events)",
    responses=error_responses(404),
)
async def track_stream(code: str, token: Token, request: Request) -> EventSourceResponse:
    dossier = await _tracked(request, code, token)
    notifier = _notifier(request)
    queue = notifier.hub.subscribe(dossier["_id"])

    async def events() -> AsyncIterator[dict[str, str]]:
        seen = {e["event_id"] for e in dossier["timeline"]}
        try:
            yield {
                "event": "snapshot",
                "data": json.dumps({"code": code, "timeline": dossier["timeline"]}, ensure_ascii=False),
            }
            while True:
                try:
                    entry = await asyncio.wait_for(queue.get(), timeout=2.0)
                    fresh = [entry]
                except TimeoutError:
                    # another notify instance may have recorded the change: catch up from the store
                    current = await notifier.store.dossier(dossier["_id"])
                    fresh = [e for e in (current or {}).get("timeline", []) if e["event_id"] not in seen]
                for item in fresh:
                    if item["event_id"] not in seen:
                        seen.add(item["event_id"])
                        yield {"event": "update", "id": item["event_id"], "data": json.dumps(item, ensure_ascii=False)}
        finally:
            notifier.hub.unsubscribe(dossier["_id"], queue)

    return EventSourceResponse(events(), ping=15)


@router.get("/track", response_class=HTMLResponse, tags=["citizens"], summary="Citizen tracking page")
async def tracking_page() -> HTMLResponse:
    return HTMLResponse((resources.files("services.notify") / "static" / "track.html").read_text("utf-8"))


@router.post(
    "/v1/sms/receipts", tags=["providers"], summary="SMS delivery receipt", responses=error_responses(401, 404)
)
async def receipt(body: ReceiptIn, request: Request, x_receipt_secret: Annotated[str, Header()] = "") -> dict[str, Any]:
    notifier = _notifier(request)
    if not hmac.compare_digest(x_receipt_secret.encode(), notifier.settings.receipt_secret.get_secret_value().encode()):
        raise ApiError(401, "unauthorized", "bad X-Receipt-Secret")
    if not await notifier.on_receipt(body.notification_id, body.status == "delivered"):
        raise ApiError(404, "not_found", "no notification awaiting a receipt with that id")
    return {"notification_id": body.notification_id, "status": body.status}


@router.post(
    "/v1/subscriptions",
    status_code=201,
    tags=["webhooks"],
    dependencies=[Depends(operator)],
    responses=error_responses(401, 422),
)
async def subscribe(body: SubscriptionIn, request: Request) -> dict[str, Any]:
    doc = await _notifier(request).subscribe(url=str(body.url), events=body.events, secret=body.secret)
    return {"id": doc["_id"], "url": doc["url"], "events": doc["events"], "secret": doc["secret"]}


@router.get(
    "/v1/subscriptions/{sub_id}/deliveries",
    tags=["webhooks"],
    dependencies=[Depends(operator)],
    responses=error_responses(401),
)
async def deliveries(sub_id: str, request: Request, status: Annotated[str | None, Query()] = None) -> dict[str, Any]:
    query: dict[str, Any] = {"subscription_id": sub_id}
    if status:
        query["status"] = status
    items = await _notifier(request).store.deliveries.find(query).to_list(500)
    return {
        "items": [{"id": d["_id"], "status": d["status"], "attempts": d["attempts"], "log": d["log"]} for d in items]
    }


@router.post(
    "/v1/subscriptions/{sub_id}/deliveries/{delivery_id}/resend",
    tags=["webhooks"],
    dependencies=[Depends(operator)],
    responses=error_responses(401, 404),
)
async def resend(sub_id: str, delivery_id: str, request: Request) -> dict[str, Any]:
    if not await _notifier(request).resend(delivery_id):
        raise ApiError(404, "not_found", "no permanently failed delivery with that id")
    return {"id": delivery_id, "status": "pending"}
