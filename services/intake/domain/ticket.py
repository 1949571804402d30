"""The counter queue Ticket aggregate (số thứ tự): taken, called to a counter, served or a no-show."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.intake.domain.errors import NotFound
from shared.aggregate import EventRecorder, Unchanged
from shared.reference.legal_clock import VIETNAM_TZ

#: Ticket statuses a display board shows by default: who waits, and who was called to which counter.
BOARD_STATUSES = ("waiting", "called")


def queue_day(now: datetime) -> str:
    """The queue day (Vietnam date) of ``now``: numbers restart every day per centre."""
    return f"{now.astimezone(VIETNAM_TZ).date():%Y-%m-%d}"


def ticket_id(centre: str, day: str, number: int) -> str:
    """A ticket's id: centre, day and number."""
    return f"{centre}:{day}:{number}"


@dataclass
class Ticket(EventRecorder):
    """One numbered ticket of a centre's queue for one day."""

    centre: str  # the service centre's office code
    day: str  # queue day, Vietnam date (numbers restart daily)
    number: int
    service: str  # the counter service asked for (a procedure group)
    created_at: datetime
    status: str = "waiting"  # waiting → called → served | no_show
    counter: str | None = None  # set when called
    called_at: datetime | None = None
    dossier_code: str | None = None  # the dossier filed at the counter, once served
    served_at: datetime | None = None
    no_show_at: datetime | None = None

    @property
    def id(self) -> str:
        """``<centre>:<day>:<number>``."""
        return ticket_id(self.centre, self.day, self.number)

    def call(self, counter: str, at: datetime) -> None:
        """Hand the ticket to ``counter`` (a ticket another counter already took is :class:`Unchanged`)."""
        if self.status != "waiting":
            raise Unchanged
        self.status, self.counter, self.called_at = "called", counter, at

    def called(self) -> bool:
        """True once a counter called it (a dossier may then be filed for its holder)."""
        return self.status in ("called", "served")

    def serve(self, dossier_code: str, at: datetime) -> None:
        """Record the dossier filed for the called ticket's holder (the visit is served)."""
        if not self.called():
            raise Unchanged
        if self.status == "served" and self.dossier_code == dossier_code:
            raise Unchanged  # a retried filing sets it again: nothing new
        self.status, self.dossier_code, self.served_at = "served", dossier_code, at

    def no_show(self, at: datetime) -> None:
        """The holder of a called ticket did not come to the counter."""
        if self.status != "called":
            raise NotFound(
                "not_found", f"no called ticket {self.number} today", vi=f"hôm nay chưa gọi số {self.number}"
            )
        self.status, self.no_show_at = "no_show", at
