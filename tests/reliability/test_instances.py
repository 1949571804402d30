"""Two instances of every service on one store and one broker, under concurrent load: nothing lost, nothing doubled.

Both instances of a service share its consumer group, database, relay sweeps and schedulers. The load
files dossiers on both intake instances at once (some twice, on both instances, with one idempotency
key), then two officials accept every case at the same moment through the two resolution instances.
Reconciled afterwards from the stores (through the APIs), the topic and the citizen's SMS.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter
from pathlib import Path

import httpx
import pytest

from shared.envelope import CloudEvent
from shared.topics import Topics
from tests.e2e.conftest import api_key, official
from tests.e2e.test_journey import body
from tests.support.infra import KAFKA
from tests.support.kafka import drain
from tests.support.processes import running_system
from tests.support.waiting import eventually

pytestmark = pytest.mark.timeout(600)

DOSSIERS = 24  # of which every third is posted twice at once, once on each intake instance


async def test_two_instances_of_every_service_lose_nothing_and_double_nothing(tmp_path: Path) -> None:
    """Every dossier once, each transition once (the racing accept is refused once), one SMS per change."""
    prefix = f"m{uuid.uuid4().hex[:8]}"
    with running_system(prefix, tmp_path, instances=2) as system:
        key = await api_key(system, "00070.TTHCC")
        intakes, resolutions = system.instances["intake"], system.instances["resolution"]
        auth = {"Authorization": f"Bearer {key}"}
        async with httpx.AsyncClient(timeout=30) as http:

            async def file(n: int) -> list[httpx.Response]:
                headers = {**auth, "Idempotency-Key": f"{prefix}-{n}"}
                targets = intakes if n % 3 == 0 else [intakes[n % 2]]
                return await asyncio.gather(
                    *(http.post(f"{i.url}/v1/dossiers", json=body("LT-HT-001"), headers=headers) for i in targets)
                )

            answers = await asyncio.gather(*(file(n) for n in range(DOSSIERS)))
            tokens = {}
            for replies in answers:
                assert sorted(r.status_code for r in replies) in ([201], [200, 201]), [r.text for r in replies]
                assert len({r.json()["code"] for r in replies}) == 1, "one idempotency key, one dossier"
                created = next(r.json() for r in replies if r.status_code == 201)  # a replay shows no token
                tokens[created["code"]] = created["tracking_token"]
            assert len(tokens) == DOSSIERS

            clerk = official("00070.UBND", "clerk")

            async def case(code: str, instance: int = 0) -> httpx.Response:
                return await http.get(f"{resolutions[instance].url}/v1/dossiers/{code}", headers=clerk)

            for code in tokens:  # routed by one of the routing instances, opened by one of the resolution ones
                await eventually(lambda c=code: case(c), until=lambda r: r.status_code == 200, timeout=120)

            async def accept_twice(code: str) -> list[int]:
                replies = await asyncio.gather(
                    *(http.post(f"{r.url}/v1/dossiers/{code}/accept", headers=clerk) for r in resolutions)
                )
                return sorted(r.status_code for r in replies)

            races = await asyncio.gather(*(accept_twice(code) for code in tokens))
            assert all(statuses == [200, 409] for statuses in races), races

            for code in tokens:
                for instance in (0, 1):
                    seen = (await case(code, instance)).json()
                    assert seen["status"] == "accepted"
                    assert [h["action"] for h in seen["history"]] == ["routed", "accept"], "no transition doubled"

            async def timelines() -> dict[str, list[str]]:
                out = {}
                for code, token in tokens.items():
                    notify = system.instances["notify"][len(out) % 2]
                    r = await http.get(f"{notify.url}/v1/track/{code}", params={"token": token})
                    out[code] = sorted(e["kind"] for e in r.json()["timeline"]) if r.status_code == 200 else []
                return out

            expected = sorted(["received", "routed", "accepted"])
            final = await eventually(
                timelines, until=lambda t: all(k == expected for k in t.values()), timeout=180, every=2
            )
            assert all(kinds == expected for kinds in final.values()), final

        # the topic: one accept event per dossier (a redelivered record repeats its ce_id, never a new one)
        records = await drain(KAFKA, f"{prefix}.{Topics.DOSSIER_STATUS}")
        accepts = {
            event.id: event.subject
            for event in (CloudEvent.from_kafka(r.headers, r.value) for r in records)
            if event.data.get("action") == "accept"
        }
        assert Counter(accepts.values()) == Counter(dict.fromkeys(tokens, 1))

        sms = [json.loads(line) for line in system.sms_outbox.read_text("utf-8").splitlines()]
        per_dossier = Counter(line["dossier_code"] for line in sms if line["dossier_code"] in tokens)
        assert per_dossier == Counter(dict.fromkeys(tokens, 3)), "exactly one SMS per status change"
