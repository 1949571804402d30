"""Notify against real Kafka and FerretDB: one SMS per change, failover, receipts, SSE, webhooks, tracking."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.notify.bootstrap import bootstrap
from services.notify.settings import NotifySettings
from shared.envelope import CloudEvent
from shared.events import DossierReceived, DossierStatus, DossierStatusChanged
from shared.topics import Topics
from tests.support.http_server import Recorder, serve
from tests.support.identity import bearer
from tests.support.kafka import collect, collect_events, produce_event, publish
from tests.support.service import drop_databases, running
from tests.support.waiting import eventually
from tests.unit.notify import builders

TOKEN = "citizen-tracking-token"
ADMIN = bearer("P01.TTPVHCC", "operator")


@pytest.fixture
def settings(base_settings: dict[str, str], isolation: str, tmp_path: Path) -> NotifySettings:
    return NotifySettings(
        **base_settings,
        mongodb_database=f"{isolation}_notify",
        sms_outbox_path=str(tmp_path / "sms.jsonl"),
        worker_interval=0.1,
        webhook_backoff=[0.2, 0.2, 0.2],
        webhook_allowed_networks=["127.0.0.1/32"],  # the test's own subscriber on loopback
    )


@pytest.fixture
async def client(settings: NotifySettings) -> AsyncIterator[httpx.AsyncClient]:
    async with running(bootstrap(settings)) as c:
        yield c
    await drop_databases(settings.mongodb_url, settings.mongodb_database)


def received(**overrides: Any) -> DossierReceived:
    """A receipt received now with a phone contact; ``overrides`` replace fields."""
    now = datetime.now(UTC)
    return builders.received(
        **{
            "received_at": now,
            "due_at": now + timedelta(days=1),
            "processing_days": 0,
            "contact": {"phone": "0912345678", "locale": "vi"},
        }
        | overrides
    )


def status(r: DossierReceived, new: DossierStatus, version: int, **extra: Any) -> DossierStatusChanged:
    return DossierStatusChanged(
        dossier_id=r.dossier_id,
        dossier_code=r.dossier_code,
        office_code="00070.UBND",
        status=new,
        action=extra.pop("action", "accept"),
        version=version,
        occurred_at=datetime.now(UTC),
        **extra,
    )


async def send(settings: NotifySettings, topic: str, data: Any, event: CloudEvent | None = None) -> CloudEvent:
    return await publish(settings, topic, data, source="test", event=event)


def sms_lines(settings: NotifySettings) -> list[dict[str, Any]]:
    path = Path(settings.sms_outbox_path)
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()] if path.exists() else []


async def receive(settings: NotifySettings, **overrides: Any) -> DossierReceived:
    """A fresh receipt (``overrides`` replace fields), sent to notify."""
    r = received(**overrides)
    await send(settings, Topics.DOSSIER_RECEIVED, r)
    return r


async def lines(settings: NotifySettings, n: int) -> list[dict[str, Any]]:
    async def probe() -> list[dict[str, Any]]:
        return sms_lines(settings)

    return await eventually(probe, until=lambda ls: len(ls) >= n)


async def test_each_status_change_yields_exactly_one_sms_despite_redelivery(
    client: httpx.AsyncClient, settings: NotifySettings
) -> None:
    """The same status event delivered three times produces one SMS line; every line carries the dossier code."""
    r = await receive(settings)
    await lines(settings, 1)
    event = await send(settings, Topics.DOSSIER_STATUS, status(r, DossierStatus.ACCEPTED, 2))
    await send(settings, Topics.DOSSIER_STATUS, status(r, DossierStatus.ACCEPTED, 2), event=event)
    await send(settings, Topics.DOSSIER_STATUS, status(r, DossierStatus.ACCEPTED, 2), event=event)
    marker = await send(settings, Topics.DOSSIER_STATUS, status(r, DossierStatus.IN_PROCESS, 3, action="process"))
    # the marker follows the duplicates on the same partition: once its SMS is out, they were all handled
    got = await lines(settings, 3)
    assert [line["event_id"] for line in got][1:] == [event.id, marker.id]
    assert all(line["dossier_code"] == r.dossier_code and line["to"] == "0912345678" for line in got)
    assert "Hẹn trả kết quả" in got[0]["text"]
    deliveries = await collect_events(
        settings.kafka_bootstrap_servers, settings.topic(Topics.NOTIFICATION_DELIVERY), count=3
    )
    assert {d.data["status"] for d in deliveries} == {"sent"} and len(
        {d.data["notification_id"] for d in deliveries}
    ) == 3


async def test_tracking_needs_the_right_token_and_reveals_nothing_otherwise(
    client: httpx.AsyncClient, settings: NotifySettings
) -> None:
    """Right token → timeline; wrong token and unknown code → the same 404."""
    r = await receive(settings)
    ok = await eventually(
        lambda: client.get(f"/v1/track/{r.dossier_code}", params={"token": TOKEN}), until=lambda x: x.status_code == 200
    )
    assert ok.json()["timeline"][0]["kind"] == "received"
    wrong = await client.get(f"/v1/track/{r.dossier_code}", params={"token": "not-the-token"})
    unknown = await client.get("/v1/track/NO-SUCH-CODE", params={"token": "not-the-token"})
    assert wrong.status_code == unknown.status_code == 404 and wrong.json() == unknown.json()
    assert "0912345678" not in ok.text


async def test_failover_to_secondary_and_recovery(
    base_settings: dict[str, str], isolation: str, tmp_path: Path
) -> None:
    """A failing primary gateway fails over to the secondary, and is used again once its cool-down ends."""
    primary, secondary = Recorder(), Recorder()
    primary.failing = True
    async with serve(primary.app()) as p_url, serve(secondary.app()) as s_url:
        settings = NotifySettings(
            **base_settings,
            mongodb_database=f"{isolation}_notify",
            sms_failover_cooldown=1.0,
            sms_providers=[
                {"name": "primary", "kind": "http", "url": p_url, "priority": 1},
                {"name": "secondary", "kind": "http", "url": s_url, "priority": 2},
            ],
        )
        async with running(bootstrap(settings)):
            r = await receive(settings)
            await eventually(lambda: _value(len(secondary.accepted)), until=lambda n: n == 1)
            assert primary.requests and not primary.accepted
            primary.failing = False
            await asyncio.sleep(1.2)  # the primary's cool-down ends
            await send(settings, Topics.DOSSIER_STATUS, status(r, DossierStatus.ACCEPTED, 2))
            await eventually(lambda: _value(len(primary.accepted)), until=lambda n: n == 1)
            assert len(secondary.accepted) == 1
        await drop_databases(settings.mongodb_url, settings.mongodb_database)


async def _value(v: Any) -> Any:
    return v


async def test_receipt_callback_marks_delivery(base_settings: dict[str, str], isolation: str) -> None:
    """A gateway with receipts leaves the SMS 'sending'; the receipt callback marks it delivered and publishes it."""
    gateway = Recorder()
    async with serve(gateway.app()) as url:
        settings = NotifySettings(
            **base_settings,
            mongodb_database=f"{isolation}_notify",
            sms_providers=[{"name": "gw", "kind": "http", "url": url, "receipts": True}],
        )
        async with running(bootstrap(settings)) as c:
            await receive(settings)
            await eventually(lambda: _value(len(gateway.accepted)), until=lambda n: n == 1)
            reference = gateway.accepted[0]["body"]["reference"]
            bad = await c.post(
                "/v1/sms/receipts",
                json={"notification_id": reference, "status": "delivered"},
                headers={"X-Receipt-Secret": "nope"},
            )
            assert bad.status_code == 401
            ok = await c.post(
                "/v1/sms/receipts",
                json={"notification_id": reference, "status": "delivered"},
                headers={"X-Receipt-Secret": settings.receipt_secret.get_secret_value()},
            )
            assert ok.status_code == 200
            again = await c.post(
                "/v1/sms/receipts",
                json={"notification_id": reference, "status": "delivered"},
                headers={"X-Receipt-Secret": settings.receipt_secret.get_secret_value()},
            )
            assert again.status_code == 404
            events = await collect_events(
                settings.kafka_bootstrap_servers, settings.topic(Topics.NOTIFICATION_DELIVERY), count=2
            )
            assert [e.data["status"] for e in events] == ["sent", "delivered"]
        await drop_databases(settings.mongodb_url, settings.mongodb_database)


async def test_sse_client_receives_the_change_live(settings: NotifySettings) -> None:
    """An SSE client over real HTTP gets the snapshot, then the new change pushed live (no reconnect, no poll)."""
    async with serve(bootstrap(settings)) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
        r = await receive(settings)
        await eventually(
            lambda: http.get(f"/v1/track/{r.dossier_code}", params={"token": TOKEN}),
            until=lambda x: x.status_code == 200,
        )
        seen: list[tuple[str, dict[str, Any]]] = []

        async def read() -> None:
            async with http.stream("GET", f"/v1/track/{r.dossier_code}/stream", params={"token": TOKEN}) as stream:
                kind = None
                async for line in stream.aiter_lines():
                    if line.startswith("event:"):
                        kind = line.split(":", 1)[1].strip()
                    elif line.startswith("data:") and kind:
                        seen.append((kind, json.loads(line.split(":", 1)[1])))

        reader = asyncio.create_task(read())
        try:
            await eventually(lambda: _value([k for k, _ in seen]), until=lambda kinds: kinds == ["snapshot"])
            assert [e["kind"] for e in seen[0][1]["timeline"]] == ["received"]
            await send(settings, Topics.DOSSIER_STATUS, status(r, DossierStatus.ACCEPTED, 2))
            # pushed on the open stream; the generous bound only keeps a broken push from hanging the suite
            # (latency is a benchmark figure, not a test assertion — typically well under a second here)
            await eventually(lambda: _value(len(seen)), until=lambda n: n == 2, timeout=10.0, every=0.02)
            assert seen[1][0] == "update" and seen[1][1]["kind"] == "accepted"
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
    await drop_databases(settings.mongodb_url, settings.mongodb_database)


async def test_webhook_fails_twice_then_succeeds_once(client: httpx.AsyncClient, settings: NotifySettings) -> None:
    """A subscriber failing twice then succeeding gets the event delivered once, signed, after three attempts."""
    hook = Recorder(plan=[500, 503])
    async with serve(hook.app()) as url:
        assert (await client.post("/v1/subscriptions", json={"url": url + "/"})).status_code == 401
        bad = await client.post("/v1/subscriptions", json={"url": url, "events": ["dossier.nope"]}, headers=ADMIN)
        assert bad.status_code == 422 and "unknown event types" in bad.text and bad.json()["code"]
        mongo = await client.post("/v1/subscriptions", json={"url": "http://127.0.0.2:27017/"}, headers=ADMIN)
        assert mongo.status_code == 422 and mongo.json()["code"] == "unsafe_webhook_url", mongo.text
        sub = (
            await client.post(
                "/v1/subscriptions",
                json={"url": url + "/", "events": ["vn.lienthong.dossier.received.v1"]},
                headers=ADMIN,
            )
        ).json()
        r = await receive(settings)
        await eventually(lambda: _value(len(hook.accepted)), until=lambda n: n == 1, timeout=15)
        await asyncio.sleep(0.5)
        assert [q["status"] for q in hook.requests] == [500, 503, 200]
        assert len(hook.accepted) == 1 and hook.accepted[0]["body"]["data"]["dossier_code"] == r.dossier_code
        assert "contact" not in hook.accepted[0]["body"]["data"]
        assert hook.accepted[0]["headers"]["x-lienthong-signature"].startswith("t=")
        listing = (await client.get(f"/v1/subscriptions/{sub['id']}/deliveries", headers=ADMIN)).json()["items"]
        assert [(d["status"], d["attempts"]) for d in listing] == [("delivered", 3)]
        assert [a["outcome"] for a in listing[0]["log"]] == ["HTTP 500", "HTTP 503", "HTTP 200"]
        again = await client.post(f"/v1/subscriptions/{sub['id']}/deliveries/{listing[0]['id']}/resend", headers=ADMIN)
        assert again.status_code == 409 and again.json()["code"] == "not_failed"
        missing = await client.get("/v1/subscriptions/sub_nope/deliveries", headers=ADMIN)
        assert missing.status_code == 404 and missing.json()["code"] == "not_found"
        events = await collect_events(
            settings.kafka_bootstrap_servers, settings.topic(Topics.NOTIFICATION_DELIVERY), count=2
        )
        assert sorted((e.data["channel"], e.data["status"]) for e in events) == [
            ("sms", "sent"),
            ("webhook", "delivered"),
        ]


async def test_email_reaches_a_real_smtp_server(base_settings: dict[str, str], isolation: str, tmp_path: Path) -> None:
    """With e-mail chosen, the citizen's message is delivered to a real (aiosmtpd) SMTP server, in Vietnamese."""
    from aiosmtpd.controller import Controller

    from tests.support.processes import free_port

    received_mail: list[Any] = []

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            received_mail.append(envelope)
            return "250 OK"

    port = free_port()
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        settings = NotifySettings(
            **base_settings,
            mongodb_database=f"{isolation}_notify",
            sms_outbox_path=str(tmp_path / "sms.jsonl"),
            smtp_host="127.0.0.1",
            smtp_port=port,
        )
        async with running(bootstrap(settings)):
            r = received(
                notify={"sms": False, "email": True, "app": True},
                contact={"email": "binh@example.vn", "locale": "vi"},
            )
            await send(settings, Topics.DOSSIER_RECEIVED, r)
            await eventually(lambda: _value(len(received_mail)), until=lambda n: n == 1)
            assert received_mail[0].rcpt_tos == ["binh@example.vn"]
            import email
            from email import policy

            message = email.message_from_bytes(received_mail[0].content, policy=policy.default)
            body = message.get_body().get_content()  # type: ignore[union-attr]
            assert r.dossier_code in str(message["Subject"]) and "đã được tiếp nhận" in body
            assert not sms_lines(settings), "the citizen chose e-mail only"
        await drop_databases(settings.mongodb_url, settings.mongodb_database)
    finally:
        controller.stop()


async def test_malformed_event_goes_to_the_dlq_and_the_partition_keeps_flowing(
    client: httpx.AsyncClient, settings: NotifySettings
) -> None:
    """A status event missing required fields is dead-lettered; the next event of the dossier is still told."""
    r = await receive(settings)
    await lines(settings, 1)
    poison = CloudEvent(
        source="/lienthong/test",
        type=f"vn.lienthong.{Topics.DOSSIER_STATUS}",
        subject=r.dossier_code,
        data={"dossier_id": r.dossier_id, "dossier_code": r.dossier_code, "status": "no-such-status"},
    )
    await produce_event(
        settings.kafka_bootstrap_servers, settings.topic(Topics.DOSSIER_STATUS), poison, key=r.dossier_id
    )
    after = await send(settings, Topics.DOSSIER_STATUS, status(r, DossierStatus.ACCEPTED, 2))
    got = await lines(settings, 2)
    assert got[1]["event_id"] == after.id
    (dead,) = await collect(settings.kafka_bootstrap_servers, settings.topic(Topics.DOSSIER_STATUS) + ".dlq", count=1)
    headers = {k: v.decode() for k, v in dead.headers}
    assert headers["ce_id"] == poison.id and headers["x-dlq-error-type"] == "ValidationError"


async def test_citizen_opts_out_of_sms_with_the_tracking_token(
    client: httpx.AsyncClient, settings: NotifySettings
) -> None:
    """PUT preferences with the token swaps SMS for e-mail: the next change sends no SMS; a wrong token is a 404."""
    r = await receive(settings)
    await lines(settings, 1)
    url = f"/v1/track/{r.dossier_code}/preferences"
    assert (await client.put(url, params={"token": "wrong-token"}, json={"sms": False})).status_code == 404
    bad = await client.put(url, params={"token": TOKEN}, json={"sms": "maybe"})
    assert bad.status_code == 422
    ok = await client.put(url, params={"token": TOKEN}, json={"sms": False, "email": True})
    assert ok.status_code == 200 and ok.json() == {"sms": False, "email": True, "app": True}
    await send(settings, Topics.DOSSIER_STATUS, status(r, DossierStatus.ACCEPTED, 2))
    # the e-mail is decided after the SMS (no address, no SMTP here: suppressed); once it is published, both were
    events = await collect_events(
        settings.kafka_bootstrap_servers, settings.topic(Topics.NOTIFICATION_DELIVERY), count=2
    )
    assert [(e.data["channel"], e.data["status"]) for e in events] == [("sms", "sent"), ("email", "suppressed")]
    assert len(sms_lines(settings)) == 1
