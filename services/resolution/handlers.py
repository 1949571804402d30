"""Resolution use cases: open cases from routing decisions, officials' actions, the clock, results, stats."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import Any

import jinja2
from pymongo.errors import DuplicateKeyError

from services.resolution.adapters.business_metrics import BusinessMetrics
from services.resolution.adapters.signing import OfficeKeys, canonical, is_office_code
from services.resolution.adapters.store import ResolutionStore
from services.resolution.adapters.verification import (
    Status,
    Verdict,
    signed_from_pdf,
    standard_signature,
    verify_document,
)
from services.resolution.domain.case import (
    CLOCK_RUNNING,
    LEADER,
    OPEN,
    check,
    require_reason,
    resume_after_supplement,
)
from services.resolution.domain.figures import CASE_FIELDS, Period, compute, office_province
from services.resolution.domain.scope import Scope
from services.resolution.domain.service_index import rank, service_index
from services.resolution.settings import ResolutionSettings
from shared.broker import EventPublisher
from shared.events import (
    DossierRouted,
    DossierStatus,
    DossierStatusChanged,
    DossierSupplemented,
    ResultDocument,
    RouteOutcome,
)
from shared.logging import get_logger
from shared.outbox import OutboxRelay, outbox_entry, with_outbox
from shared.reference.admin_units import get_province, get_ward
from shared.reference.legal_clock import VIETNAM_TZ, LegalClock
from shared.reference.offices import known_office, office_name
from shared.reference.procedures import Catalogue
from shared.topics import Topics

log = get_logger(__name__)

OVERDUE_BATCH = 200
REPORT_REUSE_SECONDS = 1.0
REPORT_CACHE_SIZE = 256


class CaseNotFound(Exception):
    """No case of that dossier at the official's office."""


class InvalidInput(Exception):
    """The request names something that does not exist or cannot be used (answered 422)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class Conflict(Exception):
    """The action cannot be taken in the case's current situation."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@cache
def _templates() -> jinja2.Environment:
    loader = jinja2.FunctionLoader(
        lambda name: (resources.files("services.resolution") / "templates" / name).read_text("utf-8")
    )
    return jinja2.Environment(loader=loader, undefined=jinja2.StrictUndefined, autoescape=False)  # noqa: S701 - plain text


class Resolution:
    """Cases at offices, their clock and results."""

    def __init__(
        self,
        *,
        store: ResolutionStore,
        publisher: EventPublisher,
        catalogue: Catalogue,
        clock: LegalClock,
        keys: OfficeKeys,
        settings: ResolutionSettings,
        relay: OutboxRelay | None = None,
        business: BusinessMetrics | None = None,
    ) -> None:
        self.store = store
        self.publisher = publisher
        self.catalogue = catalogue
        self.clock = clock
        self.keys = keys
        self.settings = settings
        self.relay = relay
        # set when a due date appears or moves before the overdue scheduler's planned wake-up (it re-plans)
        self.due_changed = asyncio.Event()
        self.planned_wake: datetime | None = None
        self.changes = ChangeSignal()
        self._reports: dict[tuple[Scope, Period], tuple[int, float, dict[str, Any]]] = {}
        self.business = business

    # -- opening cases --------------------------------------------------------------------------
    async def on_routed(self, event_id: str, routed: DossierRouted, *, now: datetime | None = None) -> None:
        """Open a case at the chosen office; a redelivered decision opens nothing new."""
        if routed.outcome is not RouteOutcome.ROUTED or routed.office_code is None:
            return
        now = now or datetime.now(UTC)
        case: dict[str, Any] = {
            "_id": routed.decision_id,
            "dossier_id": routed.dossier_id,
            "dossier_code": routed.dossier_code,
            "office_code": routed.office_code,
            "office_name": routed.office_name,
            "procedure_code": routed.procedure_code,
            "procedure_name": routed.procedure_name,
            "processing_days": routed.processing_days,
            "province_code": routed.province_code,
            # the competent office's province: what operations figures are filtered by (not the receiving one)
            "office_province_code": office_province(routed.office_code),
            "first_case": routed.chain_step == 0 and routed.previous_office_code is None,
            # the last step of an inter-agency chain (or no chain): its result is the dossier's result
            "last_step": routed.chain_step >= len(routed.chain) - 1,
            "applicant_ward_code": routed.applicant_ward_code,
            "receiving_office_code": routed.receiving_office_code,
            "channel": routed.channel.value,
            "status": DossierStatus.RECEIVED.value,
            "version": 1,
            "received_at": routed.received_at,
            "routed_at": routed.routed_at,
            "due_at": routed.due_at,
            "original_due_at": routed.due_at,
            "paused_at": None,
            "paused_hours": 0.0,
            "supplement_requests": 0,
            "overdue": False,
            "apology": None,
            "result": None,
            "rating": None,
            "finished_at": None,
            "tracking_token_sha256": routed.tracking_token_sha256,
            "chain": list(routed.chain),
            "chain_step": routed.chain_step,
            "transferred_from": (
                {"office_code": routed.previous_office_code, "reason": routed.transfer_reason}
                if routed.transfer_reason
                else None
            ),
            "history": [
                {"status": "received", "action": "routed", "at": now, "by": "routing", "reason": routed.reason}
            ],
            "seen_events": [event_id],
            "outbox": {},
            "outbox_pending": 0,
        }
        if self.settings.auto_accepts(routed.office_code):
            # accepted in the same insert: no window where a crash leaves the case waiting (single write)
            update, _ = self._prepare(case, "accept", actor="system", roles=frozenset(), system=True, now=now)
            for key, value in update["$set"].items():
                if key.startswith("outbox."):
                    case["outbox"][key.removeprefix("outbox.")] = value
                else:
                    case[key] = value
            case["history"].append(update["$push"]["history"])
            case["outbox_pending"] = update["$inc"]["outbox_pending"]
        try:
            await self.store.insert_case(case)
        except DuplicateKeyError:
            return
        if self.relay is not None and case["outbox_pending"]:
            self.relay.kick(case["_id"])
        self._due_moved(case["due_at"])
        self._changed(case, opened=True)
        log.info("case_opened", dossier_id=routed.dossier_id, office=routed.office_code, case_id=routed.decision_id)

    def _due_moved(self, due_at: datetime) -> None:
        """Wake the overdue scheduler when ``due_at`` falls before its planned wake-up."""
        if self.planned_wake is None or due_at < self.planned_wake:
            self.due_changed.set()

    # -- transitions ----------------------------------------------------------------------------
    def _prepare(
        self,
        case: dict[str, Any],
        action: str,
        *,
        actor: str,
        roles: frozenset[str],
        now: datetime,
        system: bool = False,
        reason: str | None = None,
        extra_set: dict[str, Any] | None = None,
        event_extra: dict[str, Any] | None = None,
        seen_event: str | None = None,
    ) -> tuple[dict[str, Any], DossierStatus]:
        """The single-document update (state, history, outbox event) for ``action``; raises if not allowed."""
        current = DossierStatus(case["status"])
        transition = check(action, current=current, roles=roles, system=system)
        if not system:
            require_reason(action, reason)
        version = int(case["version"]) + 1
        new = {**case, **(extra_set or {}), "status": transition.target.value, "version": version}
        if transition.target in {DossierStatus.RESULT_READY, DossierStatus.REFUSED}:
            new["finished_at"] = now
        sets: dict[str, Any] = {**(extra_set or {}), "status": transition.target.value, "version": version}
        if transition.target is DossierStatus.REFUSED:
            # the figures count refusals with a written reason from the event's reason field
            sets["refusal_reason"] = reason
        if "finished_at" in new and new["finished_at"] is not None:
            sets["finished_at"] = new["finished_at"]
        change = DossierStatusChanged(
            dossier_id=case["dossier_id"],
            dossier_code=case["dossier_code"],
            office_code=case["office_code"],
            procedure_code=case["procedure_code"],
            status=transition.target,
            previous_status=current,
            action=action,
            version=version,
            reason=reason,
            due_at=new["due_at"],
            overdue=bool(new.get("overdue")),
            actor_role=",".join(sorted(roles)) or "system",
            occurred_at=now,
            **_step_of(case),
            **(event_extra or {}),
        )
        event = self.publisher.new_event(
            Topics.DOSSIER_STATUS, subject=case["dossier_code"], data=change.model_dump(mode="json")
        )
        push: dict[str, Any] = {
            "history": {"status": transition.target.value, "action": action, "at": now, "by": actor, "reason": reason}
        }
        if seen_event is not None:
            push["seen_events"] = seen_event
        update = with_outbox(
            {"$set": sets, "$push": push}, outbox_entry(Topics.DOSSIER_STATUS, event, key=case["dossier_id"])
        )
        return update, transition.target

    async def _transition(self, case: dict[str, Any], action: str, **options: Any) -> dict[str, Any]:
        """Apply ``action`` to ``case`` in one guarded write (see ``_prepare`` for the options)."""
        update, target = self._prepare(case, action, **options)
        expected = case["version"]
        updated = await self.store.update_case(case["_id"], update, guard=lambda c: c["version"] == expected)
        if updated is None:
            raise Conflict("concurrent_change", "the dossier changed meanwhile; reload and try again")
        if self.relay is not None:
            self.relay.kick(case["_id"])
        self._changed(updated)
        log.info(
            "case_transition",
            dossier_id=case["dossier_id"],
            office=case["office_code"],
            action=action,
            status=target.value,
        )
        return updated

    async def case_for(self, dossier: str, office: str) -> dict[str, Any]:
        """The official's office's case of ``dossier`` (id or code); CaseNotFound otherwise."""
        case = await self.store.case_of(dossier, office)
        if case is None:
            raise CaseNotFound(dossier)
        return case

    async def act(
        self,
        dossier: str,
        action: str,
        *,
        office: str,
        actor: str,
        roles: frozenset[str],
        body: dict[str, Any],
        now: datetime | None = None,
    ) -> dict[str, Any]:
        """An official's action on a case of their office."""
        now = now or datetime.now(UTC)
        case = await self.case_for(dossier, office)
        reason = (body.get("reason") or "").strip() or None
        if action == "request_supplement":
            check(action, current=DossierStatus(case["status"]), roles=roles)
            procedure = self.catalogue.get(case["procedure_code"])
            allowed = procedure.max_supplement_requests if procedure else None
            if allowed is not None and case["supplement_requests"] >= allowed:
                raise Conflict("supplement_limit", f"{case['procedure_code']} allows {allowed} supplement request(s)")
            return await self._transition(
                case,
                action,
                actor=actor,
                roles=roles,
                now=now,
                reason=reason,
                extra_set={"paused_at": now, "supplement_requests": case["supplement_requests"] + 1},
            )
        if action == "transfer":
            check(action, current=DossierStatus(case["status"]), roles=roles)
            target = body.get("to_office")
            if target is not None and (office_name(target) is None or target == case["office_code"]):
                raise InvalidInput(
                    "unknown_office",
                    f"to_office: {target!r} is not another office (office code such as 00073.UBND)",
                )
            return await self._transition(
                case,
                action,
                actor=actor,
                roles=roles,
                now=now,
                reason=reason,
                event_extra={
                    "transfer_to_office": target,
                    "transfer_to_next_step": bool(body.get("to_next_step")),
                    "exclude_offices": list(body.get("exclude_offices") or []),
                },
            )
        if action == "return" and _step_of(case)["chain_step"] + 1 < len(_step_of(case)["chain"]):
            check(action, current=DossierStatus(case["status"]), roles=roles)
            raise Conflict(
                "chain_continues",
                f"step {case['chain_step'] + 1} of {len(case['chain'])}: its result goes on to the next office of "
                "the inter-agency chain; the citizen gets the result once, after the last step",
            )
        if action == "approve":
            check(action, current=DossierStatus(case["status"]), roles=roles)
            try:
                result = await self._sign_result(case, body, now=now)
            except KeyError:
                raise Conflict(
                    "no_signing_key", f"office {case['office_code']} has no signing key configured"
                ) from None
            return await self._transition(
                case,
                action,
                actor=actor,
                roles=roles,
                now=now,
                reason=reason,
                extra_set={"result": result.model_dump(mode="json")},
                event_extra={"result": result},
            )
        return await self._transition(case, action, actor=actor, roles=roles, now=now, reason=reason)

    async def on_supplemented(
        self, event_id: str, supplement: DossierSupplemented, *, now: datetime | None = None
    ) -> None:
        """Resume the clock: the due date moves later by exactly the paused working hours."""
        now = now or datetime.now(UTC)
        case = await self.store.case_of(supplement.dossier_id)
        if (
            case is None
            or event_id in case["seen_events"]
            or case["status"] != DossierStatus.SUPPLEMENT_REQUESTED.value
        ):
            return
        new_due, paused = resume_after_supplement(
            self.clock, due_at=case["due_at"], paused_at=case["paused_at"], now=supplement.received_at
        )
        await self._transition(
            case,
            "supplement_received",
            actor="citizen",
            roles=frozenset(),
            system=True,
            now=now,
            extra_set={"due_at": new_due, "paused_at": None, "paused_hours": case["paused_hours"] + paused},
            event_extra={"previous_due_at": case["due_at"], "paused_working_hours": round(paused, 4)},
            seen_event=event_id,
        )
        self._due_moved(new_due)

    # -- results --------------------------------------------------------------------------------
    async def _sign_result(self, case: dict[str, Any], body: dict[str, Any], *, now: datetime) -> ResultDocument:
        document_id = str(uuid.uuid4())
        key = self.keys.active(case["office_code"])
        document = {
            "document_id": document_id,
            "dossier_code": case["dossier_code"],
            "procedure_code": case["procedure_code"],
            "office_code": case["office_code"],
            "title": body.get("result_title")
            or f"Kết quả giải quyết thủ tục {case.get('procedure_name') or case['procedure_code']}",
            "content": body.get("result_content") or "",
            "issued_at": now.isoformat(),
            "key_id": key.kid,
        }
        signature = self.keys.sign(case["office_code"], document)
        await self.store.note_signer(case["office_code"], key.kid, now)
        await self.store.insert_result(
            {
                "_id": document_id,
                "document": document,
                "signature": signature,
                "algorithm": "Ed25519",
                "procedure_name": case.get("procedure_name"),
            }
        )
        return ResultDocument(
            document_id=document_id,
            sha256=hashlib.sha256(canonical(document)).hexdigest(),
            signature=signature,
            signed_by_office=case["office_code"],
            verify_url=self.verify_url(document_id),
            key_id=key.kid,
        )

    def verify_url(self, document_id: str) -> str:
        """The public verification page of a result (also what the citizen's SMS links to)."""
        return f"{self.settings.public_base_url.rstrip('/')}/verify?id={document_id}"

    def verify(self, document: dict[str, Any], signature: str) -> bool:
        """True when ``signature`` is the issuing office's signature of exactly ``document``."""
        office = document.get("office_code")
        # only a real office's key is looked up (the code comes from an unauthenticated caller)
        return isinstance(office, str) and known_office(office) and self.keys.verify(office, document, signature)

    async def jwks(self, office: str | None = None) -> dict[str, Any]:
        """The published keys: of one office, or of every office with a key directory entry or a signed result."""
        offices = [office] if office else [*self.keys.offices(), *await self.store.signers()]
        return self.keys.jwks(offices)

    async def check_result(self, document_id: str, signature: str | None) -> tuple[Verdict, dict[str, Any] | None]:
        """The public page's check of a result id (and the signature printed in its QR code)."""
        stored = await self.store.result(document_id)
        if stored is None:
            return Verdict("unknown", "no result with this id was issued"), None
        document = stored["document"]
        given = stored["signature"] if signature is None else standard_signature(signature)
        if given is None:
            return Verdict("tampered", "the signature in the link is malformed"), stored
        if "key_id" not in document:  # signed before key ids existed: the office's keys decide
            ok = self.verify(document, given)
            status: Status = "valid" if ok else "tampered"
            return Verdict(status, "checked with the issuing office's keys", None, document.get("office_code")), stored
        return verify_document(await self.jwks(document["office_code"]), document, given), stored

    async def check_pdf(self, pdf: bytes) -> tuple[Verdict, dict[str, Any]]:
        """Check an uploaded result PDF by its embedded signed original and the published keys only."""
        originals = signed_from_pdf(pdf)
        document, signature = originals[0]
        if len(originals) > 1:
            # an edited copy added beside the genuine one: which would a reader trust? neither
            return Verdict("tampered", "the PDF carries more than one signed original"), document
        office = document.get("office_code")
        jwks = await self.jwks(office) if isinstance(office, str) and is_office_code(office) else {"keys": []}
        return verify_document(jwks, document, signature), document

    # -- overdue and apology --------------------------------------------------------------------
    async def next_due(self) -> datetime | None:
        """The earliest due date among running cases not yet flagged overdue (when to check next)."""
        return await self.store.next_due([s.value for s in CLOCK_RUNNING])

    async def flag_overdue(self, *, now: datetime | None = None) -> int:
        """Flag every running case whose due date has passed (once each); returns how many."""
        now = now or datetime.now(UTC)
        flagged = 0
        while True:
            batch = await self.store.due_now([s.value for s in CLOCK_RUNNING], now, limit=OVERDUE_BATCH)
            done = await self._flag_batch(batch, now=now)
            flagged += done
            # a full batch of which nothing could be flagged would loop for ever; the next tick retries
            if len(batch) < OVERDUE_BATCH or done == 0:
                return flagged

    async def _flag_batch(self, cases: list[dict[str, Any]], *, now: datetime) -> int:
        flagged = 0
        for case in cases:
            if case.get("paused_at") is not None:
                continue
            change = DossierStatusChanged(
                dossier_id=case["dossier_id"],
                dossier_code=case["dossier_code"],
                office_code=case["office_code"],
                procedure_code=case["procedure_code"],
                status=DossierStatus(case["status"]),
                action="overdue",
                version=case["version"] + 1,
                due_at=case["due_at"],
                overdue=True,
                actor_role="system",
                occurred_at=now,
                **_step_of(case),
            )
            event = self.publisher.new_event(
                Topics.DOSSIER_STATUS, subject=case["dossier_code"], data=change.model_dump(mode="json")
            )
            update = with_outbox(
                {
                    "$set": {
                        "overdue": True,
                        "overdue_at": now,
                        "version": case["version"] + 1,
                    },
                    "$push": {
                        "history": {
                            "status": case["status"],
                            "action": "overdue",
                            "at": now,
                            "by": "system",
                            "reason": None,
                        }
                    },
                },
                outbox_entry(Topics.DOSSIER_STATUS, event, key=case["dossier_id"]),
            )
            # version guard: a change since the read would make this update's version and figures stale
            if await self.store.update_case(case["_id"], update, guard=_unchanged_and_unflagged(case["version"])):
                flagged += 1
                if self.relay is not None:
                    self.relay.kick(case["_id"])
                self._changed(case)
                log.info("case_overdue", dossier_id=case["dossier_id"], office=case["office_code"])
        return flagged

    async def apologise(
        self,
        dossier: str,
        *,
        office: str,
        actor: str,
        roles: frozenset[str],
        reason: str,
        new_due_at: datetime | None,
        now: datetime | None = None,
    ) -> dict[str, Any]:
        """A leader's apology letter with a new appointment date (Circular 01/2018 form)."""
        now = now or datetime.now(UTC)
        if LEADER not in roles:
            raise PermissionError("only a leader may issue an apology letter")
        case = await self.case_for(dossier, office)
        if not case["overdue"] or DossierStatus(case["status"]) not in OPEN:
            raise Conflict("not_overdue", f"dossier {case['dossier_code']} is not overdue")
        procedure = self.catalogue.get(case["procedure_code"])
        new_due = stored_precision(
            new_due_at or self.clock.due_at(now, working_days=max(1, (procedure.processing_days if procedure else 1)))
        )
        if new_due <= now:
            raise Conflict("invalid_due_date", "the new appointment date must be in the future")
        letter = (
            _templates()
            .get_template("apology_letter.vi.j2")
            .render(
                office_name=case.get("office_name") or case["office_code"],
                dossier_code=case["dossier_code"],
                procedure_name=case.get("procedure_name") or case["procedure_code"],
                issued_at=now.astimezone(VIETNAM_TZ),
                due_at=case["due_at"].astimezone(VIETNAM_TZ),
                new_due_at=new_due.astimezone(VIETNAM_TZ),
                reason=reason,
                signer=actor,
            )
        )
        apology = {
            "letter": letter,
            "reason": reason,
            "new_due_at": new_due,
            "previous_due_at": case["due_at"],
            "issued_at": now,
            "by": actor,
        }
        change = DossierStatusChanged(
            dossier_id=case["dossier_id"],
            dossier_code=case["dossier_code"],
            office_code=case["office_code"],
            procedure_code=case["procedure_code"],
            status=DossierStatus(case["status"]),
            action="apology",
            version=case["version"] + 1,
            reason=reason,
            due_at=new_due,
            previous_due_at=case["due_at"],
            overdue=False,
            actor_role="leader",
            occurred_at=now,
            **_step_of(case),
        )
        event = self.publisher.new_event(
            Topics.DOSSIER_STATUS, subject=case["dossier_code"], data=change.model_dump(mode="json")
        )
        update = with_outbox(
            {
                "$set": {
                    "apology": apology,
                    "due_at": new_due,
                    "overdue": False,
                    "version": case["version"] + 1,
                },
                "$push": {
                    "history": {"status": case["status"], "action": "apology", "at": now, "by": actor, "reason": reason}
                },
            },
            outbox_entry(Topics.DOSSIER_STATUS, event, key=case["dossier_id"]),
        )
        expected = case["version"]
        updated = await self.store.update_case(case["_id"], update, guard=lambda c: c["version"] == expected)
        if updated is None:
            raise Conflict("concurrent_change", "the dossier changed meanwhile; reload and try again")
        if self.relay is not None:
            self.relay.kick(case["_id"])
        self._due_moved(new_due)
        self._changed(updated)
        log.info("apology_issued", dossier_id=case["dossier_id"], office=case["office_code"])
        return updated

    # -- citizen rating -------------------------------------------------------------------------
    async def rate(
        self, code: str, token: str, score: int, comment: str | None, *, now: datetime | None = None
    ) -> dict[str, Any]:
        """The citizen's satisfaction rating after the result was returned (token-authenticated)."""
        now = now or datetime.now(UTC)
        case = await self.store.case_of(code)
        expected = (case or {}).get("tracking_token_sha256") or ""
        if case is None or not hmac.compare_digest(hashlib.sha256(token.encode()).hexdigest(), expected):
            raise CaseNotFound(code)
        if case["status"] != DossierStatus.RETURNED.value:
            raise Conflict("not_returned", "a dossier can be rated once its result has been returned")
        rating = {"score": score, "comment": comment, "at": now}
        updated = await self.store.update_case(
            case["_id"],
            {"$set": {"rating": rating}},
            guard=lambda c: c.get("rating") is None,
        )
        if updated is None:
            raise Conflict("already_rated", "this dossier has already been rated")
        self._changed(updated)
        return rating

    # -- operations centre ----------------------------------------------------------------------
    def _changed(self, case: dict[str, Any], *, opened: bool = False) -> None:
        """Tell live dashboards a case moved, and count the business metrics of the change."""
        self.changes.notify()
        if self.business is None:
            return
        province = case.get("office_province_code") or office_province(case["office_code"]) or "??"
        if opened and case.get("first_case"):
            self.business.received(province)
        status = DossierStatus(case["status"])
        ends_dossier = status is DossierStatus.REFUSED or (
            status is DossierStatus.RESULT_READY and case.get("last_step", True)
        )
        if case.get("finished_at") is not None and ends_dossier:
            late = (
                bool(case.get("overdue")) or case.get("overdue_at") is not None or case["finished_at"] > case["due_at"]
            )
            self.business.resolved(province, late=late, refused=status is DossierStatus.REFUSED)

    async def operations(self, *, scope: Scope, period: Period, now: datetime | None = None) -> dict[str, Any]:
        """The operations-centre report of ``scope`` for ``period`` (docs/operations-centre.md).

        Dashboards watching the same scope share one computation: a report is reused while no case of this
        process changed and it is younger than REPORT_REUSE_SECONDS (changes by other instances show after that).
        """
        key = (scope, period)
        cached = self._reports.get(key)
        if now is None and cached is not None:
            generation, made, report = cached
            if generation == self.changes.generation and time.monotonic() - made < REPORT_REUSE_SECONDS:
                return report
        generation = self.changes.generation
        report = await self._operations(scope=scope, period=period, now=now or datetime.now(UTC))
        if len(self._reports) > REPORT_CACHE_SIZE:
            self._reports.clear()
        self._reports[key] = (generation, time.monotonic(), report)
        return report

    async def _operations(self, *, scope: Scope, period: Period, now: datetime) -> dict[str, Any]:
        cases = await self.store.operations_cases(
            province_code=scope.province_code if scope.kind == "province" else None,
            office_code=scope.office_code,
            fields=CASE_FIELDS,
            since=period.start(),
            open_statuses=sorted(s.value for s in OPEN),
        )
        report = compute(cases, period=period, now=now, clock=self.clock, online_level=self._online_level)
        sample = self.settings.ranking_min_sample
        report["by_office"] = rank(report["by_office"], min_sample=sample)
        report["by_province"] = rank(report["by_province"], min_sample=sample)
        report["totals"]["service_index"] = service_index(report["totals"], min_sample=sample)
        report["ranking"] = {
            "min_sample": sample,
            "offices": [_ranking_row(r) for r in report["by_office"]],
            "provinces": [_ranking_row(r) for r in report["by_province"]],
        }
        for row in report["by_province"]:
            province = get_province(row["key"])
            row["name"] = province.name if province else row["key"]
        for row in report["by_commune"]:
            ward = get_ward(row["key"])
            row["name"] = ward.name if ward else row["key"]
        for row in [*report["by_procedure"], *report["overdue"], *report["near_due"]]:
            key = "key" if "key" in row else "procedure_code"
            name = "name" if "key" in row else "procedure_name"
            procedure = self.catalogue.get(row[key])
            row[name] = procedure.name if procedure else row[name]
        report["scope"] = {"kind": scope.kind, "province_code": scope.province_code, "office_code": scope.office_code}
        report["period"] = {"from": period.first, "to": period.last, "timezone": str(VIETNAM_TZ)}
        report["as_of"] = now
        return report

    async def refresh_overdue_gauge(self, *, now: datetime | None = None) -> None:
        """Set the overdue gauge from the store (running cases past their due date, per province)."""
        if self.business is not None:
            counts = await self.store.overdue_by_province([s.value for s in CLOCK_RUNNING], now or datetime.now(UTC))
            self.business.set_overdue(counts)

    def _online_level(self, procedure_code: str) -> str | None:
        procedure = self.catalogue.get(procedure_code)
        return procedure.online if procedure else None


def _ranking_row(row: dict[str, Any]) -> dict[str, Any]:
    index = row["service_index"]
    return {
        "key": row["key"],
        "name": row.get("name", row["key"]),
        "rank": row["rank"],
        "index": index["index"],
        "ranked": index["ranked"],
        "not_ranked_reason": index["not_ranked_reason"],
        "resolved": row["resolved"],
        "on_time_rate": row["on_time_rate"],
        # a group with nothing measurable has no score (not 0, which would read as failing it)
        "groups": {k: (v["score"] if v["attainable"] else None) for k, v in index["groups"].items()},
    }


class ChangeSignal:
    """Wakes every live dashboard stream of this process when a case changes."""

    def __init__(self) -> None:
        self._listeners: set[asyncio.Event] = set()
        self.generation = 0

    def listen(self) -> asyncio.Event:
        """An event set at the next change (the listener clears it)."""
        event = asyncio.Event()
        self._listeners.add(event)
        return event

    def stop(self, event: asyncio.Event) -> None:
        """Stop waking ``event``."""
        self._listeners.discard(event)

    def notify(self) -> None:
        """Wake every listener."""
        self.generation += 1
        for event in self._listeners:
            event.set()


def stored_precision(moment: datetime) -> datetime:
    """``moment`` to the millisecond, as the store keeps it: the event then tells the citizen the very date the
    case document holds (a microsecond more on the event made the two disagree)."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def _step_of(case: dict[str, Any]) -> dict[str, Any]:
    """The case's place in an inter-agency chain and its office's name, carried on every status event."""
    return {
        "chain_step": int(case.get("chain_step") or 0),
        "chain": list(case.get("chain") or []),
        "office_name": case.get("office_name"),
    }


def _unchanged_and_unflagged(version: int) -> Callable[[dict[str, Any]], bool]:
    def guard(current: dict[str, Any]) -> bool:
        return bool(current["version"] == version and not current["overdue"])

    return guard
