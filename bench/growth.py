"""Growth benchmark helpers: copy one finished dossier's documents of every service many times over.

The template is what the real code wrote for one dossier that went through the whole pipeline (every
document of every service's database that names the dossier's id or code). Each copy gets new ids: the
dossier id, the code, every other string ``_id`` of the template, every ObjectId and every keyed hash
(64 hex digits: the citizen's and phone's look-up hashes) are replaced consistently within the copy, so
unique indexes hold and no look-up by citizen finds the copies all at once. Seeding uses ``insert_many``
(one INSERT on FerretDB; never a bulk update, docs/adr/0003) with the services' own indexes in place.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import uuid
from collections.abc import Callable
from typing import Any

from bson import ObjectId
from motor.motor_asyncio import AsyncIOMotorClient

HEX64 = re.compile(r"\b[0-9a-f]{64}\b")
#: collections never copied: reference data and counters, not one per dossier
SKIP_COLLECTIONS = frozenset({"api_keys", "counters", "sequences", "offices"})

Template = dict[str, dict[str, list[dict[str, Any]]]]


async def take_template(mongo_url: str, databases: list[str], *, dossier_id: str, code: str) -> Template:
    """Every document naming ``dossier_id`` or ``code`` in ``databases``: database → collection → documents."""
    client: AsyncIOMotorClient[Any] = AsyncIOMotorClient(mongo_url)
    out: Template = {}
    try:
        for name in databases:
            db = client[name]
            for coll in await db.list_collection_names():
                if coll in SKIP_COLLECTIONS or coll.startswith("system."):
                    continue
                docs = [d async for d in db[coll].find({})]
                mine = [d for d in docs if dossier_id in (text := json.dumps(d, default=str)) or code in text]
                if mine:
                    out.setdefault(name, {})[coll] = mine
    finally:
        client.close()
    return out


def copier(template: Template, *, dossier_id: str, code: str) -> Callable[[int], Template]:
    """A function ``n → the n-th copy of the template`` with fresh ids (see the module docstring)."""
    ids = {
        d["_id"]
        for colls in template.values()
        for docs in colls.values()
        for d in docs
        if isinstance(d["_id"], str) and d["_id"] not in (dossier_id, code)
    }
    hashes: set[str] = set()
    for colls in template.values():
        for docs in colls.values():
            hashes.update(HEX64.findall(json.dumps(docs, default=str)))
    olds = [dossier_id, code, *sorted(ids, key=len, reverse=True), *sorted(hashes)]
    pattern = re.compile("|".join(re.escape(o) for o in olds))

    def copy(n: int) -> Template:
        new = {old: str(uuid.uuid4()) for old in ids}
        new[dossier_id] = str(uuid.uuid4())
        new[code] = f"{code}-G{n}"
        new.update({h: secrets.token_hex(32) for h in hashes})
        object_ids: dict[ObjectId, ObjectId] = {}

        def walk(value: Any) -> Any:
            if isinstance(value, str):
                return pattern.sub(lambda m: new[m.group(0)], value) if pattern.search(value) else value
            if isinstance(value, dict):
                return {walk(k): walk(v) for k, v in value.items()}
            if isinstance(value, list):
                return [walk(v) for v in value]
            if isinstance(value, ObjectId):
                return object_ids.setdefault(value, ObjectId())
            return value

        return {db: {coll: [walk(d) for d in docs] for coll, docs in colls.items()} for db, colls in template.items()}

    return copy


async def seed(
    mongo_url: str,
    template: Template,
    copies: int,
    *,
    dossier_id: str,
    code: str,
    batch: int = 500,
    on_progress: Callable[[int], None] | None = None,
) -> int:
    """Insert ``copies`` copies of the template with ``insert_many`` per collection and batch; documents written."""
    client: AsyncIOMotorClient[Any] = AsyncIOMotorClient(mongo_url)
    make = copier(template, dossier_id=dossier_id, code=code)
    written = 0
    try:
        for start in range(0, copies, batch):
            pending: dict[tuple[str, str], list[dict[str, Any]]] = {}
            for n in range(start, min(start + batch, copies)):
                for db, colls in make(n).items():
                    for coll, docs in colls.items():
                        pending.setdefault((db, coll), []).extend(docs)
            # one insert_many per collection, the collections at once (a handful of connections, docs/adr/0003)
            await asyncio.gather(
                *(client[db][coll].insert_many(docs, ordered=False) for (db, coll), docs in pending.items())
            )
            written += sum(len(docs) for docs in pending.values())
            if on_progress is not None:
                on_progress(min(start + batch, copies))
    finally:
        client.close()
    return written
