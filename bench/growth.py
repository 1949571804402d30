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
import os
import re
import secrets
import shutil
import subprocess
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

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


def _replaced(template: Template, *, dossier_id: str, code: str) -> tuple[set[str], set[str]]:
    """What every copy replaces besides the dossier's id and code: the other string ``_id``s, the keyed hashes."""
    ids = {
        d["_id"]
        for colls in template.values()
        for docs in colls.values()
        for d in docs
        if isinstance(d["_id"], str) and d["_id"] not in (dossier_id, code)
    }
    return ids, set(HEX64.findall(json.dumps(template, default=str)))


def copier(template: Template, *, dossier_id: str, code: str) -> Callable[[int], Template]:
    """A function ``n → the n-th copy of the template`` with fresh ids (see the module docstring)."""
    ids, hashes = _replaced(template, dossier_id=dossier_id, code=code)
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


# -- seeding straight into the local FerretDB's PostgreSQL -----------------------------------------------
#
# FerretDB turns each document into a PostgreSQL row in Go at about 200 documents/s on this machine, so
# 100,000 dossiers (some 800,000 documents) would take over an hour through the wire protocol. Where the
# store is the local FerretDB the scripts started, the copies are made inside PostgreSQL instead: each
# template row, as FerretDB wrote it, is copied by one ``INSERT … SELECT … FROM generate_series`` per chunk,
# with the same replacements as :func:`copier` done on the row's JSON text. The services' own indexes (and
# the GIN companions of deploy/local/postgres/tuning.sql) are in place while the rows go in, and FerretDB
# reads the copies like any other row. Against any other store (MongoDB) :func:`seed` inserts them.


@dataclass(frozen=True)
class LocalPostgres:
    """The PostgreSQL cluster under the local FerretDB (deploy/local/infra.sh), reached with ``psql``."""

    port: int
    password: str
    database: str = "lienthong"
    user: str = "lienthong"

    def sql(self, statements: str, *, transaction: bool = True) -> str:
        """Run ``statements`` (in one transaction unless told not to); their output (unaligned, tuples only)."""
        done = subprocess.run(
            [
                *("psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user, "-d", self.database),
                *("-At", "-v", "ON_ERROR_STOP=1", *(("-1",) if transaction else ()), "-f", "-"),
            ],
            input=statements,
            env={**os.environ, "PGPASSWORD": self.password},
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"psql failed ({done.returncode}): {done.stderr.strip()[:500]}")
        return done.stdout


def local_postgres(mongo_url: str, repo: Path) -> LocalPostgres | None:
    """The local FerretDB's PostgreSQL when ``mongo_url`` is that FerretDB, else None (then use :func:`seed`)."""
    url = urlsplit(mongo_url)
    data = Path(os.environ.get("LIENTHONG_DATA", repo / ".data" / "infra"))
    password = data / "postgres.password"
    local = url.hostname in {"127.0.0.1", "localhost"} and (url.port or 27017) == int(
        os.environ.get("MONGO_PORT", 27017)
    )
    if not (local and password.exists() and (data / "ferretdb.pid").exists() and shutil.which("psql")):
        return None
    return LocalPostgres(port=int(os.environ.get("POSTGRES_PORT", 5433)), password=password.read_text().strip())


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _copy_expression(template: Template, *, dossier_id: str, code: str) -> str:
    """SQL of a template row's JSON text with every id replaced by one derived from the copy number ``g``."""
    ids, hashes = _replaced(template, dossier_id=dossier_id, code=code)
    object_ids = {str(o) for o in _object_ids(template)}
    news: list[tuple[str, str]] = [(code, f"{_literal(code)} || '-G' || g")]
    for old in [dossier_id, *ids]:
        news.append((old, f"md5({_literal(old)} || g)::uuid::text"))
    news += [(h, f"encode(sha256(convert_to({_literal(h)} || g, 'UTF8')), 'hex')") for h in hashes]
    news += [(o, f"substr(md5({_literal(o)} || g), 1, 24)") for o in object_ids]
    expression = "t._jsonb::text"
    for old, new in sorted(news, key=lambda pair: len(pair[0]), reverse=True):  # longest first, as copier does
        expression = f"replace({expression}, {_literal(old)}, {new})"
    return f"({expression})::jsonb"


def _object_ids(value: Any) -> set[ObjectId]:
    if isinstance(value, ObjectId):
        return {value}
    if isinstance(value, dict):
        return set().union(*(_object_ids(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(_object_ids(v) for v in value)) if value else set()
    return set()


def seed_in_postgres(
    pg: LocalPostgres,
    template: Template,
    copies: int,
    *,
    dossier_id: str,
    code: str,
    batch: int = 5000,
    on_progress: Callable[[int], None] | None = None,
) -> int:
    """Copy the template rows ``copies`` times inside PostgreSQL, ``batch`` copies per transaction; rows written."""
    expression = _copy_expression(template, dossier_id=dossier_id, code=code)
    tables: dict[tuple[str, str], str] = {}
    for db in template:
        rows = pg.sql(f"SELECT _jsonb->>'_id', _jsonb->>'table' FROM {db}._ferretdb_database_metadata;")
        for line in rows.splitlines():
            collection, table = line.split("|")
            tables[(db, collection)] = f"{db}.{table}"
    sources = [
        (tables[(db, coll)], json.dumps(doc["_id"] if isinstance(doc["_id"], str) else str(doc["_id"])))
        for db, colls in template.items()
        for coll, docs in colls.items()
        for doc in docs
    ]
    written = 0
    for start in range(1, copies + 1, batch):
        end = min(start + batch - 1, copies)
        statements = "".join(
            f"INSERT INTO {table} (_jsonb) SELECT {expression} FROM {table} t, generate_series({start}, {end}) g "
            f"WHERE t._jsonb->'_id' = {_literal(source_id)}::jsonb;\n"
            for table, source_id in sources
        )
        pg.sql(statements)
        written += (end - start + 1) * len(sources)
        if on_progress is not None:
            on_progress(end)
    # vacuumed and analysed now, so the grown run does not share the machine with autovacuum catching up
    # (the 14:57 run did: docs/performance.md)
    tables_sql = "".join(f"VACUUM (ANALYZE) {table};\n" for table in sorted(set(tables.values())))
    pg.sql(tables_sql, transaction=False)
    return written
