"""Baseline for intake: a bare FastAPI endpoint on the same server stack doing one insert into the same store."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from motor.motor_asyncio import AsyncIOMotorClient

client: AsyncIOMotorClient[Any] = AsyncIOMotorClient(os.environ.get("MONGODB_URL", "mongodb://127.0.0.1:27017"))
collection = client[os.environ.get("BASELINE_DATABASE", "bench_baseline")]["dossiers"]
app = FastAPI()


@app.get("/readyz")
async def ready() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/v1/dossiers", status_code=201)
async def post(request: Request) -> dict[str, Any]:
    body = await request.json()
    doc = {"_id": str(uuid.uuid4()), "received_at": datetime.now(UTC), **body}
    await collection.insert_one(doc)
    return {"id": doc["_id"], "status": "received"}
