"""Intake's repositories on the real store: every field round-trips, the named queries return what they name,
unique keys hold, and concurrent changes lose nothing."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.intake import handlers
from services.intake.adapters.repositories import (
    DossierRepository,
    MongoApiKeys,
    MongoIdempotencyClaims,
    TicketRepository,
)
from services.intake.domain.api_keys import new_api_key
from services.intake.domain.dossier import (
    Address,
    Document,
    Dossier,
    FileRecord,
    HistoryEntry,
    LastStatus,
    Notify,
    Route,
    StoredApplicant,
    Supplement,
    sha256_hex,
)
from services.intake.domain.ticket import Ticket
from services.intake.settings import IntakeSettings
from shared.store import make_mongo_client, service_database
from tests.support.service import drop_databases

# the store keeps milliseconds: times with whole milliseconds round-trip exactly
T0 = datetime(2026, 11, 23, 2, 15, 0, 123000, tzinfo=UTC)


@dataclass
class Repos:
    """Two clients' repositories on one database (as two intake instances have)."""

    dossiers: list[DossierRepository]
    tickets: list[TicketRepository]
    keys: MongoApiKeys
    claims: MongoIdempotencyClaims


@pytest.fixture
async def repos(base_settings: dict[str, str], isolation: str) -> AsyncIterator[Repos]:
    """Repositories on a database of this test, through two clients."""
    settings = IntakeSettings(**base_settings, mongodb_database=f"{isolation}_intake_repo")  # type: ignore[arg-type]
    clients = [make_mongo_client(settings) for _ in range(2)]
    dbs = [service_database(c, settings) for c in clients]
    found = Repos(
        [DossierRepository(db) for db in dbs],
        [TicketRepository(db) for db in dbs],
        MongoApiKeys(dbs[0]),
        MongoIdempotencyClaims(dbs[0]),
    )
    await found.dossiers[0].ensure_indexes()
    await found.tickets[0].ensure_indexes()
    await found.keys.ensure_indexes()
    yield found
    for c in clients:
        c.close()
    await drop_databases(settings.mongodb_url, settings.mongodb_database)


def full_dossier(n: int = 1, *, office: str = "00070.TTHCC", citizen: str = "h1", at: datetime = T0) -> Dossier:
    """A dossier with every field set (nested value objects included)."""
    doc = Document("to_khai", "Tờ khai", "application/pdf", 10, "a" * 64)
    return Dossier(
        id=f"d{n}",
        code=f"{office}-261123-{n:04d}",
        office_code=office,
        province_code="01",
        procedure_code="LT-KD-001",
        channel="counter",
        applicant=StoredApplicant("Nguyễn Văn An", Address("00070", "12 Hàng Bạc"), "ce", citizen, "pe", "ph", "ee"),
        subject_ward_code="00073",
        documents=[doc],
        notify=Notify(sms=True, email=True, app=False),
        received_at=at,
        due_at=at + timedelta(days=3),
        appointment_at=at + timedelta(days=2),
        tracking_token_sha256="t" * 64,
        idempotency_key=f"{office}:k{n}",
        body_sha256="b" * 64,
        queue_ticket=7,
        status="in_process",
        awaiting_supplement=True,
        current_office_code="00070.UBND",
        history=[HistoryEntry("received", at, office), HistoryEntry("routed", at, "00070.UBND", "route", None)],
        supplements=[Supplement("s1", [doc], "bổ sung", at)],
        files=[FileRecord("to_khai", f"d{n}/to_khai/a", "a" * 64, 10, "application/pdf", at)],
        route=Route("dec-1", "00070.UBND", "UBND phường Hoàn Kiếm", at, 1),
        last_status=LastStatus("00070.UBND", 3, at),
    )


async def test_a_dossier_round_trips_every_field(repos: Repos) -> None:
    """What is added is what is read back, and a change commits every field it touched."""
    dossiers = repos.dossiers[0]
    original = full_dossier()
    assert await dossiers.add(copy.deepcopy(original))
    assert await dossiers.get("d1") == original
    bare = full_dossier(2)
    bare.applicant = StoredApplicant("B", Address("00070"), "ce", "h2", "pe", "ph")
    bare.route, bare.last_status, bare.subject_ward_code, bare.queue_ticket = None, None, None, None
    assert await dossiers.add(copy.deepcopy(bare))
    assert await dossiers.get("d2") == bare

    def move(d: Dossier) -> None:
        d.status, d.awaiting_supplement, d.due_at = "accepted", False, T0 + timedelta(days=9)
        d.history.append(HistoryEntry("accepted", T0, "00070.UBND", "accept", "ok"))

    outcome = await dossiers.change("d1", move, consumed="evt-1")
    assert outcome.applied
    move(original)
    assert await dossiers.get("d1") == original


async def test_named_queries(repos: Repos) -> None:
    """By code, by idempotency key, and a citizen's dossiers of one office newest first, limited."""
    dossiers = repos.dossiers[0]
    for n in range(1, 5):
        await dossiers.add(full_dossier(n, at=T0 + timedelta(minutes=n)))
    await dossiers.add(full_dossier(5, office="00073.TTHCC"))
    await dossiers.add(full_dossier(6, citizen="other"))
    assert (await dossiers.by_code("00070.TTHCC-261123-0003")).id == "d3"  # type: ignore[union-attr]
    assert await dossiers.by_code("nope") is None
    assert (await dossiers.by_idempotency_key("00070.TTHCC:k2")).id == "d2"  # type: ignore[union-attr]
    assert await dossiers.by_idempotency_key("00073.TTHCC:k2") is None
    newest = await dossiers.of_citizen("h1", "00070.TTHCC", 3)
    assert [d.id for d in newest] == ["d4", "d3", "d2"]
    assert [d.id for d in await dossiers.of_citizen("h1", "00073.TTHCC", 10)] == ["d5"]


async def test_codes_and_idempotency_keys_are_unique(repos: Repos) -> None:
    """A second dossier with a taken code or idempotency key is not added."""
    dossiers = repos.dossiers[0]
    assert await dossiers.add(full_dossier(1))
    same_code = full_dossier(2)
    same_code.code = full_dossier(1).code
    same_key = full_dossier(3)
    same_key.idempotency_key = full_dossier(1).idempotency_key
    assert not await dossiers.add(same_code) and not await dossiers.add(same_key)
    assert await dossiers.by_code(full_dossier(2).code) is None


async def test_concurrent_changes_through_two_clients_lose_nothing(repos: Repos) -> None:
    """Forty files attached at once through two clients: all forty are recorded."""
    await repos.dossiers[0].add(full_dossier())

    async def attach(i: int) -> bool:
        record = FileRecord(f"doc{i}", f"d1/doc{i}/x", "x" * 64, i, "application/pdf", T0)
        return (await repos.dossiers[i % 2].change("d1", lambda d: d.attach_file(record))).applied

    assert all(await asyncio.gather(*(attach(i) for i in range(40))))
    stored = await repos.dossiers[0].get("d1")
    assert stored is not None and {f.document_code for f in stored.files} >= {f"doc{i}" for i in range(40)}


async def test_ticket_queries_and_racing_calls(repos: Repos) -> None:
    """A day's queue by status and service in number order; counters racing through two clients get distinct
    tickets, each once."""
    day = "2026-11-23"
    tickets = repos.tickets[0]
    for n in range(1, 7):
        await tickets.add(Ticket("C1", day, n, "ho-tich" if n % 2 else "dat-dai", T0))
    await tickets.add(Ticket("C2", day, 1, "ho-tich", T0))
    assert [t.number for t in await tickets.waiting("C1", day, None, 10)] == [1, 2, 3, 4, 5, 6]
    assert [t.number for t in await tickets.waiting("C1", day, "dat-dai", 2)] == [2, 4]
    assert await tickets.get(f"C1:{day}:3") == Ticket("C1", day, 3, "ho-tich", T0)
    now = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)

    async def call(i: int) -> int | None:
        try:
            return (await handlers.call_next_ticket("C1", str(i), tickets=repos.tickets[i % 2], now=now)).number
        except Exception:  # queue_empty for the counters that came last
            return None

    numbers = await asyncio.gather(*(call(i) for i in range(8)))
    assert sorted(n for n in numbers if n is not None) == [1, 2, 3, 4, 5, 6]
    called = await tickets.of_day("C1", day, service=None, statuses=["called"], limit=10)
    assert len(called) == 6 and len({t.counter for t in called}) == 6
    assert await tickets.of_day("C2", day, service=None, statuses=["waiting"], limit=10) != []


async def test_api_keys_and_idempotency_claims(repos: Repos) -> None:
    """Keys by hash and revocation by id; a claim is held once, a stale one without a dossier is taken over."""
    key, secret = new_api_key("00070.TTHCC", T0)
    assert key.secret_sha256 == sha256_hex(secret)
    await repos.keys.add(key)
    assert await repos.keys.active_by_hash(key.secret_sha256) == key
    assert not await repos.keys.is_revoked(key.id)
    assert await repos.keys.revoke(key.id, T0) and not await repos.keys.revoke(key.id, T0)
    assert await repos.keys.is_revoked(key.id) and await repos.keys.is_revoked("no-such-key")
    assert await repos.keys.active_by_hash(key.secret_sha256) is None
    claims = repos.claims
    assert await claims.claim("k", body_sha256="b1", at=T0, stale_before=T0 - timedelta(seconds=60)) is None
    holder: Any = await claims.claim("k", body_sha256="b2", at=T0, stale_before=T0 - timedelta(seconds=60))
    assert holder.body_sha256 == "b1"
    later = T0 + timedelta(minutes=5)
    assert await claims.claim("k", body_sha256="b3", at=later, stale_before=later - timedelta(seconds=60)) is None
