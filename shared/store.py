"""The Mongo-wire store: client factory, and the one write primitive of an aggregate (docs/adr/0003).

Every document written through here carries a revision ``_rev``, owned by this module alone (an
aggregate's own ``version``, e.g. a case's, means "changes the citizen saw" and is the domain's). A write
is a compare-and-set on ``{_id, _rev}`` that also increments ``_rev``: atomic by itself on MongoDB, and
made atomic on the local FerretDB by the revision trigger of ``deploy/local/postgres/tuning.sql``
(FerretDB applies an update as read → modify → write by ``_id``; the trigger refuses a write whose
``_rev`` is not the stored one + 1, which FerretDB reports as an error carrying SQLSTATE 40001).
Either way a write that lost its race is retried from a fresh read, a bounded number of times, and a
guard that no longer holds on the fresh read means "not applied". Correct with any number of
processes: nothing here is held in memory between calls.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from motor.motor_asyncio import AsyncIOMotorClient, AsyncIOMotorDatabase
from pymongo import ReturnDocument
from pymongo.errors import OperationFailure
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_random_exponential

from shared.errors import WriteConflict
from shared.settings import BaseServiceSettings

#: the store-owned revision of every document (docs/adr/0003)
REVISION_FIELD = "_rev"
#: a document being moved to its archive (shared/lifecycle.py): writers treat it as gone
SEALED_FIELD = "_sealed"
#: attempts of one conditional write before the conflict is raised to the caller (a consumer then
#: redelivers, an HTTP request answers 409/503); contention on one aggregate is a handful of writers
WRITE_ATTEMPTS = 30
#: MongoDB's WriteConflict code (a concurrent writer inside MongoDB; retried the same way)
_MONGO_WRITE_CONFLICT = 112


class LostRace(Exception):
    """One attempt found the revision moved on: retried from a fresh read by :func:`conditional_retries`."""


def make_mongo_client(settings: BaseServiceSettings, **overrides: Any) -> AsyncIOMotorClient[Any]:
    """A motor client with short server-selection time-outs so readiness reflects reality quickly."""
    options: dict[str, Any] = {
        "serverSelectionTimeoutMS": 3000,
        "connectTimeoutMS": 3000,
        "socketTimeoutMS": 10000,
        "tz_aware": True,
        "appname": f"lienthong-{settings.service_name}",
        **overrides,
    }
    return AsyncIOMotorClient(settings.mongodb_url, **options)


def service_database(client: AsyncIOMotorClient[Any], settings: BaseServiceSettings) -> AsyncIOMotorDatabase[Any]:
    """This service's own database (a service never reads another's)."""
    return client[settings.mongodb_database]


async def ping(client: AsyncIOMotorClient[Any]) -> bool:
    """True when the store answers a ping."""
    try:
        await client.admin.command("ping")
    except Exception:  # any failure means "not reachable" for readiness
        return False
    return True


def is_write_conflict(exc: BaseException) -> bool:
    """True when ``exc`` is the store refusing a write that raced another (MongoDB or FerretDB's trigger)."""
    if not isinstance(exc, OperationFailure):
        return False
    return exc.code == _MONGO_WRITE_CONFLICT or "SQLSTATE 40001" in str(exc)


def with_revision(update: Mapping[str, Any]) -> dict[str, Any]:
    """``update`` extended to increment the document's revision by exactly one."""
    merged = {op: dict(fields) for op, fields in update.items()}
    if REVISION_FIELD in merged.get("$set", {}):
        raise ValueError("the revision is the store's: never set it")
    inc = merged.setdefault("$inc", {})
    if inc.get(REVISION_FIELD, 1) != 1:
        raise ValueError("a write moves the revision by exactly one")
    inc[REVISION_FIELD] = 1
    return merged


async def compare_and_set(
    collection: Any, current: Mapping[str, Any], update: Mapping[str, Any]
) -> dict[str, Any] | None:
    """Apply ``update`` if the document is still at ``current``'s revision: the new document, or None.

    A missing revision is matched as ``null`` (MongoDB's and FerretDB's ``{_rev: null}`` match an absent
    field), so a document inserted without one is guarded from its first write on.
    """
    try:
        result: dict[str, Any] | None = await collection.find_one_and_update(
            {"_id": current["_id"], REVISION_FIELD: current.get(REVISION_FIELD)},
            with_revision(update),
            return_document=ReturnDocument.AFTER,
        )
    except OperationFailure as exc:
        if is_write_conflict(exc):
            return None
        raise
    return result


def conditional_retries() -> AsyncRetrying:
    """The retry policy of a conditional write: :class:`LostRace` retried, bounded, with jittered backoff."""
    return AsyncRetrying(
        retry=retry_if_exception_type(LostRace),
        stop=stop_after_attempt(WRITE_ATTEMPTS),
        wait=wait_random_exponential(multiplier=0.003, max=0.25),
        reraise=True,
    )


async def update_document(
    collection: Any,
    doc_id: Any,
    update: Mapping[str, Any] | Callable[[dict[str, Any]], Mapping[str, Any] | None],
    *,
    guard: Callable[[dict[str, Any]], bool] | None = None,
) -> dict[str, Any] | None:
    """Apply ``update`` to one document if ``guard(document)`` holds: the updated document, or None.

    ``update`` is an update document, or a function of the current document that returns one (None:
    nothing to do). Read, check, compare-and-set on the revision; a lost race is retried from a fresh
    read (so the guard and the update are always judged on the document they change). Raises
    :class:`WriteConflict` after :data:`WRITE_ATTEMPTS` lost races.
    """
    try:
        async for attempt in conditional_retries():
            with attempt:
                current: dict[str, Any] | None = await collection.find_one({"_id": doc_id})
                if current is None or current.get(SEALED_FIELD) or (guard is not None and not guard(current)):
                    return None
                change = update(current) if callable(update) else update
                if change is None:
                    return None
                result = await compare_and_set(collection, current, change)
                if result is None:
                    raise LostRace
                return result
    except LostRace as exc:
        raise WriteConflict(f"{collection.name}/{doc_id}: lost {WRITE_ATTEMPTS} races in a row") from exc
    raise AssertionError("unreachable: tenacity either returns or raises")  # pragma: no cover
