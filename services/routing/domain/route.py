"""The Route aggregate: where one dossier is, every decision that sent it there, and the events they cause.

One route per dossier (id = dossier id): the first decision on receipt, then transfers, the next steps of an
inter-agency chain and the placing of a parked dossier, each a new decision recorded as ``dossier.routed.v1``.
Status news from the office holding the dossier dates its hand-off (ngày nhận, ngày trả). Pure: the rules
and live office state come in as a :class:`~services.routing.domain.rules.Jurisdiction`.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime

from services.routing.domain.rules import Decision, Jurisdiction
from shared.aggregate import EventRecorder, Unchanged
from shared.events import (
    ContactPoint,
    DossierReceived,
    DossierRouted,
    DossierStatus,
    DossierStatusChanged,
    RouteOutcome,
)
from shared.reference.procedures import Procedure
from shared.topics import Topics

#: statuses after which the dossier is no longer at the office (its load is freed)
LEAVES_OFFICE = frozenset({DossierStatus.REFUSED, DossierStatus.RETURNED, DossierStatus.WITHDRAWN})


@dataclass
class RouteDecision:
    """One decision: where the dossier went (or why it waits), by which rule, when."""

    decision_id: str
    outcome: RouteOutcome
    office_code: str | None
    procedure_code: str
    chain_step: int
    rule_id: str
    reason: str
    decided_at: datetime


@dataclass
class Handoff:
    """A hand-off to an office (ngày gửi / ngày nhận / ngày trả), as inter-agency systems record it."""

    office_code: str
    sent_at: datetime  # ngày gửi
    received_at: datetime | None = None  # ngày nhận: the office took it in
    returned_at: datetime | None = None  # ngày trả: the office handed it back


@dataclass(frozen=True)
class Move:
    """What a committed change does to the offices' load: the office left and the office entered."""

    left: str | None = None
    entered: str | None = None
    decided: bool = False  # a new decision was made (routed or parked)
    parked: bool = False


@dataclass
class Route(EventRecorder):
    """The routing of one dossier (tuyến chuyển hồ sơ)."""

    dossier_id: str
    code: str
    received: DossierReceived
    chain: list[str]
    chain_step: int = 0
    decisions: list[RouteDecision] = field(default_factory=list)
    handoffs: dict[str, Handoff] = field(default_factory=dict)  # by decision id
    tried_offices: list[str] = field(default_factory=list)
    open_at: str | None = None
    parked: bool = False

    @classmethod
    def receive(cls, received: DossierReceived, *, jurisdiction: Jurisdiction, now: datetime) -> Route:
        """The first decision for a dossier just received (routing keeps none of its contact data)."""
        procedure = jurisdiction.procedure(received.procedure_code)
        route = cls(
            dossier_id=received.dossier_id,
            code=received.dossier_code,
            received=received.model_copy(update={"contact": ContactPoint()}),
            chain=[procedure.code, *procedure.chain],
        )
        route._decided(procedure, jurisdiction.decide(procedure, received), step=0, now=now)
        return route

    @property
    def has_next_step(self) -> bool:
        """The chain has a procedure after the current one."""
        return self.chain_step + 1 < len(self.chain)

    def follow(self, change: DossierStatusChanged, *, jurisdiction: Jurisdiction, now: datetime) -> Move:
        """A case's status at the office holding the dossier: date the hand-off, transfer, or route the next step."""
        office = change.office_code
        if office != self.open_at:
            raise Unchanged  # news from an office that no longer holds it (or a parked dossier)
        if change.status is DossierStatus.TRANSFERRED:
            if change.transfer_to_next_step and self.has_next_step:
                return self._redecide(jurisdiction, step=self.chain_step + 1, now=now)
            return self._redecide(
                jurisdiction,
                step=self.chain_step,
                now=now,
                exclude={*self.tried_offices, *change.exclude_offices},
                named=change.transfer_to_office,
                transfer_reason=change.reason,
            )
        if change.status is DossierStatus.RESULT_READY and self.has_next_step:
            return self._redecide(jurisdiction, step=self.chain_step + 1, now=now)
        handoff = self._handoff_at(office)
        if change.status is DossierStatus.ACCEPTED and handoff is not None:
            handoff.received_at = change.occurred_at
            return Move()
        if change.status in LEAVES_OFFICE:
            self.open_at = None
            if handoff is not None:
                handoff.returned_at = change.occurred_at
            return Move(left=office)
        raise Unchanged

    def place(self, *, jurisdiction: Jurisdiction, now: datetime) -> Move:
        """Retry a parked dossier; a retry that still finds no open office changes nothing (one parked decision)."""
        if not self.parked:
            raise Unchanged
        return self._redecide(jurisdiction, step=self.chain_step, now=now, retry=True)

    def _handoff_at(self, office: str) -> Handoff | None:
        current = next((d for d in reversed(self.decisions) if d.office_code == office), None)
        return self.handoffs.get(current.decision_id) if current else None

    def _redecide(
        self,
        jurisdiction: Jurisdiction,
        *,
        step: int,
        now: datetime,
        exclude: Collection[str] = (),
        named: str | None = None,
        transfer_reason: str | None = None,
        retry: bool = False,
    ) -> Move:
        procedure = jurisdiction.procedure(self.chain[step])
        decision = jurisdiction.named(named, leaving=self.open_at) or jurisdiction.decide(
            procedure, self.received, exclude=exclude
        )
        if retry and decision.parked:
            raise Unchanged
        return self._decided(procedure, decision, step=step, now=now, transfer_reason=transfer_reason)

    def _decided(
        self,
        procedure: Procedure,
        decision: Decision,
        *,
        step: int,
        now: datetime,
        transfer_reason: str | None = None,
    ) -> Move:
        """Record ``decision`` and its ``dossier.routed.v1`` event."""
        first = not self.decisions
        previous = self.open_at
        office = decision.office
        record = RouteDecision(
            decision_id=str(uuid.uuid4()),
            outcome=RouteOutcome.PARKED if decision.parked else RouteOutcome.ROUTED,
            office_code=office.code if office else None,
            procedure_code=procedure.code,
            chain_step=step,
            rule_id=decision.rule_id,
            reason=decision.reason,
            decided_at=now,
        )
        self.decisions.append(record)
        if office is not None:
            self.tried_offices.append(office.code)
            self.handoffs[record.decision_id] = Handoff(office.code, sent_at=now)
        self.open_at, self.parked, self.chain_step = record.office_code, decision.parked, step
        received = self.received
        event = DossierRouted(
            dossier_id=self.dossier_id,
            dossier_code=self.code,
            decision_id=record.decision_id,
            outcome=record.outcome,
            office_code=record.office_code,
            office_name=office.name if office else None,
            # the competent office's province (a parcel elsewhere is that province's case and figures)
            province_code=office.province_code if office else received.province_code,
            procedure_code=procedure.code,
            procedure_name=procedure.name,
            rule_id=decision.rule_id,
            reason=decision.reason,
            channel=received.channel,
            receiving_office_code=received.receiving_office_code,
            applicant_ward_code=received.applicant_ward_code,
            received_at=received.received_at,
            due_at=received.due_at if step == 0 else procedure.due_at(now),
            processing_days=procedure.processing_days,
            chain_step=step,
            chain=list(self.chain),
            previous_office_code=previous,
            transfer_reason=transfer_reason,
            # the first decision's event lists none tried yet (as it always has); later ones every office so far
            tried_offices=[] if first else list(self.tried_offices),
            tracking_token_sha256=received.tracking_token_sha256,
            routed_at=now,
        )
        self.record(Topics.DOSSIER_ROUTED, event, key=self.dossier_id, subject=self.code)
        return Move(left=previous, entered=record.office_code, decided=True, parked=decision.parked)
