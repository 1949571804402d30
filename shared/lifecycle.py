"""Data lifecycle of a service's store: archiving finished aggregates, erasing a citizen's personal data.

Each service declares its collections in ``services/<service>/adapters/lifecycle.py`` (which documents are
finished and since when, where the dossier id is, which fields are personal); this module applies those
declarations with the store's primitives, so it is correct with any number of concurrent writers:

- **Archiving** moves a finished aggregate to ``<collection>_archive`` in the same database: copy, then
  delete the live document only if it is still at the revision that was copied (``{_id, _rev}``). A writer
  that changed it in between wins; the copy is refreshed or withdrawn and the move retried. Nothing with
  unpublished outbox events moves. Running it again moves nothing twice (idempotent).
- **Erasure** removes or pseudonymises the personal fields of a dossier's documents, live and archived,
  each by a compare-and-set write (``shared/store.py::update_document``); the legal record (codes, dates,
  statuses, decisions, results) stays. docs/data-lifecycle.md.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from pymongo.errors import DuplicateKeyError

from shared.outbox import PENDING_FIELD
from shared.store import REVISION_FIELD, SEALED_FIELD, compare_and_set, update_document

#: suffix of the collection finished aggregates move to (same database: a service never reads another's)
ARCHIVE_SUFFIX = "_archive"
#: what an erased name or free text reads afterwards ("erased")
ERASED = "[đã xóa]"
#: set on a document whose personal data was erased: when
ERASED_AT_FIELD = "personal_data_erased_at"
#: the live revision an archived copy was taken at
ARCHIVED_REV_FIELD = "archived_rev"
#: seconds between sealing a collection's documents and deleting them (see _seal_and_copy)
SEAL_GRACE = 2.0
#: moves of one document retried after a concurrent write before it waits for the next run
MOVE_ATTEMPTS = 5

_MISSING = object()


def get_path(document: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted ``path`` of ``document`` (``_MISSING`` sentinel when absent)."""
    value: Any = document
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return _MISSING
        value = value[part]
    return value


def moment_at(document: Mapping[str, Any], path: str) -> datetime | None:
    """The date-time at a dotted ``path`` of ``document`` (None when absent or not a date-time)."""
    value = get_path(document, path)
    return value if isinstance(value, datetime) else None


def has_path(document: Mapping[str, Any], path: str) -> bool:
    """True when ``document`` holds a value (possibly None) at ``path``."""
    return get_path(document, path) is not _MISSING


@dataclass(frozen=True)
class PersonalFields:
    """Where personal data sits in one collection's documents, and what erasing it means there."""

    #: paths removed outright (encrypted values, keyed hashes, contact details)
    remove: tuple[str, ...] = ()
    #: paths replaced by :data:`ERASED` where they hold a value (names, free text, keyed hashes)
    pseudonymise: tuple[str, ...] = ()
    #: paths holding a value encrypted with the service's at-rest key that its domain requires: replaced,
    #: with the erasure, by :data:`ERASED` encrypted with that key (views and forms then read "erased")
    encrypted: tuple[str, ...] = ()

    def erasure(
        self, document: Mapping[str, Any], *, now: datetime, encrypt: Callable[[str], str] | None = None
    ) -> dict[str, Any] | None:
        """The update that erases this document's personal data; None when there is none left."""
        unset = {path: "" for path in self.remove if has_path(document, path)}
        sets: dict[str, Any] = {
            path: ERASED for path in self.pseudonymise if get_path(document, path) not in (_MISSING, None, ERASED)
        }
        if not unset and not sets:
            return None
        present = [path for path in self.encrypted if get_path(document, path) not in (_MISSING, None)]
        if present and encrypt is None:
            raise ValueError(f"erasing {present} needs the service's at-rest key")
        sets |= {path: encrypt(ERASED) for path in present if encrypt is not None}
        update: dict[str, Any] = {"$set": {**sets, ERASED_AT_FIELD: now}}
        if unset:
            update["$unset"] = unset
        return update


@dataclass(frozen=True)
class CollectionLifecycle:
    """How long one collection's documents live, and what in them is personal."""

    name: str
    #: Mongo filter preselecting candidates for archiving (None: the collection is never archived)
    finished_filter: Mapping[str, Any] | None = None
    #: when a document finished (None: not finished); judged on every fresh read, before each move
    finished_at: Callable[[Mapping[str, Any]], datetime | None] | None = None
    #: path of the dossier id, for erasure by dossier (None: nothing personal here)
    dossier_field: str | None = None
    personal: PersonalFields = field(default_factory=PersonalFields)

    @classmethod
    def by_status(
        cls, name: str, statuses: Iterable[str], *, finished_field: str, status_field: str = "status", **rest: Any
    ) -> CollectionLifecycle:
        """A collection whose documents are finished once in one of ``statuses``, at their ``finished_field``."""
        final = sorted(str(s) for s in statuses)

        def finished_at(document: Mapping[str, Any]) -> datetime | None:
            return moment_at(document, finished_field) if get_path(document, status_field) in final else None

        return cls(name, finished_filter={status_field: {"$in": final}}, finished_at=finished_at, **rest)

    @property
    def archive(self) -> str:
        """Name of the archive collection."""
        return f"{self.name}{ARCHIVE_SUFFIX}"

    def archivable(self, document: Mapping[str, Any], *, before: datetime) -> bool:
        """Finished before ``before``, with every outbox event published."""
        if self.finished_at is None or (document.get(PENDING_FIELD) or 0) > 0:
            return False
        finished = self.finished_at(document)
        return finished is not None and finished < before


@dataclass(frozen=True)
class ServiceLifecycle:
    """The lifecycle declarations of one service's database."""

    service: str
    collections: tuple[CollectionLifecycle, ...]
    #: collection and path whose keyed citizen-ID hash finds a citizen's dossiers (intake only)
    citizen_index: tuple[str, str] | None = None
    #: path of the dossier id in the citizen index collection's documents
    citizen_dossier_field: str = "_id"


@dataclass
class ArchiveReport:
    """What one archiving run did, per collection."""

    moved: dict[str, int] = field(default_factory=dict)
    kept_busy: dict[str, int] = field(default_factory=dict)


async def archive_finished(
    db: Any, lifecycle: ServiceLifecycle, *, before: datetime, grace: float = SEAL_GRACE
) -> ArchiveReport:
    """Move every aggregate that finished before ``before`` to its archive collection (idempotent).

    Per collection: seal and copy each candidate, wait ``grace`` seconds, then delete the sealed
    documents at their sealed revision (see :func:`_seal_and_copy` for why the wait).
    """
    report = ArchiveReport()
    for spec in lifecycle.collections:
        if spec.finished_filter is None or spec.finished_at is None:
            continue
        live, archive = db[spec.name], db[spec.archive]
        sealed: list[tuple[Any, Any]] = []
        async for candidate in live.find(dict(spec.finished_filter), projection={"_id": 1}):
            if (copied := await _seal_and_copy(live, archive, spec, candidate["_id"], before=before)) is not None:
                sealed.append(copied)
        if sealed and grace > 0:
            await asyncio.sleep(grace)
        moved = 0
        for doc_id, revision in sealed:
            moved += (await live.delete_one({"_id": doc_id, REVISION_FIELD: revision})).deleted_count
        report.moved[spec.name] = moved
        if busy := len(sealed) - moved:
            report.kept_busy[spec.name] = busy  # still sealed and copied: the next run finishes them
    return report


async def _seal_and_copy(
    live: Any, archive: Any, spec: CollectionLifecycle, doc_id: Any, *, before: datetime
) -> tuple[Any, Any] | None:
    """Seal one finished document and copy it to the archive: its id and sealed revision, or None.

    The seal is a compare-and-set write (``_sealed``). From then on the store's primitives treat the
    document as gone (``shared/store.py``, ``shared/unit_of_work.py``) and the local store's revision
    trigger refuses any other update of it, so the copy stays equal to the live document. The caller waits
    a grace period before deleting: FerretDB applies an update as read → write by ``_id``, and a write
    whose read came before the seal but which lands after the delete would be reported as applied to a
    document that no longer exists. On MongoDB the delete at the sealed revision is atomic by itself.
    A seal left by an archiver that died is finished by the next run. The copy keeps the live revision as
    ``archived_rev``: archived documents are outside the compare-and-set scheme.
    """
    for _ in range(MOVE_ATTEMPTS):
        current = await live.find_one({"_id": doc_id})
        if current is None:
            return None  # another archiver moved it
        if not current.get(SEALED_FIELD):
            if not spec.archivable(current, before=before):
                return None
            current = await compare_and_set(live, current, {"$set": {SEALED_FIELD: True}})
            if current is None:
                continue  # a writer came first: judge the fresh version
        revision = current.pop(REVISION_FIELD, None)
        current.pop(SEALED_FIELD, None)
        try:
            # never over an archived copy of a later revision (another archiver's, taken after our read)
            await archive.replace_one(
                {"_id": doc_id, ARCHIVED_REV_FIELD: {"$lte": revision or 0}},
                {**current, ARCHIVED_REV_FIELD: revision or 0},
                upsert=True,
            )
        except DuplicateKeyError:
            continue
        return doc_id, revision
    return None


async def dossiers_of_citizen(db: Any, lifecycle: ServiceLifecycle, citizen_id_hash: str) -> list[str]:
    """Ids of every dossier (live or archived) whose applicant has this keyed citizen-ID hash."""
    if lifecycle.citizen_index is None:
        return []
    collection, path = lifecycle.citizen_index
    ids: list[str] = []
    for name in (collection, f"{collection}{ARCHIVE_SUFFIX}"):
        async for doc in db[name].find({path: citizen_id_hash}):
            value = get_path(doc, lifecycle.citizen_dossier_field)
            if value is not _MISSING and value not in ids:
                ids.append(value)
    return ids


async def erase_personal_data(
    db: Any,
    lifecycle: ServiceLifecycle,
    dossier_ids: Iterable[str],
    *,
    now: datetime,
    encrypt: Callable[[str], str] | None = None,
) -> dict[str, int]:
    """Erase the personal fields of these dossiers' documents, live and archived: documents changed per collection.

    ``encrypt`` is the service's at-rest cipher, for the fields declared ``encrypted``.
    """
    ids = list(dossier_ids)
    changed: dict[str, int] = {}
    if not ids:
        return changed
    for spec in lifecycle.collections:
        if spec.dossier_field is None or not (spec.personal.remove or spec.personal.pseudonymise):
            continue
        erase = partial(spec.personal.erasure, now=now, encrypt=encrypt)
        query = {spec.dossier_field: {"$in": ids}}
        count = 0
        async for doc in db[spec.name].find(query, projection={"_id": 1}):
            # live documents: a compare-and-set write, retried against concurrent writers
            count += await update_document(db[spec.name], doc["_id"], erase) is not None
        changed[spec.name] = count
        count = 0
        async for doc in db[spec.archive].find(query):
            if (update := erase(doc)) is not None:
                count += (await db[spec.archive].update_one({"_id": doc["_id"]}, update)).modified_count
        changed[spec.archive] = count
    return changed


def cutoff(now: datetime, older_than_days: float) -> datetime:
    """The moment before which a finished aggregate is old enough to archive."""
    return now - timedelta(days=older_than_days)
