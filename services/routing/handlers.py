"""Routing use cases: decide on receipt, follow status events (load, transfers, chains), retry parked dossiers."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from services.routing.adapters.store import RoutingStore
from services.routing.domain.registry import Office, Registry
from services.routing.domain.rules import Decision, Facts, decide
from shared.broker import EventPublisher
from shared.envelope import CloudEvent
from shared.errors import PermanentError
from shared.events import DossierReceived, DossierRouted, DossierStatus, DossierStatusChanged, RouteOutcome
from shared.logging import get_logger
from shared.outbox import PENDING_FIELD, OutboxRelay, new_document_outbox, outbox_entry, with_outbox
from shared.reference.procedures import Catalogue, Procedure
from shared.topics import Topics

log = get_logger(__name__)

LEAVES_OFFICE = {DossierStatus.REFUSED, DossierStatus.RETURNED, DossierStatus.WITHDRAWN}
#: Rule id of a transfer to the office the transferring official named (open, and not the office it leaves).
NAMED_BY_OFFICIAL = "T10-transfer-to-named-office"


class Router:
    """Routing state of one process: registry, operator statuses and office load, over the store."""

    def __init__(
        self,
        *,
        store: RoutingStore,
        publisher: EventPublisher,
        catalogue: Catalogue,
        registry: Registry,
        relay: OutboxRelay | None = None,
    ) -> None:
        self.store = store
        self.publisher = publisher
        self.catalogue = catalogue
        self.registry = registry
        self.relay = relay
        self.statuses: dict[str, str] = {}
        self.load: Counter[str] = Counter()
        self.parked_seen = True  # until the first scan finds none, assume some may be parked
        self._status_changes = 0

    async def start(self) -> None:
        """Load operator statuses and office load; re-send first decisions a crash left unpublished."""
        self.statuses = await self.store.statuses()
        self.load = Counter(await self.store.open_counts())
        for dossier_id in await self.store.unpublished_first_decisions():
            self._kick(dossier_id)

    def available(self, office: Office) -> bool:
        """Open offices may receive dossiers; closed and over-capacity ones may not."""
        return self.statuses.get(office.code, "open") == "open"

    def _procedure(self, code: str) -> Procedure:
        procedure = self.catalogue.get(code)
        if procedure is None:
            raise PermanentError(f"unknown procedure {code!r}")
        return procedure

    def _decide(self, procedure: Procedure, received: DossierReceived, exclude: set[str]) -> Decision:
        facts = Facts(
            province_code=received.province_code,
            receiving_ward_code=received.receiving_ward_code,
            applicant_ward_code=received.applicant_ward_code,
            subject_ward_code=received.subject_ward_code,
        )
        return decide(
            procedure,
            facts,
            registry=self.registry,
            available=self.available,
            load=lambda o: self.load[o.code],
            exclude=exclude,
        )

    def _routed_event(
        self,
        received: DossierReceived,
        procedure: Procedure,
        decision: Decision,
        *,
        chain: list[str],
        step: int,
        tried: list[str],
        previous: str | None,
        now: datetime,
        transfer_reason: str | None = None,
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """The decision record and the outbox entry of its ``dossier.routed.v1`` event."""
        decision_id = str(uuid.uuid4())
        due_at = received.due_at if step == 0 else procedure.due_at(now)
        data = DossierRouted(
            dossier_id=received.dossier_id,
            dossier_code=received.dossier_code,
            decision_id=decision_id,
            outcome=RouteOutcome.PARKED if decision.parked else RouteOutcome.ROUTED,
            office_code=decision.office.code if decision.office else None,
            office_name=decision.office.name if decision.office else None,
            # the competent office's province (a parcel elsewhere is that province's case and figures)
            province_code=decision.office.province_code if decision.office else received.province_code,
            procedure_code=procedure.code,
            procedure_name=procedure.name,
            rule_id=decision.rule_id,
            reason=decision.reason,
            channel=received.channel,
            receiving_office_code=received.receiving_office_code,
            applicant_ward_code=received.applicant_ward_code,
            received_at=received.received_at,
            due_at=due_at,
            processing_days=procedure.processing_days,
            chain_step=step,
            chain=chain,
            previous_office_code=previous,
            transfer_reason=transfer_reason,
            tried_offices=tried,
            tracking_token_sha256=received.tracking_token_sha256,
            routed_at=now,
        )
        event = self.publisher.new_event(
            Topics.DOSSIER_ROUTED, subject=received.dossier_code, data=data.model_dump(mode="json")
        )
        record = {
            "decision_id": decision_id,
            "outcome": data.outcome.value,
            "office_code": data.office_code,
            "procedure_code": procedure.code,
            "chain_step": step,
            "rule_id": decision.rule_id,
            "reason": decision.reason,
            "decided_at": now,
        }
        return record, outbox_entry(Topics.DOSSIER_ROUTED, event, key=received.dossier_id)

    def _kick(self, dossier_id: str) -> None:
        if self.relay is not None:
            self.relay.kick(dossier_id)

    async def _deliver(self, dossier_id: str, entry: dict[str, Any]) -> None:
        """Publish a just-written outbox entry now (cleared later in bulk); if that fails the relay sends it."""
        try:
            event = CloudEvent.model_validate(entry["event"])
            await self.publisher.publish(entry["topic"], event, key=entry["key"])
            self.store.mark_published(event.id, dossier_id)
        except Exception as exc:  # the entry is still in the outbox: at-least-once via the relay
            log.warning("routed_event_deferred", dossier_id=dossier_id, error_type=type(exc).__name__)
            self._kick(dossier_id)

    async def _ensure_first_published(self, dossier_id: str) -> None:
        """A redelivery of a routed dossier: hand its first event to the relay only if it never went out."""
        doc = await self.store.route(dossier_id) or {}
        first = doc.get("first_event_id")
        if isinstance(first, str) and first in (doc.get("outbox") or {}) and not await self.store.is_published(first):
            self._kick(dossier_id)  # e.g. the insert landed but its acknowledgement was lost

    async def on_received(self, event_id: str, received: DossierReceived, *, now: datetime | None = None) -> None:
        """Decide the first office of a new dossier; a redelivered event changes nothing."""
        now = now or datetime.now(UTC)
        procedure = self._procedure(received.procedure_code)
        chain = [procedure.code, *procedure.chain]
        decision = self._decide(procedure, received, set())
        record, entry = self._routed_event(
            received, procedure, decision, chain=chain, step=0, tried=[], previous=None, now=now
        )
        office = decision.office.code if decision.office else None
        doc = {
            "_id": received.dossier_id,
            "code": received.dossier_code,
            # routing keeps no contact data (the sealed contact is for notify only)
            "received": received.model_dump(mode="json", exclude={"contact"}),
            "chain": chain,
            "chain_step": 0,
            "decisions": [record],
            "handoffs": {record["decision_id"]: {"office_code": office, "sent_at": now}} if office else {},
            "tried_offices": [office] if office else [],
            "open_at": office,
            "parked": decision.parked,
            "seen_events": [event_id],
            **new_document_outbox(entry),
            # routing publishes this first event itself and logs it (adapters/store.py): the shared
            # relay's sweep skips it, a start-up check re-sends it if a crash came in between
            PENDING_FIELD: 0,
            "first_event_id": entry["event"]["id"],
        }
        if office:
            # counted before the write so concurrent decisions already see it (least-loaded choice)
            self.load[office] += 1
        try:
            inserted = await self.store.insert_route(doc)
        except Exception:
            if office:
                self.load[office] -= 1
            raise
        if not inserted:
            if office:
                self.load[office] -= 1
            await self._ensure_first_published(received.dossier_id)
            return
        if not office:
            self.parked_seen = True
        await self._deliver(received.dossier_id, entry)
        log.info(
            "dossier_routed",
            dossier_id=received.dossier_id,
            office=office,
            rule=decision.rule_id,
            parked=decision.parked,
        )

    async def _redecide(
        self,
        doc: dict[str, Any],
        *,
        step: int,
        exclude: set[str],
        event_id: str | None,
        now: datetime,
        retry: bool = False,
        target: str | None = None,
        transfer_reason: str | None = None,
    ) -> None:
        received = DossierReceived.model_validate(doc["received"])
        procedure = self._procedure(doc["chain"][step])
        named = self.registry.get(target) if target else None
        if named is not None and named.code != doc.get("open_at") and self.available(named):
            decision = Decision(
                named,
                NAMED_BY_OFFICIAL,
                f"Chuyển đến {named.name} theo chỉ định của cơ quan chuyển. / "
                f"Transferred to the office the transferring official named ({named.code}).",
            )
        else:
            decision = self._decide(procedure, received, exclude)
        if retry and decision.parked:
            return  # still no open office: one parked decision is enough, do not repeat it every retry
        previous = doc.get("open_at")
        tried = list(doc["tried_offices"])
        if decision.office:
            tried.append(decision.office.code)
        record, entry = self._routed_event(
            received,
            procedure,
            decision,
            chain=doc["chain"],
            step=step,
            tried=tried,
            previous=previous,
            now=now,
            transfer_reason=transfer_reason,
        )
        office = decision.office.code if decision.office else None
        update: dict[str, Any] = {
            "$set": {"open_at": office, "parked": decision.parked, "chain_step": step, "tried_offices": tried},
            "$push": {"decisions": record},
        }
        if office:
            update["$set"][f"handoffs.{record['decision_id']}"] = {"office_code": office, "sent_at": now}
        decided = len(doc["decisions"])

        def guard(current: dict[str, Any]) -> bool:
            # nobody decided in between, and this event was not applied yet
            return len(current["decisions"]) == decided and event_id not in current.get("seen_events", [])

        if event_id is not None:
            update["$push"]["seen_events"] = event_id
        first = doc.get("first_event_id")
        if isinstance(first, str) and first in (doc.get("outbox") or {}) and await self.store.is_published(first):
            # already sent by on_received: drop it so the relay, kicked below, does not send it again
            update["$unset"] = {f"outbox.{first}": ""}
        if not await self.store.update_route(doc["_id"], with_outbox(update, entry), guard=guard):
            return
        if previous:
            self.load[previous] -= 1
        if office:
            self.load[office] += 1
        else:
            self.parked_seen = True
        self._kick(doc["_id"])
        log.info(
            "dossier_rerouted",
            dossier_id=doc["_id"],
            office=office,
            previous=previous,
            step=step,
            parked=decision.parked,
        )

    async def on_status(self, event_id: str, change: DossierStatusChanged, *, now: datetime | None = None) -> None:
        """Follow a case's status: hand-off dates, load, transfers and the next step of a chain."""
        now = now or datetime.now(UTC)
        doc = await self.store.route(change.dossier_id)
        if doc is None or event_id in doc.get("seen_events", []) or doc.get("open_at") != change.office_code:
            return  # unknown dossier, a duplicate, or news from an office that no longer holds it
        step = int(doc.get("chain_step", 0))
        has_next = step + 1 < len(doc["chain"])
        current = next((d for d in reversed(doc["decisions"]) if d["office_code"] == change.office_code), None)
        handoff = f"handoffs.{current['decision_id']}" if current else None
        if change.status is DossierStatus.TRANSFERRED:
            if change.transfer_to_next_step and has_next:
                await self._redecide(doc, step=step + 1, exclude=set(), event_id=event_id, now=now)
            else:
                exclude = set(doc["tried_offices"]) | set(change.exclude_offices)
                await self._redecide(
                    doc,
                    step=step,
                    exclude=exclude,
                    event_id=event_id,
                    now=now,
                    target=change.transfer_to_office,
                    transfer_reason=change.reason,
                )
            return
        if change.status is DossierStatus.RESULT_READY and has_next:
            await self._redecide(doc, step=step + 1, exclude=set(), event_id=event_id, now=now)
            return
        update: dict[str, Any] = {"$push": {"seen_events": event_id}, "$set": {}}
        if change.status is DossierStatus.ACCEPTED and handoff:
            update["$set"][f"{handoff}.received_at"] = change.occurred_at
        if change.status in LEAVES_OFFICE:
            update["$set"]["open_at"] = None
            if handoff:
                update["$set"][f"{handoff}.returned_at"] = change.occurred_at
        if not update["$set"]:
            del update["$set"]
        applied = await self.store.update_route(
            doc["_id"], update, guard=lambda current: event_id not in current.get("seen_events", [])
        )
        if applied and change.status in LEAVES_OFFICE:
            self.load[change.office_code] -= 1

    async def refresh_and_retry(self, *, now: datetime | None = None) -> int:
        """Re-read operator statuses; route parked dossiers that now have an open office. Returns how many moved."""
        await self._reload_statuses()
        if not self.parked_seen:
            return 0  # nothing parked since the last scan: spare the store a full read
        moved = 0
        parked = await self.store.parked()
        self.parked_seen = bool(parked)
        for doc in parked:
            await self._redecide(
                doc,
                step=int(doc.get("chain_step", 0)),
                exclude=set(),
                event_id=None,
                now=now or datetime.now(UTC),
                retry=True,
            )
            fresh = await self.store.route(doc["_id"])
            moved += int(bool(fresh and not fresh["parked"]))
        return moved

    async def _reload_statuses(self) -> None:
        """Re-read statuses set elsewhere (the CLI), unless an operator changed one here during the read."""
        changes = self._status_changes
        statuses = await self.store.statuses()
        if changes == self._status_changes:  # a stale read must not undo a change made meanwhile
            self.statuses = statuses

    async def set_office_status(self, code: str, status: str) -> dict[str, Any]:
        """Operator action: open, close or mark an office over capacity; parked dossiers are retried."""
        office = self.registry.get(code)
        if office is None:
            raise KeyError(code)
        await self.store.set_status(code, status, datetime.now(UTC))
        self.statuses[code] = status
        self._status_changes += 1
        if status == "open":
            self.parked_seen = True
            await self.refresh_and_retry()
        return office_view(office, self)


def office_view(office: Office, router: Router) -> dict[str, Any]:
    """An office as the API shows it."""
    return {
        "code": office.code,
        "name": office.name,
        "kind": office.kind.name.lower(),
        "level": office.level,
        "province_code": office.province_code,
        "ward_code": office.ward_code,
        "status": router.statuses.get(office.code, "open"),
        "load": router.load[office.code],
    }
